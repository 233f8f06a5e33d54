package sidecar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	"cosmossdk.io/log/v2"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/opengpu/ogpu/gpu/cuda"
	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	"github.com/opengpu/ogpu/sidecar/server"
	"github.com/opengpu/ogpu/sidecar/store"
	sidecartypes "github.com/opengpu/ogpu/sidecar/types"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// Sidecar runs the enabled roles until its context ends.
type Sidecar struct {
	cfg      Config
	logger   log.Logger
	chain    *chain
	store    *store.Store
	exec     gemm.Executor
	metrics  *metrics
	provider sdk.AccAddress
	valoper  string
	signer   blobauth.Signer // the verifier's proof of who reads a result

	mu           sync.Mutex
	bid          map[uint64]bool      // tasks bid on
	running      map[uint64]bool      // won tasks being run
	sent         map[uint64]bool      // won tasks whose result or report is sent
	checks       map[uint64]check     // this validator's verdicts, one per task and round
	rounds       map[uint64]roundView // what the chain recorded of those rounds
	verifying    map[uint64]bool
	commitBlocks int64
}

// New checks cfg and connects to the node.
func New(cfg Config, logger log.Logger) (*Sidecar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := dialChain(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(cfg.Home, "sidecar", "blobs"))
	if err != nil {
		return nil, err
	}
	exec, err := pickExecutor(cfg.Executor, logger)
	if err != nil {
		return nil, err
	}
	s := &Sidecar{
		cfg: cfg, logger: logger, chain: c, store: st, exec: exec, metrics: newMetrics(),
		bid: map[uint64]bool{}, running: map[uint64]bool{}, sent: map[uint64]bool{}, checks: map[uint64]check{}, rounds: map[uint64]roundView{}, verifying: map[uint64]bool{},
	}
	if cfg.Provider {
		if s.provider, err = c.address(cfg.ProviderKey); err != nil {
			return nil, err
		}
	}
	if cfg.Verifier {
		acc, err := sdk.AccAddressFromBech32(cfg.ValidatorAccount)
		if err != nil {
			return nil, fmt.Errorf("validator account %q: %w", cfg.ValidatorAccount, err)
		}
		s.valoper = sdk.ValAddress(acc).String()
		signer, err := loadConsensusSigner(cfg.ConsensusKeyFile, s.valoper)
		if err != nil {
			return nil, err
		}
		s.signer = signer
	}
	return s, nil
}

// Run serves and works until ctx ends.
func (s *Sidecar) Run(ctx context.Context) error {
	errs := make(chan error, 2)
	if s.cfg.Provider {
		srv := &http.Server{Addr: s.cfg.Listen, Handler: server.Handler(s.store, s.metrics.reg, chainAuthorizer{s.chain.conn}), ReadHeaderTimeout: 10 * time.Second}
		go func() { errs <- srv.ListenAndServe() }()
		defer srv.Close()
	}
	if s.cfg.Verifier {
		ln, err := net.Listen("tcp", s.cfg.AttestorListen)
		if err != nil {
			return fmt.Errorf("attestor listen %s: %w", s.cfg.AttestorListen, err)
		}
		g := grpc.NewServer(grpc.ForceServerCodec(codec.NewProtoCodec(codectypes.NewInterfaceRegistry()).GRPCCodec()))
		sidecartypes.RegisterAttestorServer(g, attestorService{s})
		go func() { errs <- g.Serve(ln) }()
		defer g.Stop()
	}
	s.logger.Info("sidecar running", "provider", s.cfg.Provider, "verifier", s.cfg.Verifier, "executor", s.exec.Name())
	registered := !s.cfg.Provider
	// new blocks from the websocket wake the loop; the ticker is the fallback
	wake := make(chan struct{}, 1)
	if s.cfg.RPC != "" {
		go s.follow(ctx, wake)
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
		case <-wake:
		case <-tick.C:
		}
		// each pass catches up from the chain's state, so a restart loses nothing
		if !registered {
			registered = s.ensureRegistered(ctx)
		}
		if s.cfg.Provider && registered {
			s.providerPass(ctx)
		}
		if s.cfg.Verifier {
			s.verifierPass(ctx)
		}
	}
}

// tasks lists every task req selects, page by page. On an error it returns none and false: a
// pass then does nothing rather than take a missing task for a finished one.
func (s *Sidecar) tasks(ctx context.Context, req *computetypes.QueryTasksRequest) ([]computetypes.Task, bool) {
	q := computetypes.NewQueryClient(s.chain.conn)
	var all []computetypes.Task
	req.Pagination = &query.PageRequest{Limit: 200}
	for {
		res, err := q.Tasks(ctx, req)
		if err != nil {
			s.logger.Debug("query tasks", "err", err)
			return nil, false
		}
		all = append(all, res.Tasks...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return all, true
		}
		req.Pagination = &query.PageRequest{Key: res.Pagination.NextKey, Limit: 200}
	}
}

// providerPass bids on open tasks it can run and runs the tasks it won.
func (s *Sidecar) providerPass(ctx context.Context) {
	open, ok := s.tasks(ctx, &computetypes.QueryTasksRequest{State: computetypes.TASK_STATE_OPEN})
	if !ok {
		return
	}
	s.mu.Lock()
	for id := range s.bid { // a task that left OPEN takes no more bids
		if !slices.ContainsFunc(open, func(t computetypes.Task) bool { return t.Id == id }) {
			delete(s.bid, id)
		}
	}
	s.mu.Unlock()
	for _, t := range open {
		s.mu.Lock()
		done, busy := s.bid[t.Id], len(s.running)
		s.mu.Unlock()
		if done || busy >= s.cfg.MaxConcurrent || t.Workload.Name != workload.GemmInt8V1 {
			continue
		}
		p, err := t.Workload.TypedParams()
		if err != nil {
			continue
		}
		price := s.cfg.Price(p.WorkUnits())
		s.mu.Lock()
		s.bid[t.Id] = true
		s.mu.Unlock()
		if price.GT(t.MaxPrice) {
			continue
		}
		if err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, &computetypes.MsgBid{Provider: s.provider.String(), TaskId: t.Id, Price: price}); err != nil {
			s.logger.Info("bid refused", "task", t.Id, "err", err)
			continue
		}
		s.metrics.bids.Inc()
	}
	assigned, ok := s.tasks(ctx, &computetypes.QueryTasksRequest{Provider: s.provider.String(), State: computetypes.TASK_STATE_ASSIGNED})
	if !ok {
		return
	}
	s.mu.Lock()
	for id := range s.sent { // the chain has taken what was sent once the task leaves ASSIGNED
		if !slices.ContainsFunc(assigned, func(t computetypes.Task) bool { return t.Id == id }) {
			delete(s.sent, id)
		}
	}
	s.mu.Unlock()
	for _, t := range assigned {
		s.mu.Lock()
		if s.running[t.Id] || s.sent[t.Id] {
			s.mu.Unlock()
			continue
		}
		s.running[t.Id] = true
		s.metrics.queue.Set(float64(len(s.running)))
		s.mu.Unlock()
		s.metrics.wins.Inc()
		go s.run(ctx, t)
	}
}

// run executes a won task, stores the result and submits it.
func (s *Sidecar) run(ctx context.Context, t computetypes.Task) {
	defer func() {
		s.mu.Lock()
		delete(s.running, t.Id)
		s.metrics.queue.Set(float64(len(s.running)))
		s.mu.Unlock()
	}()
	result, err := s.execute(ctx, t)
	if errors.Is(err, errInputUnavailable) {
		s.logger.Info("reporting unavailable inputs", "task", t.Id, "err", err)
		if err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, &computetypes.MsgReportInputUnavailable{Provider: s.provider.String(), TaskId: t.Id}); err != nil {
			s.logger.Error("report unavailable inputs", "task", t.Id, "err", err)
			return
		}
		s.markSent(t.Id)
		return
	}
	if err != nil {
		s.logger.Error("run task", "task", t.Id, "err", err)
		return
	}
	sha, err := s.store.Put(result)
	if err != nil {
		s.logger.Error("store result", "task", t.Id, "err", err)
		return
	}
	msg := &computetypes.MsgSubmitResult{
		Provider: s.provider.String(), TaskId: t.Id, Sha256: sha, Size_: uint64(len(result)),
		Uri: s.cfg.PublicURL + "/v1/blobs/" + sha,
	}
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.chain.send(ctx, s.cfg.ProviderKey, 300_000, msg); err == nil {
			s.metrics.tasksRun.Inc()
			s.logger.Info("result submitted", "task", t.Id, "sha256", sha)
			s.markSent(t.Id)
			return
		}
		time.Sleep(time.Second)
	}
	s.logger.Error("submit result", "task", t.Id, "err", err)
}

func (s *Sidecar) markSent(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent[id] = true
}

// execute runs a gemm-int8/v1 task on the executor and encodes its result.
func (s *Sidecar) execute(ctx context.Context, t computetypes.Task) ([]byte, error) {
	// the inputs are kept and served beside the result, for the committee
	shape, a, b, err := matrices(ctx, t, func(body []byte) {
		if _, err := s.store.Put(body); err != nil {
			s.logger.Error("keep input", "task", t.Id, "err", err)
		}
	}, nil)
	if err != nil {
		return nil, err
	}
	c := make([]int32, shape.M*shape.N)
	start := time.Now()
	if err := s.exec.GemmInt8(shape, a, b, c); err != nil {
		return nil, err
	}
	s.metrics.throughput.Set(float64(shape.M*shape.N*shape.K) / time.Since(start).Seconds() / 1e9)
	if s.cfg.CorruptResults {
		c[len(c)/2]++
	}
	return gemm.Encode(shape, c), nil
}

// verifierPass follows the committees this validator sits on: for each it checks the result
// once per round (verify.go) and keeps what the chain has recorded of its commitment, so that
// Attestations knows whether to commit or reveal.
func (s *Sidecar) verifierPass(ctx context.Context) {
	submitted, ok := s.tasks(ctx, &computetypes.QueryTasksRequest{State: computetypes.TASK_STATE_SUBMITTED})
	if !ok {
		return
	}
	q := committeetypes.NewQueryClient(s.chain.conn)
	if res, err := q.Params(ctx, &committeetypes.QueryParamsRequest{}); err == nil {
		s.mu.Lock()
		s.commitBlocks = int64(res.Params.CommitBlocks)
		s.mu.Unlock()
	}
	open := map[uint64]bool{}
	for _, t := range submitted {
		if !slices.Contains(t.Committee, s.valoper) {
			continue
		}
		res, err := q.Committee(ctx, &committeetypes.QueryCommitteeRequest{TaskId: t.Id})
		if err != nil {
			continue
		}
		c := res.Committee
		open[t.Id] = true
		view := roundView{round: c.Round, drawn: c.DrawnHeight, reveal: c.RevealHeight}
		for _, a := range res.Attestations {
			if a.Validator == s.valoper {
				view.committed, view.revealed = len(a.Commitment) > 0, a.Height != 0
			}
		}
		s.mu.Lock()
		s.rounds[t.Id] = view
		ch, have := s.checks[t.Id]
		busy := s.verifying[t.Id]
		// a new draw (another round, or the same round after the task was reassigned) is checked anew
		start := (!have || ch.round != c.Round || ch.drawn != c.DrawnHeight) && !busy
		if start {
			s.verifying[t.Id] = true
		}
		s.mu.Unlock()
		if !start {
			continue
		}
		go func(t computetypes.Task, c committeetypes.Committee) {
			ch := s.check(ctx, t, c)
			s.mu.Lock()
			s.checks[t.Id] = ch
			delete(s.verifying, t.Id)
			s.mu.Unlock()
			s.metrics.verifications.WithLabelValues(ch.verdict.String()).Inc()
			s.logger.Info("result checked", "task", t.Id, "round", c.Round, "verdict", ch.verdict)
		}(t, c)
	}
	// forget tasks that are no longer waiting for a verdict
	s.mu.Lock()
	for id := range s.checks {
		if !open[id] {
			delete(s.checks, id)
			delete(s.rounds, id)
		}
	}
	s.mu.Unlock()
}

// Attestations are what goes into the node's vote at height, in task order: for each check, the
// commitment while commitments are open and the chain has none from this validator, then the
// reveal once reveals are open and the commitment is recorded. A reveal is never sent before
// reveals open, so no other member sees a verdict while it can still commit.
func (s *Sidecar) Attestations(height int64) []committeetypes.Attestation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]committeetypes.Attestation, 0, len(s.checks))
	for id, ch := range s.checks {
		v, ok := s.rounds[id]
		if !ok || v.round != ch.round || v.drawn != ch.drawn || v.revealed {
			continue
		}
		recordedAt := height + 1 // the extension of height is recorded in the next block
		revealOpen := (v.reveal != 0 && recordedAt >= v.reveal) || recordedAt > v.drawn+s.commitBlocks
		switch {
		case revealOpen && v.committed:
			out = append(out, committeetypes.Attestation{TaskId: id, Verdict: ch.verdict, Digest: ch.digest, Salt: ch.salt, WrongDigests: ch.wrong})
		case !revealOpen && !v.committed:
			out = append(out, committeetypes.Attestation{TaskId: id, Commitment: ch.commitment})
		}
	}
	slices.SortFunc(out, func(a, b committeetypes.Attestation) int { return cmp.Compare(a.TaskId, b.TaskId) })
	return out
}

type attestorService struct{ s *Sidecar }

func (a attestorService) Attestations(_ context.Context, req *sidecartypes.AttestationsRequest) (*sidecartypes.AttestationsResponse, error) {
	return &sidecartypes.AttestationsResponse{Attestations: a.s.Attestations(req.Height)}, nil
}

// pickExecutor opens the GPU executor when asked or, for "auto", when it can; otherwise the CPU.
func pickExecutor(choice string, logger log.Logger) (gemm.Executor, error) {
	if choice == "cpu" {
		return gemm.CPU{}, nil
	}
	e, err := cuda.Open()
	if err == nil {
		return e, nil
	}
	if choice == "cuda" {
		return nil, fmt.Errorf("executor cuda: %w", err)
	}
	logger.Info("no GPU executor; running tasks on the CPU", "reason", err)
	return gemm.CPU{}, nil
}
