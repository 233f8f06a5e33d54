package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"

	"github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// Errors a caller can tell apart.
var (
	// ErrWrongResponse is what Infer's error wraps when a spot-check finds the replica's answer
	// wrong; the error is a *WrongResponseError holding the response and its receipt.
	ErrWrongResponse = errors.New("wrong response")
	// ErrNoReplica: no replica of the stream can take a request now.
	ErrNoReplica = errors.New("no replica can serve")
	// ErrBudgetSpent: every replica's voucher has reached its slot's share; fund the stream.
	ErrBudgetSpent = errors.New("the slots' shares of the budget are spent")
)

// WrongResponseError is a response a spot-check found wrong: Response.Receipt is what
// Challenge sends.
type WrongResponseError struct {
	Response Response
	// Want is the result the model gives.
	Want []byte
}

func (e *WrongResponseError) Error() string {
	r := e.Response.Receipt.Receipt
	return fmt.Sprintf("%v: replica %s, receipt %d: the result %s is not the model's", ErrWrongResponse, r.Provider, r.Sequence, r.OutputSha256)
}

// Unwrap makes errors.Is(err, ErrWrongResponse) hold.
func (e *WrongResponseError) Unwrap() error { return ErrWrongResponse }

type config struct {
	http      *http.Client
	timeout   time.Duration
	refresh   time.Duration
	backoff   time.Duration
	maxTries  int
	receipts  int
	model     []byte
	spotCheck float64
	inclusion float64
	executor  gemm.Executor
	store     VoucherStore
}

// Option sets an optional part of a Stream.
type Option func(*config)

// WithHTTPClient sets the HTTP client of the requests (default http.DefaultClient).
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.http = h } }

// WithRequestTimeout bounds one request to one replica (default 30 s).
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRefreshInterval sets how often the replicas are read again from the chain (default 5 s).
func WithRefreshInterval(d time.Duration) Option { return func(c *config) { c.refresh = d } }

// WithBackoff sets how long a replica that failed is skipped, doubled at each failure in a row
// up to 64 times that (default 2 s).
func WithBackoff(d time.Duration) Option { return func(c *config) { c.backoff = d } }

// WithMaxTries bounds the replicas one Infer tries (default 3).
func WithMaxTries(n int) Option { return func(c *config) { c.maxTries = max(n, 1) } }

// WithReceiptLimit sets how many of the last receipts are kept (default 4096).
func WithReceiptLimit(n int) Option { return func(c *config) { c.receipts = max(n, 1) } }

// WithModel gives the stream's model blob (its sha256 must be the stream's), for spot-checks.
func WithModel(model []byte) Option { return func(c *config) { c.model = model } }

// WithSpotCheck recomputes this fraction (0..1) of the responses with the model of WithModel.
func WithSpotCheck(fraction float64) Option { return func(c *config) { c.spotCheck = fraction } }

// WithExecutor sets the executor of spot-checks (default the CPU).
func WithExecutor(e gemm.Executor) Option { return func(c *config) { c.executor = e } }

// Stream is a client of one LIVE stream, for many goroutines at once.
type Stream struct {
	c       *client.Client
	kr      keyring.Keyring
	from    string
	signer  client.KeyringSigner
	pubkey  string // base64, the X-Ogpu-Pubkey header
	id      uint64
	chainID string
	cfg     config
	model   *mlp.Model

	mu          sync.Mutex // guards the fields below and every replica's state
	info        computetypes.Stream
	replicas    map[string]*replica
	refreshedAt time.Time
	refreshing  bool
	receipts    []SignedReceipt // a ring of the last cfg.receipts
	next        int
	// endpoints are the endpoints of every replica seen, gone ones included, for proofs
	endpoints map[string]string
	// departed holds, by slot, the highest voucher total this client signed each replica that
	// left the slot: it may still redeem that much, so the slot's next replicas get the rest
	departed map[uint32]map[string]math.Int
	// pending are the receipts waiting for a background inclusion check; checking says the
	// checker runs; notIncluded takes its reports
	pending     []pendingInclusion
	checking    bool
	notIncluded chan *NotIncludedError
}

// New loads stream id and its replicas from the chain c, to call them as from, the key of kr
// that created the stream.
func New(ctx context.Context, c *client.Client, kr keyring.Keyring, from string, id uint64, opts ...Option) (*Stream, error) {
	cfg := config{http: http.DefaultClient, timeout: 30 * time.Second, refresh: 5 * time.Second, backoff: 2 * time.Second, maxTries: 3, receipts: 4096, executor: gemm.CPU{}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.spotCheck < 0 || cfg.spotCheck > 1 {
		return nil, fmt.Errorf("spot-check fraction %v: must be in [0, 1]", cfg.spotCheck)
	}
	if cfg.inclusion < 0 || cfg.inclusion > 1 {
		return nil, fmt.Errorf("inclusion-check fraction %v: must be in [0, 1]", cfg.inclusion)
	}
	if cfg.spotCheck > 0 && cfg.model == nil {
		return nil, errors.New("spot-check: needs the model (WithModel)")
	}
	if c.ChainID() == "" {
		return nil, errors.New("stream: the client has no chain id (client.WithChainID): every voucher and request is signed for it")
	}
	signer, err := client.NewKeyringSigner(kr, from)
	if err != nil {
		return nil, err
	}
	s := &Stream{
		c: c, kr: kr, from: from, signer: signer, id: id, chainID: c.ChainID(), cfg: cfg,
		pubkey: base64.StdEncoding.EncodeToString(signer.PubKey()), replicas: map[string]*replica{},
		endpoints: map[string]string{}, departed: map[uint32]map[string]math.Int{}, notIncluded: make(chan *NotIncludedError, 64),
	}
	info, err := c.Stream(ctx, id)
	if err != nil {
		return nil, err
	}
	if info.Creator != signer.Signer() {
		return nil, fmt.Errorf("stream %d: created by %s, not by key %s (%s)", id, info.Creator, from, signer.Signer())
	}
	if info.Workload.GetInferMlpInt8() == nil {
		return nil, fmt.Errorf("stream %d: workload %s: this client serves %s only", id, info.Workload.Name, computetypes.StreamWorkloads)
	}
	if cfg.model != nil {
		sum := sha256.Sum256(cfg.model)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, info.Model.Sha256) {
			return nil, fmt.Errorf("model: sha256 %s, the stream's is %s", got, info.Model.Sha256)
		}
		if s.model, err = mlp.DecodeModel(cfg.model); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	if err := s.apply(info); err != nil {
		return nil, err
	}
	return s, nil
}

// ID is the stream's id.
func (s *Stream) ID() uint64 { return s.id }

// Info is the stream as last read from the chain.
func (s *Stream) Info() computetypes.Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Receipts are the signed receipts of the last responses, oldest first.
func (s *Stream) Receipts() []SignedReceipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SignedReceipt, 0, len(s.receipts))
	if len(s.receipts) == s.cfg.receipts {
		out = append(out, s.receipts[s.next:]...)
		return append(out, s.receipts[:s.next]...)
	}
	return append(out, s.receipts...)
}

func (s *Stream) keep(r SignedReceipt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.receipts) < s.cfg.receipts {
		s.receipts = append(s.receipts, r)
		return
	}
	s.receipts[s.next] = r
	s.next = (s.next + 1) % s.cfg.receipts
}

// Refresh reads the stream and its replicas from the chain again.
func (s *Stream) Refresh(ctx context.Context) error {
	info, err := s.c.Stream(ctx, s.id)
	if err != nil {
		return err
	}
	return s.apply(info)
}

// apply takes the chain's view of the stream: new replicas join with the chain's voucher state
// (or the store's, when it is ahead), known ones keep theirs unless the chain has seen more,
// gone ones are dropped.
func (s *Stream) apply(info computetypes.Stream) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.info = info
	s.refreshedAt = time.Now()
	share := info.SlotShare()
	serving := map[string]bool{}
	for _, r := range info.Serving {
		serving[r.Provider] = true
	}
	for p, rep := range s.replicas {
		if !serving[p] {
			rep.gone = true
			delete(s.replicas, p)
			if s.departed[rep.slot] == nil {
				s.departed[rep.slot] = map[string]math.Int{}
			}
			s.departed[rep.slot][p] = rep.total
		}
	}
	for _, r := range info.Serving {
		rep, ok := s.replicas[r.Provider]
		if !ok {
			rep = newReplica(r.Provider)
			if s.cfg.store != nil {
				v, ok, err := s.cfg.store.Load(s.id, r.Provider)
				if err != nil {
					return err
				}
				if ok {
					rep.total, rep.nonce = v.Total, v.Nonce
				}
			}
			s.replicas[r.Provider] = rep
		}
		rep.endpoint, rep.slot = strings.TrimRight(r.Endpoint, "/"), r.Slot
		s.endpoints[r.Provider] = rep.endpoint
		rep.price = zeroIfNil(r.Price)
		// what earlier replicas of the slot may still redeem: what they claimed on chain, or, when
		// more, what this client signed them (a replaced replica redeems until the stream settles)
		earlier := math.ZeroInt()
		if int(r.Slot) < len(info.SlotClaimed) {
			earlier = zeroIfNil(info.SlotClaimed[r.Slot])
		}
		signed := math.ZeroInt()
		for _, total := range s.departed[r.Slot] {
			signed = signed.Add(total)
		}
		limit := share.Sub(math.MaxInt(earlier, signed))
		if limit.IsNegative() {
			limit = math.ZeroInt()
		}
		rep.limit = limit
		if claimed := zeroIfNil(r.Claimed); rep.total.LT(claimed) {
			rep.total = claimed
		}
		rep.nonce = max(rep.nonce, r.VoucherNonce)
	}
	return nil
}

// maybeRefresh reads the replicas again in the background when the last read is older than the
// refresh interval (or was marked stale by a failure).
func (s *Stream) maybeRefresh() {
	s.mu.Lock()
	due := !s.refreshing && time.Since(s.refreshedAt) >= s.cfg.refresh
	if due {
		s.refreshing = true
	}
	s.mu.Unlock()
	if !due {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
		defer cancel()
		_ = s.Refresh(ctx) // a failed read is tried again at the next request
		s.mu.Lock()
		s.refreshing = false
		s.mu.Unlock()
	}()
}

// stale makes the next request read the replicas again.
func (s *Stream) stale() {
	s.mu.Lock()
	s.refreshedAt = time.Time{}
	s.mu.Unlock()
}

// Infer sends rows (each of the model's input width, at most the workload's rows) to the
// fastest healthy replica and returns its checked response.
func (s *Stream) Infer(ctx context.Context, rows [][]int8) (Response, error) {
	if len(rows) == 0 {
		return Response{}, errors.New("infer: no rows")
	}
	cols := len(rows[0])
	x := make([]int8, 0, len(rows)*cols)
	for i, r := range rows {
		if len(r) != cols {
			return Response{}, fmt.Errorf("infer: row %d has %d values, row 0 has %d", i, len(r), cols)
		}
		x = append(x, r...)
	}
	return s.InferBlob(ctx, mlp.EncodeRows(x, len(rows), cols))
}

// InferBlob sends a rows blob (gpu/mlp) to the fastest healthy replica and returns its checked
// response. A replica that fails (network, timeout, 5xx, a refusal, a bad response or receipt)
// is skipped for a back-off and the request goes to another, at most the tries of WithMaxTries;
// a refused voucher (402, 409) first reads the replica's voucher state from the chain and
// tries it once more. A spot-check that finds the answer wrong returns the response with a
// *WrongResponseError.
func (s *Stream) InferBlob(ctx context.Context, blob []byte) (Response, error) {
	x, rows, cols, err := mlp.DecodeRows(blob)
	if err != nil {
		return Response{}, fmt.Errorf("infer: %w", err)
	}
	if err := s.checkShape(ctx, rows, cols); err != nil {
		return Response{}, err
	}
	sum := sha256.Sum256(blob)
	req := request{blob: blob, rows: rows, sha: hex.EncodeToString(sum[:])}
	s.maybeRefresh()

	tried := map[string]bool{}
	resynced := map[string]bool{}
	refreshed := false
	busy := 0
	var errs []error
	for tries := 0; tries < s.cfg.maxTries; {
		rep, err := s.pick(tried)
		if (errors.Is(err, ErrNoReplica) || errors.Is(err, ErrBudgetSpent)) && !refreshed {
			// the chain may have promoted a standby, or the stream been funded, since we looked
			refreshed = true
			if rerr := s.Refresh(ctx); rerr == nil {
				continue
			}
		}
		if err != nil {
			errs = append(errs, err)
			break
		}
		if err := s.waitBusy(ctx, rep); err != nil {
			s.done(rep)
			return Response{}, fmt.Errorf("stream %d: %w", s.id, err)
		}
		tries++
		res, err := s.call(ctx, rep, req, time.Now())
		s.done(rep)
		if errors.Is(err, errReplicaDown) {
			tries-- // nothing was sent: another replica gets the try
			tried[rep.provider] = true
			continue
		}
		if err == nil {
			res.Tries = tries
			s.keep(res.Receipt)
			s.queueInclusion(res.Receipt)
			return s.spotCheck(rep, res, x, rows)
		}
		if ctx.Err() != nil || errors.Is(err, errStore) {
			return Response{}, fmt.Errorf("stream %d, replica %s: %w", s.id, rep.provider, err)
		}
		var refused *RefusedError
		if errors.As(err, &refused) && refused.Status == http.StatusServiceUnavailable && busy < maxBusy {
			// not serving yet (the stream just went LIVE) or full: no fault of the replica's; another
			// replica gets the request, or this one after a pause
			busy++
			tries--
			s.busy(rep)
			continue
		}
		if errors.As(err, &refused) && (refused.Status == http.StatusPaymentRequired || refused.Status == http.StatusConflict) && !resynced[rep.provider] {
			resynced[rep.provider] = true
			if rerr := s.Refresh(ctx); rerr == nil {
				tries-- // the retry on the same replica is the one a resync allows
				continue
			}
		}
		errs = append(errs, fmt.Errorf("replica %s: %w", rep.provider, err))
		s.fail(rep)
		tried[rep.provider] = true
	}
	return Response{}, fmt.Errorf("stream %d: %w", s.id, errors.Join(errs...))
}

// checkShape checks a request's rows against the stream's workload; a stream not LIVE is read
// again before it is refused.
func (s *Stream) checkShape(ctx context.Context, rows, cols int) error {
	info := s.Info()
	if info.State != computetypes.STREAM_STATE_LIVE {
		if err := s.Refresh(ctx); err != nil {
			return err
		}
		if info = s.Info(); info.State != computetypes.STREAM_STATE_LIVE {
			return fmt.Errorf("stream %d is %s: its replicas serve only while it is LIVE", s.id, info.State)
		}
	}
	p := info.Workload.GetInferMlpInt8()
	if len(p.Widths) < 2 || cols != int(p.Widths[0]) {
		return fmt.Errorf("infer: rows of %d values, the model takes %v", cols, p.Widths)
	}
	if rows > int(p.Rows) {
		return fmt.Errorf("infer: %d rows: the stream takes at most %d per request", rows, p.Rows)
	}
	return nil
}

// spotCheck recomputes the response with the model for the configured fraction of responses.
func (s *Stream) spotCheck(rep *replica, res Response, x []int8, rows int) (Response, error) {
	if s.model == nil || s.cfg.spotCheck == 0 || rand.Float64() >= s.cfg.spotCheck {
		return res, nil
	}
	var want bytes.Buffer
	if err := mlp.Infer(s.cfg.executor, s.model, x, rows, &want); err != nil {
		return res, fmt.Errorf("spot-check: %w", err)
	}
	res.SpotChecked = true
	if !bytes.Equal(want.Bytes(), res.Result) {
		s.fail(rep)
		return res, &WrongResponseError{Response: res, Want: want.Bytes()}
	}
	return res, nil
}

// Challenge sends the chain a receipt whose response the client believes wrong, with the
// request rows and the response served at inputURI and outputURI, and returns the check task.
func (s *Stream) Challenge(ctx context.Context, r SignedReceipt, inputURI, outputURI string) (uint64, error) {
	msg := &computetypes.MsgChallengeResponse{
		Creator: s.signer.Signer(), Receipt: r.Receipt, Signature: r.Signature, InputUri: inputURI, OutputUri: outputURI,
	}
	if err := msg.ValidateBasic(); err != nil {
		return 0, fmt.Errorf("challenge: %w", err)
	}
	return s.c.ChallengeResponse(ctx, s.c.TxFactory(s.kr, s.from), msg)
}
