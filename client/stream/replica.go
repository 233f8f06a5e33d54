package stream

import (
	"context"
	"time"

	"cosmossdk.io/math"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// replica is one serving replica as this client sees it. Its fields but send are guarded by
// the Stream's mutex.
type replica struct {
	provider string
	// send lets one request of ours at a time go to the replica, from the voucher's issue to
	// the response: its vouchers reach it in nonce order, never a higher nonce first. It is a
	// channel so a caller whose context ends stops waiting.
	send chan struct{}

	endpoint string
	slot     uint32
	price    math.Int
	limit    math.Int // what its vouchers may reach: the slot's share less earlier replicas' claims
	total    math.Int // the last voucher's total and nonce
	nonce    uint64
	lastSeq  uint64 // the last receipt's sequence; seq says one was seen
	seq      bool

	ewma      time.Duration // 0 until its first response
	queued    int           // requests of ours picked for it and not done
	failures  int           // in a row
	failedAt  time.Time     // the last failure
	downUntil time.Time
	// busyUntil: the replica answered 503 (not serving yet, or full); it is asked again after
	// this, without a failure counted
	busyUntil time.Time
	gone      bool // no longer serving the stream
}

func newReplica(provider string) *replica {
	return &replica{provider: provider, send: make(chan struct{}, 1), price: math.ZeroInt(), limit: math.ZeroInt(), total: math.ZeroInt()}
}

func zeroIfNil(i math.Int) math.Int {
	if i.IsNil() {
		return math.ZeroInt()
	}
	return i
}

// canPay is whether one more voucher at its price stays within its slot's share.
func (r *replica) canPay() bool {
	return r.price.IsPositive() && r.total.Add(r.price).LTE(r.limit)
}

// unknownLatency is what a busy replica not heard from yet is taken to answer in.
const unknownLatency = time.Millisecond

// score is the replica's expected wait: its latency times the requests of ours ahead of it,
// this one included. An idle replica not heard from yet goes first, so every one is measured.
func (r *replica) score() time.Duration {
	est := r.ewma
	if est == 0 {
		if r.queued == 0 {
			return 0
		}
		est = unknownLatency
	}
	return est * time.Duration(r.queued+1)
}

// pick is the replica with the least expected wait among those not in exclude that are healthy
// and can be paid; when every such replica is in its back-off, the one whose back-off ends
// first. The replica counts the request as queued until done.
func (s *Stream) pick(exclude map[string]bool) (*replica, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var best, down *replica
	unpaid := 0
	for _, r := range s.sortedReplicas() {
		if exclude[r.provider] {
			continue
		}
		if !r.canPay() {
			unpaid++
			continue
		}
		if until := r.unavailableUntil(); now.Before(until) {
			if down == nil || until.Before(down.unavailableUntil()) {
				down = r
			}
			continue
		}
		if best == nil || r.score() < best.score() {
			best = r
		}
	}
	if best == nil {
		best = down
	}
	if best == nil {
		if unpaid > 0 {
			return nil, ErrBudgetSpent
		}
		return nil, ErrNoReplica
	}
	best.queued++
	return best, nil
}

// sortedReplicas are the replicas in the chain's order, so ties go the same way every time.
func (s *Stream) sortedReplicas() []*replica {
	out := make([]*replica, 0, len(s.replicas))
	for _, r := range s.info.Serving {
		if rep, ok := s.replicas[r.Provider]; ok {
			out = append(out, rep)
		}
	}
	return out
}

// unavailableUntil is when r may be asked again: the later of its back-off and its busy pause.
func (r *replica) unavailableUntil() time.Time {
	if r.busyUntil.After(r.downUntil) {
		return r.busyUntil
	}
	return r.downUntil
}

// busyPause is how long a replica that answered 503 is left alone before it is asked again.
const busyPause = 250 * time.Millisecond

// maxBusy bounds the 503s one request waits out: a replica of a stream that just went LIVE
// starts serving once its sidecar has loaded the model, a block or two later.
const maxBusy = 40

// busy leaves r alone for busyPause without counting a failure.
func (s *Stream) busy(r *replica) {
	s.mu.Lock()
	r.busyUntil = time.Now().Add(busyPause)
	s.mu.Unlock()
}

// waitBusy waits, within ctx, until r's busy pause is over.
func (s *Stream) waitBusy(ctx context.Context, r *replica) error {
	s.mu.Lock()
	wait := time.Until(r.busyUntil)
	s.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// done ends a request picked for r.
func (s *Stream) done(r *replica) {
	s.mu.Lock()
	r.queued--
	s.mu.Unlock()
}

// maxBackoffShift caps a replica's back-off at 64 times the first.
const maxBackoffShift = 6

// fail skips r for a back-off that doubles with each failure in a row, and has the replicas
// read again (the chain may have replaced it).
func (s *Stream) fail(r *replica) {
	s.mu.Lock()
	r.failures++
	r.failedAt = time.Now()
	r.downUntil = r.failedAt.Add(s.cfg.backoff << min(r.failures-1, maxBackoffShift))
	s.refreshedAt = time.Time{}
	s.mu.Unlock()
}

// served records a good response of r that took latency.
func (s *Stream) served(r *replica, latency time.Duration, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.failures = 0
	r.downUntil = time.Time{}
	r.lastSeq, r.seq = seq, true
	if r.ewma == 0 {
		r.ewma = latency
	} else {
		r.ewma += (latency - r.ewma) / 5 // EWMA, α = 0.2
	}
}

// ReplicaState is what the client knows of one serving replica.
type ReplicaState struct {
	Provider string
	Endpoint string
	Slot     uint32
	Price    math.Int
	// Voucher is the last voucher issued to it; Limit what its vouchers may reach.
	Voucher computetypes.Voucher
	Limit   math.Int
	// Latency is the EWMA of its response times (0 before its first response).
	Latency time.Duration
	// Failures counts its failures in a row; it is skipped until DownUntil.
	Failures  int
	DownUntil time.Time
}

// Replicas is what the client knows of the serving replicas, in the chain's order.
func (s *Stream) Replicas() []ReplicaState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ReplicaState
	for _, r := range s.sortedReplicas() {
		out = append(out, ReplicaState{
			Provider: r.provider, Endpoint: r.endpoint, Slot: r.slot, Price: r.price,
			Voucher: computetypes.Voucher{StreamId: s.id, Provider: r.provider, Total: r.total, Nonce: r.nonce},
			Limit:   r.limit, Latency: r.ewma, Failures: r.failures, DownUntil: r.downUntil,
		})
	}
	return out
}
