package sidecar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	ogpuclient "github.com/opengpu/ogpu/client"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// bidState is where a bid of this provider stands.
type bidState uint8

const (
	bidSent    bidState = iota // taken by the mempool; not yet seen in a block
	bidPlaced                  // in a block and accepted
	bidRetry                   // refused for a reason that can change: sent again on a later pass
	bidRefused                 // refused for good, or not worth sending: never sent again
)

// bid is this provider's bid on an open task.
type bid struct {
	state    bidState
	hash     string
	sentAt   int64 // height when sent
	attempts int
	// the task's workload, work units and bytes, counted as ahead of any later bid
	workload     string
	units, bytes uint64
}

const (
	// maxBidAttempts bounds the sends of one bid: a refusal costs gas.
	maxBidAttempts = 3
	// bidLostBlocks is how long a sent bid may stay out of every block before it is taken for
	// dropped from the mempool and sent again.
	bidLostBlocks = 5
	// submitMarginBlocks are the blocks of an execution window a run cannot use: the one in
	// which the provider learns of the assignment and the one that includes its result.
	submitMarginBlocks = 2
)

// retryableBid says whether a bid the chain refused may succeed when sent again: the task's
// bids may thin out, the provider's bond or funds grow (or its jail end), the fee or the
// sequence settle. A task that is no longer open, a bid window that closed, a bid already
// placed or a price over the task's maximum do not change; neither does any refusal not listed.
func retryableBid(err error) bool {
	var te *ogpuclient.TxError
	if !errors.As(err, &te) {
		return true // no answer from the chain: the node or the connection
	}
	for _, e := range []interface {
		Codespace() string
		ABCICode() uint32
	}{
		computetypes.ErrTooManyBids, computetypes.ErrNotEligible,
		sdkerrors.ErrWrongSequence, sdkerrors.ErrInsufficientFunds, sdkerrors.ErrInsufficientFee,
		sdkerrors.ErrOutOfGas, sdkerrors.ErrMempoolIsFull, sdkerrors.ErrTxInMempoolCache,
	} {
		if te.Matches(e) {
			return true
		}
	}
	return false
}

// executionBlocks are the blocks a run would have if the provider won t now: from its
// assignment (at the end of its bid window, or now if later) to the last height a result may
// be submitted, less submitMarginBlocks.
func executionBlocks(t computetypes.Task, height int64) int64 {
	start := max(t.BidWindowEnd, height)
	end := t.DeadlineHeight
	if t.ExecutionBlocks > 0 && start+int64(t.ExecutionBlocks) < end {
		end = start + int64(t.ExecutionBlocks)
	}
	return end - start - submitMarginBlocks
}

// taskBytes are the bytes of inputs and result a task moves: its input blobs (a seeded gemm
// task's generated A and B) and its result.
func taskBytes(t computetypes.Task, p workload.Params) uint64 {
	n := p.ResultSize()
	for _, in := range t.Inputs {
		n += in.Size_
	}
	if g, ok := p.(workload.GemmInt8); ok && len(t.Inputs) == 0 {
		m, nn, k := uint64(g.M), uint64(g.N), uint64(g.K)
		n += m*k + k*nn
	}
	return n
}

// bidRefusal says why the provider does not bid on t now, or "" when it may: it already holds
// max-concurrent won tasks, or the task's execution window is shorter than what is ahead of it
// (the tasks it holds and the bids it has out, as if all were won) and the task itself would
// take at its measured pace.
func (s *Sidecar) bidRefusal(t computetypes.Task, p workload.Params, height int64, held int, ahead time.Duration) (reason, detail string) {
	if held >= s.cfg.MaxConcurrent {
		return "capacity", fmt.Sprintf("holds %d won tasks, max-concurrent is %d", held, s.cfg.MaxConcurrent)
	}
	blocks := executionBlocks(t, height)
	if blocks <= 0 {
		return "window", fmt.Sprintf("execution window of %d blocks leaves no time to run", blocks+submitMarginBlocks)
	}
	need, ok := s.pace.runTime(t.Workload.Name, p.WorkUnits(), taskBytes(t, p))
	if !ok || ahead < 0 {
		return "window", "the executor's speed is not measured yet"
	}
	need += ahead
	window := time.Duration(blocks) * s.pace.blockTime()
	if need > window {
		return "window", fmt.Sprintf("needs about %s with the work ahead, the execution window is %d blocks ≈ %s", need.Round(time.Millisecond), blocks, window)
	}
	return "", ""
}

// bidPass bids on the open tasks the provider can run and finish in time, and follows the bids
// it sent. held are the tasks it won and has not yet submitted.
func (s *Sidecar) bidPass(ctx context.Context, open []computetypes.Task, held []computetypes.Task, height int64) {
	slices.SortFunc(open, func(a, b computetypes.Task) int { return cmp.Compare(a.Id, b.Id) })
	s.followBids(ctx, open, height)
	// ahead is the run time of the tasks held and the bids out, as if all were won; -1 while a
	// workload among them has no measured speed
	var ahead time.Duration
	add := func(workload string, units, bytes uint64) {
		d, ok := s.pace.runTime(workload, units, bytes)
		if !ok || ahead < 0 {
			ahead = -1
			return
		}
		ahead += d
	}
	for _, t := range held {
		if p, err := t.Workload.TypedParams(); err == nil && runs(t.Workload.Name) {
			add(t.Workload.Name, p.WorkUnits(), taskBytes(t, p))
		}
	}
	s.mu.Lock()
	var out []bid
	for _, b := range s.bids {
		if b.state == bidSent || b.state == bidPlaced {
			out = append(out, *b)
		}
	}
	s.mu.Unlock()
	for _, b := range out {
		add(b.workload, b.units, b.bytes)
	}
	for _, t := range open {
		s.mu.Lock()
		b := s.bids[t.Id]
		s.mu.Unlock()
		if (b != nil && b.state != bidRetry) || !runs(t.Workload.Name) {
			continue
		}
		p, err := t.Workload.TypedParams()
		if err != nil {
			continue
		}
		if ok, why := s.meets(t.Requirements); !ok {
			s.setBid(t.Id, &bid{state: bidRefused})
			s.metrics.bidsSkipped.WithLabelValues("requirements").Inc()
			s.logger.Debug("not bidding", "task", t.Id, "why", why)
			continue
		}
		price := s.cfg.Price(p.WorkUnits())
		if price.GT(t.MaxPrice) {
			s.setBid(t.Id, &bid{state: bidRefused})
			s.metrics.bidsSkipped.WithLabelValues("price").Inc()
			continue
		}
		if reason, detail := s.bidRefusal(t, p, height, len(held), ahead); reason != "" {
			s.metrics.bidsSkipped.WithLabelValues(reason).Inc()
			s.logger.Debug("not bidding", "task", t.Id, "why", detail)
			continue
		}
		if b == nil {
			b = &bid{workload: t.Workload.Name, units: p.WorkUnits(), bytes: taskBytes(t, p)}
		}
		b.attempts++
		hash, err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, &computetypes.MsgBid{Provider: s.provider.String(), TaskId: t.Id, Price: price})
		switch {
		case err == nil:
			b.state, b.hash, b.sentAt = bidSent, hash, height
			add(b.workload, b.units, b.bytes)
			s.metrics.bids.Inc()
		case retryableBid(err) && b.attempts < maxBidAttempts:
			b.state = bidRetry
			s.logger.Info("bid refused; trying again on a later pass", "task", t.Id, "err", err)
		default:
			b.state = bidRefused
			s.logger.Info("bid refused", "task", t.Id, "err", err)
		}
		s.setBid(t.Id, b)
	}
}

// followBids forgets the bids on tasks that left OPEN and learns what became of the bids sent:
// in a block and accepted, refused there (to be sent again if the reason can change), or lost
// from the mempool.
func (s *Sidecar) followBids(ctx context.Context, open []computetypes.Task, height int64) {
	s.mu.Lock()
	var sent []uint64
	for id, b := range s.bids {
		if !slices.ContainsFunc(open, func(t computetypes.Task) bool { return t.Id == id }) {
			delete(s.bids, id) // a task that left OPEN takes no more bids
			continue
		}
		if b.state == bidSent {
			sent = append(sent, id)
		}
	}
	s.mu.Unlock()
	slices.Sort(sent)
	for _, id := range sent {
		s.mu.Lock()
		b := *s.bids[id]
		s.mu.Unlock()
		included, err := s.chain.txResult(ctx, b.hash)
		switch {
		case included && err == nil:
			b.state = bidPlaced
		case included && retryableBid(err) && b.attempts < maxBidAttempts:
			b.state = bidRetry
			s.logger.Info("bid refused in its block; trying again on a later pass", "task", id, "err", err)
		case included:
			b.state = bidRefused
			s.logger.Info("bid refused in its block", "task", id, "err", err)
		case err == nil && height-b.sentAt > bidLostBlocks && b.attempts < maxBidAttempts:
			b.state = bidRetry // dropped from the mempool
		case err == nil && height-b.sentAt > bidLostBlocks:
			b.state = bidRefused
		}
		s.setBid(id, &b)
	}
}

func (s *Sidecar) setBid(id uint64, b *bid) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bids[id] = b
}

// meets says whether the provider's registered hardware and workloads meet reqs (as the chain
// checks a bid), so that it never sends a bid the chain must refuse; true until the record is
// known.
func (s *Sidecar) meets(reqs stakinggputypes.Requirements) (bool, string) {
	s.mu.Lock()
	self := s.self
	s.mu.Unlock()
	if self.Operator == "" {
		return true, ""
	}
	return self.MeetsHardware(reqs)
}
