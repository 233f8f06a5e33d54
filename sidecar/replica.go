package sidecar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/math"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// replicaSet is the provider's side of streams (docs/streams.md): the subscriptions it sent and
// the streams it serves as a replica.
type replicaSet struct {
	ledger streamLedger  // nil: streams are not followed
	signer receiptSigner // the provider's key, for receipts
	// journals is the directory of the replicas' journals; "" keeps none.
	journals string
	slots    chan struct{} // inferences running at once
	// admitted counts the requests in hand, from their first byte to their answer; past
	// maxAdmitted a request is refused, so what requests hold in memory is bounded.
	admitted    atomic.Int32
	maxAdmitted int32

	mu       sync.Mutex
	params   computetypes.StreamParams
	byStream map[uint64]*replica
	subs     map[uint64]*subscription
}

// subscription is this provider's MsgSubscribe to an open stream.
type subscription struct {
	attempts int
	done     bool // sent, or not to be sent
}

// maxSubscribeAttempts bounds the sends of one subscription: a refusal costs gas.
const maxSubscribeAttempts = 3

func newReplicaSet(concurrency int) *replicaSet {
	n := max(1, concurrency)
	return &replicaSet{
		slots: make(chan struct{}, n), maxAdmitted: int32(9 * n),
		byStream: map[uint64]*replica{}, subs: map[uint64]*subscription{},
	}
}

func (rs *replicaSet) get(id uint64) *replica {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.byStream[id]
}

func (rs *replicaSet) streamParams() computetypes.StreamParams {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.params
}

// admit takes a request in hand, unless maxAdmitted already are.
func (rs *replicaSet) admit() bool {
	if rs.admitted.Add(1) > rs.maxAdmitted {
		rs.admitted.Add(-1)
		return false
	}
	return true
}

func (rs *replicaSet) leave() { rs.admitted.Add(-1) }

// acquire takes an inference slot, waiting for one until ctx ends.
func (rs *replicaSet) acquire(ctx context.Context) bool {
	select {
	case rs.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (rs *replicaSet) release() { <-rs.slots }

// replica is this provider's place in one stream: the record it serves by, the model, the
// vouchers it accepted, its receipts by period and the probes it answered.
type replica struct {
	id uint64

	mu       sync.Mutex
	st       computetypes.Stream
	self     computetypes.Replica // this provider's replica in st
	member   bool                 // the provider is among st's serving replicas
	params   computetypes.StreamParams
	model    *mlp.Model
	loading  bool
	loadWait time.Time // no new load of the model before
	// lastServed is the last height it was seen serving (for a replica that left its slot).
	lastServed int64
	// the last voucher accepted: its nonce and total, and the creator's signature to redeem it
	nonce      uint64
	total      math.Int
	voucher    *computetypes.Voucher
	voucherSig []byte
	// claimedNonce is the nonce of the last voucher sent for redemption; claimPeriod the
	// period it was sent in.
	claimedNonce uint64
	claimPeriod  uint64
	finalClaim   bool
	seq          uint64
	lastDated    int64 // the height of the last receipt issued
	// sealed is the last height of the periods already committed: no receipt is dated at or
	// before it, so a committed period gets no more receipts.
	sealed int64
	book   *receiptBook
	// bodies counts the bodies stored, to spread them over holds (bodyHold).
	bodies atomic.Uint64
	// probes are the probers that probed each round; bonded caches whether an account is a
	// bonded validator's, per round.
	probes map[uint64]map[string]bool
	bonded map[uint64]map[string]bool
	// journal keeps the receipts and vouchers across a restart (replica_journal.go); nil
	// without a journal directory.
	journal    *os.File
	journalDir string
}

func newReplica(st computetypes.Stream, self computetypes.Replica, params computetypes.StreamParams) *replica {
	r := &replica{
		id: st.Id, st: st, self: self, params: params, book: newReceiptBook(), total: math.ZeroInt(),
		probes: map[uint64]map[string]bool{}, bonded: map[uint64]map[string]bool{},
	}
	if !self.Claimed.IsNil() {
		r.total = self.Claimed
	}
	r.nonce, r.claimedNonce = self.VoucherNonce, self.VoucherNonce
	return r
}

// serves says whether the replica takes requests now: the stream LIVE, this provider among its
// replicas, and the model loaded.
func (r *replica) serves() bool {
	return r.st.State == computetypes.STREAM_STATE_LIVE && r.member && r.model != nil
}

// shareLeft is the most a voucher of this replica may total: the slot's share less what its
// earlier replicas claimed.
func (r *replica) shareLeft() math.Int {
	left := r.st.SlotShare()
	if i := int(r.self.Slot); i < len(r.st.SlotClaimed) && !r.st.SlotClaimed[i].IsNil() {
		left = left.Sub(r.st.SlotClaimed[i])
	}
	return left
}

// Hold ids of stream bodies: above every task id, so they never meet a task's hold. The blob
// collector finds no task by such an id and deletes the hold's blobs BlobRetention after it
// last grew, as it does for a pruned task.
const streamHoldBit = 1 << 63

// bodiesPerHold bounds a hold's list of blobs, rewritten whole at each add.
const bodiesPerHold = 256

// bodyHold is the hold of the n-th body a replica stores; hold 0 of a stream is its model.
func bodyHold(stream, n uint64) uint64 {
	return streamHoldBit | stream<<32 | (n/bodiesPerHold+1)&(1<<32-1)
}

func modelHold(stream uint64) uint64 { return streamHoldBit | stream<<32 }

// replicaPass follows the streams: subscribes to the open ones the provider can serve, and for
// each it serves, loads the model, commits and reveals its receipts, and redeems its vouchers.
// Every pass reads the chain's state, so a missed event costs only latency.
func (s *Sidecar) replicaPass(ctx context.Context) {
	rs := s.replicas
	if rs.ledger == nil {
		return
	}
	params, err := rs.ledger.streamParams(ctx)
	if err != nil {
		s.logger.Debug("query stream params", "err", err)
		return
	}
	rs.mu.Lock()
	rs.params = params
	rs.mu.Unlock()
	height := s.pace.latest()
	s.subscribePass(ctx, height)
	s.followReplicas(ctx, params, height)
}

// streamPrice is the provider's price for one request of stream st (the work units of rows rows
// at its price per unit, at least its minimum), or why it does not serve st.
func (s *Sidecar) streamPrice(st computetypes.Stream) (math.Int, string) {
	p := st.Workload.GetInferMlpInt8()
	if st.Workload.Name != workload.InferMlpInt8V1 || p == nil || len(p.Widths) < 2 || p.Rows == 0 {
		return math.Int{}, fmt.Sprintf("workload %s is not served as a stream here", st.Workload.Name)
	}
	if want := workload.MlpModelSize(p.Widths); st.Model.Size_ != want {
		return math.Int{}, fmt.Sprintf("model size %d bytes: widths %v make it %d", st.Model.Size_, p.Widths, want)
	}
	price := s.cfg.Price(workload.InferMlpInt8{Widths: p.Widths, Rows: p.Rows}.WorkUnits())
	if !st.MaxPricePerRequest.IsNil() && price.GT(st.MaxPricePerRequest) {
		return math.Int{}, fmt.Sprintf("price %s per request is over the maximum %s", price, st.MaxPricePerRequest)
	}
	return price, ""
}

// subscribePass subscribes to the open streams the provider can serve at its price.
func (s *Sidecar) subscribePass(ctx context.Context, height int64) {
	rs := s.replicas
	open, err := rs.ledger.streams(ctx, &computetypes.QueryStreamsRequest{State: computetypes.STREAM_STATE_OPEN})
	if err != nil {
		s.logger.Debug("query open streams", "err", err)
		return
	}
	slices.SortFunc(open, func(a, b computetypes.Stream) int { return cmp.Compare(a.Id, b.Id) })
	rs.mu.Lock()
	for id := range rs.subs { // a stream that left OPEN takes no more subscriptions
		if !slices.ContainsFunc(open, func(st computetypes.Stream) bool { return st.Id == id }) {
			delete(rs.subs, id)
		}
	}
	rs.mu.Unlock()
	me := s.provider.String()
	for _, st := range open {
		rs.mu.Lock()
		sub := rs.subs[st.Id]
		if sub == nil {
			sub = &subscription{}
			rs.subs[st.Id] = sub
		}
		skip := sub.done
		rs.mu.Unlock()
		if skip || (st.SubscribeEnd > 0 && height > st.SubscribeEnd) {
			continue
		}
		price, why := s.streamPrice(st)
		if why == "" && slices.Contains(st.FailedProviders, me) {
			why = "the provider was removed from this stream"
		}
		if why == "" && st.Creator == me {
			why = "a client does not serve its own stream"
		}
		if why == "" && sub.attempts == 0 && s.subscribedTo(ctx, st.Id) {
			why = "subscribed already" // before a restart
		}
		if why == "" {
			if ok, reason := s.meets(st.Requirements); !ok {
				why = reason
			}
		}
		if why != "" {
			s.logger.Debug("not subscribing", "stream", st.Id, "why", why)
			rs.mu.Lock()
			sub.done = true
			rs.mu.Unlock()
			continue
		}
		_, err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, &computetypes.MsgSubscribe{Provider: me, StreamId: st.Id, Price: price, Endpoint: s.cfg.PublicURL})
		rs.mu.Lock()
		sub.attempts++
		sub.done = err == nil || !retryableBid(err) || sub.attempts >= maxSubscribeAttempts
		rs.mu.Unlock()
		if err != nil {
			s.logger.Info("subscription refused", "stream", st.Id, "err", err)
			continue
		}
		s.logger.Info("subscribed to stream", "stream", st.Id, "price", price)
	}
}

// subscribedTo says whether the chain holds a subscription of this provider to stream id.
func (s *Sidecar) subscribedTo(ctx context.Context, id uint64) bool {
	res, err := s.replicas.ledger.stream(ctx, id)
	if err != nil {
		return false
	}
	me := s.provider.String()
	return slices.ContainsFunc(res.Subscriptions, func(sub computetypes.Subscription) bool { return sub.Provider == me })
}

// followReplicas follows every stream the provider serves or served and still has business
// with (receipts to commit or reveal, a voucher to redeem).
func (s *Sidecar) followReplicas(ctx context.Context, params computetypes.StreamParams, height int64) {
	rs := s.replicas
	mine, err := rs.ledger.streams(ctx, &computetypes.QueryStreamsRequest{Provider: s.provider.String()})
	if err != nil {
		s.logger.Debug("query streams served", "err", err)
		return
	}
	ids := map[uint64]bool{}
	for _, st := range mine {
		ids[st.Id] = true
	}
	rs.mu.Lock()
	for id := range rs.byStream {
		ids[id] = true
	}
	rs.mu.Unlock()
	sorted := make([]uint64, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	for _, id := range sorted {
		res, err := rs.ledger.stream(ctx, id)
		if status.Code(errors.Unwrap(err)) == codes.NotFound || status.Code(err) == codes.NotFound {
			s.dropReplica(id, "the stream is gone from the chain")
			continue
		}
		if err != nil {
			s.logger.Debug("query stream", "stream", id, "err", err)
			continue
		}
		s.followReplica(ctx, res, params, height)
	}
}

func (s *Sidecar) dropReplica(id uint64, why string) {
	rs := s.replicas
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.byStream[id]; ok {
		r.mu.Lock()
		r.closeJournal()
		r.mu.Unlock()
		delete(rs.byStream, id)
		s.logger.Info("stream replica forgotten", "stream", id, "why", why)
	}
}

// modelRetry is how long a model that could not be loaded waits before the next try.
const modelRetry = 30 * time.Second

// followReplica takes the chain's record of one stream: serves it while LIVE with this provider
// among its replicas, stops on pause, close or removal, settles the periods and redeems vouchers.
func (s *Sidecar) followReplica(ctx context.Context, res *computetypes.QueryStreamResponse, params computetypes.StreamParams, height int64) {
	rs := s.replicas
	st := res.Stream
	self, idx := st.ReplicaOf(s.provider.String())
	rs.mu.Lock()
	r := rs.byStream[st.Id]
	if r == nil {
		// a closed stream is taken up again only by a replica restarted with a journal of it:
		// its last periods and voucher may still be due
		closed := st.State == computetypes.STREAM_STATE_CLOSED && !hasJournal(rs.journals, st.Id)
		if idx < 0 || st.State == computetypes.STREAM_STATE_OPEN || closed {
			rs.mu.Unlock()
			return
		}
		r = newReplica(st, self, params)
		if err := r.openJournal(rs.journals); err != nil {
			s.logger.Error("stream replica journal; receipts are not kept across a restart", "stream", st.Id, "err", err)
		}
		rs.byStream[st.Id] = r
	}
	rs.mu.Unlock()

	r.mu.Lock()
	wasServing := r.serves()
	r.st, r.params, r.member = st, params, idx >= 0
	if r.member {
		r.self = self
		r.lastServed = height
		// the chain's record of redeemed vouchers is a floor for the next one
		if self.VoucherNonce > r.nonce {
			r.nonce = self.VoucherNonce
		}
		if !self.Claimed.IsNil() && self.Claimed.GT(r.total) {
			r.total = self.Claimed
		}
	}
	if st.State == computetypes.STREAM_STATE_CLOSED || !r.member {
		r.model = nil // it serves no more
	}
	load := st.State == computetypes.STREAM_STATE_LIVE && r.member && r.model == nil && !r.loading && time.Now().After(r.loadWait)
	if load {
		r.loading = true
	}
	serving := r.serves()
	r.mu.Unlock()
	if load {
		go s.loadStreamModel(ctx, r, st)
	}
	if wasServing != serving {
		s.logger.Info("stream replica", "stream", st.Id, "serving", serving, "state", st.State.String(), "member", idx >= 0)
	}
	s.settlePeriods(ctx, r, res.Commitments, height)
	s.claimVoucher(ctx, r, height)
	if s.replicaDone(r, height) {
		s.dropReplica(st.Id, "the stream is over for this provider and its periods are settled")
	}
}

// loadStreamModel fetches the stream's model (capped at its size, checked against its sha256),
// decodes it once and keeps a copy in the blob store, where the committee of a check task may
// fetch it as the task's input.
func (s *Sidecar) loadStreamModel(ctx context.Context, r *replica, st computetypes.Stream) {
	m, err := s.fetchStreamModel(ctx, st)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loading = false
	if err != nil {
		r.loadWait = time.Now().Add(modelRetry)
		s.logger.Error("stream model", "stream", st.Id, "err", err)
		return
	}
	r.model = m
	s.logger.Info("stream model loaded; serving", "stream", st.Id, "widths", m.Widths())
}

// fetchStreamModel downloads a stream's model (downloadModel) and keeps it in the blob store for
// the stream's check tasks.
func (s *Sidecar) fetchStreamModel(ctx context.Context, st computetypes.Stream) (*mlp.Model, error) {
	m, blob, err := s.downloadModel(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := s.keepBlob(modelHold(st.Id), blob); err != nil {
		return nil, fmt.Errorf("stream %d: keep the model: %w", st.Id, err)
	}
	return m, nil
}

// downloadModel fetches a stream's model, capped at the size its widths give and checked
// against its sha256, and decodes it; its widths must be the stream's.
func (s *Sidecar) downloadModel(ctx context.Context, st computetypes.Stream) (*mlp.Model, []byte, error) {
	p := st.Workload.GetInferMlpInt8()
	if p == nil || len(p.Widths) < 2 {
		return nil, nil, fmt.Errorf("stream %d: not an infer-mlp-int8 stream with a model", st.Id)
	}
	want := workload.MlpModelSize(p.Widths)
	if st.Model.Size_ != want {
		return nil, nil, fmt.Errorf("stream %d: model size %d bytes: widths %v make it %d", st.Id, st.Model.Size_, p.Widths, want)
	}
	var blob []byte
	err := s.streamBlob(ctx, st.Model, 0, nil, want, func(rd io.Reader) error {
		var err error
		blob, err = io.ReadAll(io.LimitReader(rd, int64(want)))
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("stream %d: model: %w", st.Id, err)
	}
	m, err := mlp.DecodeModel(blob)
	if err != nil {
		return nil, nil, fmt.Errorf("stream %d: model: %w", st.Id, err)
	}
	if !sameWidths(m.Widths(), p.Widths) {
		return nil, nil, fmt.Errorf("stream %d: the model's widths are %v, the stream's %v", st.Id, m.Widths(), p.Widths)
	}
	return m, blob, nil
}

// keepBlob stores b held by hold, on disk when it returns.
func (s *Sidecar) keepBlob(hold uint64, b []byte) error { return s.putBlob(hold, b, true) }

// keepBlobUnsynced stores b held by hold; it is on disk after the store's next Sync.
func (s *Sidecar) keepBlobUnsynced(hold uint64, b []byte) error { return s.putBlob(hold, b, false) }

func (s *Sidecar) putBlob(hold uint64, b []byte, sync bool) error {
	w, err := s.store.Create()
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(b); err != nil {
		return err
	}
	if sync {
		_, err = w.Commit(hold)
	} else {
		_, err = w.CommitUnsynced(hold)
	}
	return err
}

// lastServedHeight is the last height the replica serves or served: the stream's end or close,
// or when it was last seen among the replicas.
func (r *replica) lastServedHeight() int64 {
	last := r.st.EndHeight
	if r.st.ClosedHeight > 0 && (last == 0 || r.st.ClosedHeight < last) {
		last = r.st.ClosedHeight
	}
	if !r.member && (last == 0 || r.lastServed < last) {
		last = r.lastServed
	}
	return last
}

// periodEnd is the last height of period p for this replica: the period's, or the last height
// it served if that is earlier.
func (r *replica) periodEnd(p uint64) int64 {
	end := r.st.PeriodEnd(p, r.params.ReceiptPeriod)
	if last := r.lastServedHeight(); last > 0 && last < end {
		end = last
	}
	return end
}

// commitDeadline is the last height a commitment of period p may land at: reveal_window blocks
// after the period's end, or after the close when the stream closed in it.
func (r *replica) commitDeadline(p uint64) int64 {
	end := r.st.PeriodEnd(p, r.params.ReceiptPeriod)
	if r.st.ClosedHeight > 0 {
		end = min(end, r.st.ClosedHeight)
	}
	return end + int64(r.params.RevealWindow)
}

// periodsToCommit are the periods whose commitment is due now: those the chain requires of
// this provider (it marks them when each period ends, for every replica that served in it) and
// has no commitment of, whose commitment can still land by the deadline, and that were not
// sent lately.
func (r *replica) periodsToCommit(onChain map[uint64]computetypes.ReceiptCommitment, height int64) []uint64 {
	var out []uint64
	for p, c := range onChain {
		if !c.Required || c.CommittedHeight != 0 || height+1 > r.commitDeadline(p) {
			continue
		}
		if pr := r.book.periods[p]; pr != nil && (pr.commitTries >= maxSettleTries || (pr.committed && height-pr.commitSentAt < settleResendBlocks)) {
			continue
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// maxSettleTries bounds the sends of one period's commitment or reveal.
const maxSettleTries = 3

// settleResendBlocks is how long a commitment or reveal sent may stay out of the chain's record
// before it is sent again (it failed in its block, or fell out of the mempool).
const settleResendBlocks = 3

// settlePeriods commits the periods that ended, reveals the samples drawn from the committed
// ones, and forgets the periods that are settled.
func (s *Sidecar) settlePeriods(ctx context.Context, r *replica, commitments []computetypes.ReceiptCommitment, height int64) {
	me := s.provider.String()
	onChain := map[uint64]computetypes.ReceiptCommitment{}
	for _, c := range commitments {
		if c.StreamId == r.id && c.Provider == me {
			onChain[c.Period] = c
		}
	}
	r.mu.Lock()
	due := r.periodsToCommit(onChain, height)
	type commit struct {
		p     uint64
		root  []byte
		count uint64
		first uint64
	}
	var commits []commit
	for _, p := range due {
		pr := r.book.period(p)
		pr.commitTries++
		pr.commitSentAt = height
		root, count := commitment(s.cfg.ChainID, pr.receipts)
		commits = append(commits, commit{p, root, count, r.book.firstSequence(p, r.seq)})
		r.sealed = max(r.sealed, r.periodEnd(p))
		r.note(journalEntry{Sealed: r.sealed})
	}
	model := ""
	if r.model != nil {
		model = r.st.Model.Sha256
	}
	r.mu.Unlock()
	if len(commits) > 0 && model != "" {
		// the model stays in the store while the stream runs: a check task may fetch it here
		if err := s.store.Hold(modelHold(r.id), model); err != nil {
			s.logger.Error("hold the stream's model", "stream", r.id, "err", err)
		}
	}
	if len(commits) > 0 {
		// the periods' requests and responses were kept unsynced: on disk before the chain holds
		// the replica to them
		if err := s.store.Sync(); err != nil {
			s.logger.Error("sync the blob store before committing receipts", "stream", r.id, "err", err)
		}
	}
	failed := false
	for _, c := range commits {
		if failed {
			// the chain takes a replica's periods in order: this one waits for the next pass
			r.mu.Lock()
			if pr := r.book.periods[c.p]; pr != nil {
				pr.commitTries--
			}
			r.mu.Unlock()
			continue
		}
		_, err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, &computetypes.MsgCommitReceipts{Provider: me, StreamId: r.id, Period: c.p, Root: c.root, Count: c.count, FirstSequence: c.first})
		failed = err != nil
		r.mu.Lock()
		if pr := r.book.periods[c.p]; pr != nil && (err == nil || !retryableBid(err)) {
			pr.committed = true
			r.note(journalEntry{Committed: &c.p})
		}
		r.mu.Unlock()
		if err != nil {
			s.logger.Error("commit receipts", "stream", r.id, "period", c.p, "err", err)
			continue
		}
		s.logger.Info("receipts committed", "stream", r.id, "period", c.p, "count", c.count)
	}
	s.revealSamples(ctx, r, onChain, height)
	r.mu.Lock()
	defer r.mu.Unlock()
	rw := int64(r.params.RevealWindow)
	dropped := false
	for p, pr := range r.book.periods {
		c, ok := onChain[p]
		pr.onChain = ok && c.CommittedHeight != 0
		settled := pr.onChain && (c.Revealed || c.Count == 0 || (c.SampledHeight > 0 && len(c.Samples) == 0))
		// past every deadline: the commitment's, the draw's and the reveal's
		expired := height > r.periodEnd(p)+3*rw+2
		switch {
		case pr.onChain && (settled || expired):
			r.book.settle(p) // kept for inclusion proofs
			dropped = true
		case expired:
			r.book.drop(p)
			dropped = true
		}
	}
	if r.st.LiveHeight > 0 && height >= r.st.LiveHeight && r.book.expire(r.st.Period(height, r.params.ReceiptPeriod)) {
		dropped = true
	}
	if dropped {
		if err := r.compact(); err != nil {
			s.logger.Error("stream replica journal", "stream", r.id, "err", err)
		}
	}
}

// revealSamples publishes the receipts drawn from each committed period, with their proofs and
// the prefix their bodies are served under.
func (s *Sidecar) revealSamples(ctx context.Context, r *replica, onChain map[uint64]computetypes.ReceiptCommitment, height int64) {
	periods := make([]uint64, 0, len(onChain))
	for p := range onChain {
		periods = append(periods, p)
	}
	slices.Sort(periods)
	rw := int64(r.params.RevealWindow)
	for _, p := range periods {
		c := onChain[p]
		if c.Revealed || len(c.Samples) == 0 || (c.SampledHeight > 0 && height+1 > c.SampledHeight+rw) {
			continue
		}
		r.mu.Lock()
		pr := r.book.periods[p]
		if pr == nil || pr.revealTries >= maxSettleTries || (pr.revealed && height-pr.revealSentAt < settleResendBlocks) {
			r.mu.Unlock()
			continue
		}
		if uint64(len(pr.receipts)) != c.Count {
			pr.revealTries = maxSettleTries
			r.mu.Unlock()
			s.logger.Error("reveal samples: the commitment on chain is not of the receipts held", "stream", r.id, "period", p, "count", c.Count, "held", len(pr.receipts))
			continue
		}
		if len(pr.receipts) > 0 && pr.receipts[0].Sequence != c.FirstSequence {
			pr.revealTries = maxSettleTries
			r.mu.Unlock()
			s.logger.Error("reveal samples: the period's receipts start at a sequence other than the chain's first_sequence (receipts of an earlier period were never committed); the reveal would be refused", "stream", r.id, "period", p, "first_sequence", c.FirstSequence, "held", pr.receipts[0].Sequence)
			continue
		}
		samples, ok := sampleProofs(s.cfg.ChainID, pr.receipts, c.Samples)
		pr.revealTries++
		pr.revealSentAt = height
		r.mu.Unlock()
		if !ok {
			s.logger.Error("reveal samples: a drawn index is past the period's receipts", "stream", r.id, "period", p, "samples", c.Samples)
			continue
		}
		_, err := s.chain.send(ctx, s.cfg.ProviderKey, 400_000+100_000*uint64(len(samples)), &computetypes.MsgRevealSamples{
			Provider: s.provider.String(), StreamId: r.id, Period: p, Samples: samples, UriPrefix: s.blobPrefix(),
		})
		r.mu.Lock()
		if err == nil || !retryableBid(err) {
			pr.revealed = true
			r.note(journalEntry{Revealed: &p})
		}
		r.mu.Unlock()
		if err != nil {
			s.logger.Error("reveal samples", "stream", r.id, "period", p, "err", err)
			continue
		}
		s.logger.Info("samples revealed", "stream", r.id, "period", p, "samples", c.Samples)
	}
}

// blobPrefix is where the provider's blob server serves a blob by its sha256.
func (s *Sidecar) blobPrefix() string { return s.cfg.PublicURL + "/v1/blobs/" }

// claimVoucher redeems the latest voucher accepted: once a period when it grew, and once when
// the replica stops serving for good (the stream closed, or the provider left its slot).
func (s *Sidecar) claimVoucher(ctx context.Context, r *replica, height int64) {
	r.mu.Lock()
	over := r.st.State == computetypes.STREAM_STATE_CLOSED || !r.member
	period := uint64(0)
	if r.st.LiveHeight > 0 && height >= r.st.LiveHeight {
		period = r.st.Period(height, r.params.ReceiptPeriod)
	}
	grew := r.voucher != nil && r.voucher.Nonce > r.claimedNonce
	due := grew && (period > r.claimPeriod || (over && !r.finalClaim))
	if over {
		r.finalClaim = true
	}
	if !due {
		r.mu.Unlock()
		return
	}
	v, sig := *r.voucher, r.voucherSig
	r.claimedNonce, r.claimPeriod = v.Nonce, period
	r.note(journalEntry{Claimed: v.Nonce})
	r.mu.Unlock()
	_, err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, &computetypes.MsgClaimStream{Provider: s.provider.String(), Voucher: v, Signature: sig})
	if err != nil {
		var te *ogpuclient.TxError
		if !errors.As(err, &te) { // not sent: the next pass tries again
			r.mu.Lock()
			r.claimedNonce = min(r.claimedNonce, v.Nonce-1)
			r.finalClaim = false
			r.mu.Unlock()
		}
		s.logger.Error("claim stream voucher", "stream", r.id, "nonce", v.Nonce, "err", err)
		return
	}
	s.logger.Info("stream voucher claimed", "stream", r.id, "total", v.Total, "nonce", v.Nonce)
}

// replicaDone says whether the provider has no more business with the stream: it is over for
// it, the last voucher redeemed and no period left to settle.
func (s *Sidecar) replicaDone(r *replica, height int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	over := r.st.State == computetypes.STREAM_STATE_CLOSED || !r.member
	if !over || !r.finalClaim || len(r.book.periods) > 0 {
		return false
	}
	// a closed stream's last periods may still come due
	last := r.lastServedHeight()
	return height > r.periodEnd(r.st.Period(max(last, r.st.LiveHeight), r.params.ReceiptPeriod))+int64(r.params.RevealWindow)
}
