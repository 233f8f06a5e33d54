package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// Errors of the inclusion checks.
var (
	// ErrNotIncluded is what CheckInclusion's error wraps when the replica's commitments do not
	// include the receipt: the error is a *NotIncludedError holding the receipt.
	ErrNotIncluded = errors.New("receipt not included in the replica's commitments")
	// ErrNotCommitted: the receipt's period has no commitment of the replica on chain yet (or
	// no longer); check again later.
	ErrNotCommitted = errors.New("the receipt's period is not committed on chain")
)

// NotIncludedError is a receipt the replica's commitments on chain do not include: it left it
// out (so no sample can draw it), proves another receipt under its number, or refuses a proof.
// Receipt is what Challenge sends.
type NotIncludedError struct {
	Receipt SignedReceipt
	Reason  string
}

func (e *NotIncludedError) Error() string {
	r := e.Receipt.Receipt
	return fmt.Sprintf("%v: replica %s, receipt %d: %s", ErrNotIncluded, r.Provider, r.Sequence, e.Reason)
}

// Unwrap makes errors.Is(err, ErrNotIncluded) hold.
func (e *NotIncludedError) Unwrap() error { return ErrNotIncluded }

// ProofPath is the path of a receipt's inclusion proof on a replica.
func ProofPath(id, sequence uint64) string {
	return fmt.Sprintf("/v1/streams/%d/receipts/%d/proof", id, sequence)
}

// inclusionProof is a replica's answer at ProofPath: receipt (protobuf) is number index of the
// count receipts of period under root.
type inclusionProof struct {
	Period  uint64   `json:"period"`
	Index   uint64   `json:"index"`
	Count   uint64   `json:"count"`
	Root    []byte   `json:"root"`
	Aunts   [][]byte `json:"aunts"`
	Receipt []byte   `json:"receipt"`
}

// maxProofBody bounds a proof read: 40 aunts and a receipt are far less.
const maxProofBody = 64 << 10

// inclusionPatience is how long a receipt checked in the background may stay unproved before
// it is reported: a period is committed within reveal_window blocks of its end.
const inclusionPatience = 10 * time.Minute

// WithInclusionChecks checks this fraction (0..1) of the receipts in the background once their
// period is committed (CheckInclusion), and sends those not included to NotIncluded.
func WithInclusionChecks(fraction float64) Option { return func(c *config) { c.inclusion = fraction } }

// NotIncluded delivers the receipts the background inclusion checks found not included, or
// not proved within 10 minutes. The checks wait while it is full: read it.
func (s *Stream) NotIncluded() <-chan *NotIncludedError { return s.notIncluded }

// CheckInclusion checks that receipt r is in its replica's commitment on chain: the replica's
// proof must verify under the root and count the chain holds for the period it names, prove
// exactly r, and put r at index sequence − first_sequence, so no receipt was left out before
// it. It returns a *NotIncludedError when not, and an error wrapping ErrNotCommitted when the
// period's commitment is not on chain yet.
func (s *Stream) CheckInclusion(ctx context.Context, r SignedReceipt) error {
	detail, err := s.c.StreamDetail(ctx, s.id)
	if err != nil {
		return fmt.Errorf("check inclusion of receipt %d: %w", r.Receipt.Sequence, err)
	}
	return s.checkInclusion(ctx, r, detail.Commitments)
}

func (s *Stream) checkInclusion(ctx context.Context, r SignedReceipt, commitments []computetypes.ReceiptCommitment) error {
	rc := r.Receipt
	notIncluded := func(format string, args ...any) error {
		return &NotIncludedError{Receipt: r, Reason: fmt.Sprintf(format, args...)}
	}
	s.mu.Lock()
	endpoint := s.endpoints[rc.Provider]
	s.mu.Unlock()
	if rc.StreamId != s.id || endpoint == "" {
		return fmt.Errorf("check inclusion of receipt %d: stream %d, replica %s: not a replica of stream %d seen", rc.Sequence, rc.StreamId, rc.Provider, s.id)
	}
	// the replica commits its receipts in sequence order: below covered, every one is committed
	var covered uint64
	byPeriod := map[uint64]computetypes.ReceiptCommitment{}
	for _, c := range commitments {
		if c.Provider == rc.Provider && c.CommittedHeight != 0 {
			byPeriod[c.Period] = c
			covered = max(covered, c.FirstSequence+c.Count)
		}
	}
	proof, status, msg, err := s.fetchProof(ctx, endpoint, rc.Sequence)
	if err != nil {
		return fmt.Errorf("check inclusion of receipt %d: replica %s: %w", rc.Sequence, rc.Provider, err)
	}
	if status != http.StatusOK {
		if rc.Sequence < covered {
			return notIncluded("the replica refuses its proof (%d: %s) though its commitments on chain run to sequence %d", status, msg, covered)
		}
		return fmt.Errorf("receipt %d of replica %s: %w (the replica answers %d: %s)", rc.Sequence, rc.Provider, ErrNotCommitted, status, msg)
	}
	c, ok := byPeriod[proof.Period]
	if !ok {
		if rc.Sequence < covered {
			return notIncluded("proved in period %d, of which the chain holds no commitment of the replica", proof.Period)
		}
		return fmt.Errorf("receipt %d of replica %s, period %d: %w", rc.Sequence, rc.Provider, proof.Period, ErrNotCommitted)
	}
	held, err := rc.Marshal()
	if err != nil {
		return fmt.Errorf("check inclusion of receipt %d: %w", rc.Sequence, err)
	}
	if !bytes.Equal(held, proof.Receipt) {
		return notIncluded("the replica proves another receipt under sequence %d", rc.Sequence)
	}
	if proof.Count != c.Count || !bytes.Equal(proof.Root, c.Root) {
		return notIncluded("the proof is under root %X of %d receipts; the chain holds root %X of %d for period %d", proof.Root, proof.Count, c.Root, c.Count, c.Period)
	}
	if err := computetypes.VerifySample(s.chainID, c.Root, c.Count, computetypes.SampleProof{Receipt: rc, Index: proof.Index, Aunts: proof.Aunts}); err != nil {
		return notIncluded("%v", err)
	}
	if want := c.FirstSequence + proof.Index; rc.Sequence != want {
		return notIncluded("it is receipt %d of period %d, whose first_sequence is %d: it must be sequence %d (a receipt was left out before it)", proof.Index, c.Period, c.FirstSequence, want)
	}
	return nil
}

// fetchProof asks the replica at endpoint for the proof of receipt seq: the proof, or the
// status and message of its refusal.
func (s *Stream) fetchProof(ctx context.Context, endpoint string, seq uint64) (inclusionProof, int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+ProofPath(s.id, seq), nil)
	if err != nil {
		return inclusionProof{}, 0, "", err
	}
	resp, err := s.cfg.http.Do(req)
	if err != nil {
		return inclusionProof{}, 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProofBody))
	if err != nil {
		return inclusionProof{}, 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		var e refusal
		msg := string(body)
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return inclusionProof{}, resp.StatusCode, msg, nil
	}
	var p inclusionProof
	if err := json.Unmarshal(body, &p); err != nil {
		return inclusionProof{}, http.StatusBadGateway, fmt.Sprintf("proof: %v", err), nil
	}
	return p, http.StatusOK, "", nil
}

// pendingInclusion is a receipt waiting for its inclusion check.
type pendingInclusion struct {
	receipt SignedReceipt
	since   time.Time
}

// queueInclusion picks a served receipt for a background inclusion check, by the fraction of
// WithInclusionChecks.
func (s *Stream) queueInclusion(r SignedReceipt) {
	if s.cfg.inclusion == 0 || rand.Float64() >= s.cfg.inclusion {
		return
	}
	s.mu.Lock()
	if len(s.pending) >= s.cfg.receipts {
		s.pending = s.pending[1:] // bounded as the receipts kept are
	}
	s.pending = append(s.pending, pendingInclusion{receipt: r, since: time.Now()})
	start := !s.checking
	s.checking = true
	s.mu.Unlock()
	if start {
		go s.checkInclusions()
	}
}

// checkInclusions checks the pending receipts every refresh interval until none is left: each
// one proved is done, one not included is reported, one whose period is not committed yet
// waits, at most inclusionPatience.
func (s *Stream) checkInclusions() {
	for {
		time.Sleep(s.cfg.refresh)
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		s.mu.Unlock()
		var left []pendingInclusion
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
		detail, derr := s.c.StreamDetail(ctx, s.id)
		cancel()
		for _, p := range batch {
			err := derr
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
				err = s.checkInclusion(ctx, p.receipt, detail.Commitments)
				cancel()
			}
			var ni *NotIncludedError
			switch {
			case err == nil:
			case errors.As(err, &ni):
				s.notIncluded <- ni
			case time.Since(p.since) > inclusionPatience:
				s.notIncluded <- &NotIncludedError{Receipt: p.receipt, Reason: fmt.Sprintf("not proved within %s: %v", inclusionPatience, err)}
			default:
				left = append(left, p)
			}
		}
		s.mu.Lock()
		s.pending = append(left, s.pending...)
		if len(s.pending) == 0 {
			s.checking = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}
