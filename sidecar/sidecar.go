package sidecar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"cosmossdk.io/log/v2"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/cuda"
	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	"github.com/opengpu/ogpu/sidecar/server"
	"github.com/opengpu/ogpu/sidecar/store"
	sidecartypes "github.com/opengpu/ogpu/sidecar/types"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// Sidecar runs the enabled roles until its context ends.
type Sidecar struct {
	cfg           Config
	logger        log.Logger
	chain         ledger
	conn          *grpc.ClientConn // the node's gRPC, for the blob server's authorizer and registration
	store         *store.Store
	exec          gemm.Executor
	metrics       *metrics
	fetch         *http.Client  // every download: no redirects, public addresses only unless allowed
	fetchTimeout  time.Duration // the time cap of each download
	pace          *pace
	runs          *workQueue[computetypes.Task]
	served        atomic.Uint64 // stream responses served, for Config.CorruptEvery
	verifications *workQueue[verification]
	self          stakinggputypes.Provider // the provider's record on chain, once registered
	provider      sdk.AccAddress
	valoper       string
	signer        blobauth.Signer // the verifier's proof of who reads a result
	probes        *prober         // the verifier's probes of stream replicas (nil: it sends none)
	replicas      *replicaSet     // the streams this provider subscribes to and serves

	mu           sync.Mutex
	bids         map[uint64]*bid      // this provider's bids on open tasks
	sent         map[uint64]bool      // won tasks whose result or report is sent
	checks       map[uint64]check     // this validator's verdicts, one per task and round
	trainRuns    map[uint64]*trainRun // training runs submitted, whose states this provider serves
	replay       sync.Mutex           // one training replay at a time
	rounds       map[uint64]roundView // what the chain recorded of those rounds
	commitBlocks int64
}

// maxQueued bounds the tasks waiting in each queue; more wait on the chain for a later pass.
const maxQueued = 4096

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
	if cfg.ThrottleGMACs > 0 {
		exec = throttled{Executor: exec, gmacs: cfg.ThrottleGMACs}
	}
	s := newSidecar(cfg, logger, c, st, exec)
	s.conn = c.conn
	if cfg.Provider {
		if s.provider, err = c.address(cfg.ProviderKey); err != nil {
			return nil, err
		}
		s.replicas.ledger, s.replicas.signer = c, newKeyringSigner(c.kr, cfg.ProviderKey)
		s.replicas.journals = filepath.Join(cfg.Home, "sidecar", "streams")
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
		s.probes = probesOf(cfg, c, acc, logger)
	}
	return s, nil
}

// newSidecar is a sidecar over chain, st and exec, its queues not yet started.
func newSidecar(cfg Config, logger log.Logger, chain ledger, st *store.Store, exec gemm.Executor) *Sidecar {
	cfg = cfg.withDefaults()
	s := &Sidecar{
		cfg: cfg, logger: logger, chain: chain, store: st, exec: exec, metrics: newMetrics(),
		fetch: newFetchClient(cfg.AllowPrivateFetch), fetchTimeout: fetchTimeout, pace: &pace{configured: cfg.BlockTime},
		bids: map[uint64]*bid{}, sent: map[uint64]bool{}, checks: map[uint64]check{}, trainRuns: map[uint64]*trainRun{}, rounds: map[uint64]roundView{},
		replicas: newReplicaSet(cfg.StreamConcurrency),
	}
	s.runs = newWorkQueue(cfg.MaxConcurrent, maxQueued, s.run, s.metrics.runsQueued, s.metrics.runsInFlight)
	s.verifications = newWorkQueue(cfg.MaxConcurrentVerifications, maxQueued, s.verify, s.metrics.verificationsQueued, s.metrics.verificationsInFlight)
	return s
}

// Run serves and works until ctx ends.
func (s *Sidecar) Run(ctx context.Context) error {
	errs := make(chan error, 2)
	if s.cfg.Provider {
		srv := &http.Server{Addr: s.cfg.Listen, Handler: server.Handler(s.store, s.metrics.reg, chainAuthorizer{conn: s.conn, states: s.isTrainState, provider: s.provider.String()}, trainStates{s}, s.replicaRoutes()...), ReadHeaderTimeout: 10 * time.Second}
		go func() { errs <- srv.ListenAndServe() }()
		defer srv.Close()
		s.calibrate()
		s.runs.start(ctx)
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
		s.verifications.start(ctx)
	}
	s.logger.Info("sidecar running", "provider", s.cfg.Provider, "verifier", s.cfg.Verifier, "executor", s.exec.Name(),
		"max_concurrent", s.cfg.MaxConcurrent, "max_concurrent_verifications", s.cfg.MaxConcurrentVerifications, "allow_private_fetch", s.cfg.AllowPrivateFetch)
	registered := !s.cfg.Provider
	// new blocks from the websocket wake the loop; the ticker is the fallback
	wake := make(chan struct{}, 1)
	if s.cfg.RPC != "" {
		go s.follow(ctx, wake)
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var collected time.Time
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
		if h, at, err := s.chain.latestBlock(ctx); err == nil {
			s.pace.observeBlock(h, at)
		}
		if !registered {
			registered = s.ensureRegistered(ctx)
		}
		if s.cfg.Provider && registered {
			s.providerPass(ctx)
			s.replicaPass(ctx)
			if time.Since(collected) >= collectEvery {
				s.collectBlobs(ctx, time.Now())
				collected = time.Now()
			}
		}
		if s.cfg.Verifier {
			s.verifierPass(ctx)
			s.probePass(ctx)
		}
	}
}

// calibrate measures the executor's speed once, for the bid engine; runs refine it.
func (s *Sidecar) calibrate() {
	rates, err := calibrate(s.exec)
	if err != nil {
		s.logger.Error("executor calibration; bidding waits for a measure", "err", err)
		return
	}
	for _, name := range workload.Names() {
		if g, ok := rates[name]; ok {
			s.pace.observeRun(name, uint64(g*1e9), time.Second)
			s.logger.Info("executor calibrated", "executor", s.exec.Name(), "workload", name, "gunits_per_s", g)
		}
	}
	s.metrics.throughput.Set(s.pace.rate(workload.GemmInt8V1))
}

// providerPass queues the won tasks for a run slot, bids on the open tasks it can run and
// finish in time, and follows its bids.
func (s *Sidecar) providerPass(ctx context.Context) {
	assigned, err := s.chain.tasks(ctx, &computetypes.QueryTasksRequest{Provider: s.provider.String(), State: computetypes.TASK_STATE_ASSIGNED})
	if err != nil {
		s.logger.Debug("query tasks", "err", err)
		return
	}
	held := s.queueRuns(assigned)
	open, err := s.chain.tasks(ctx, &computetypes.QueryTasksRequest{State: computetypes.TASK_STATE_OPEN})
	if err != nil {
		s.logger.Debug("query tasks", "err", err)
		return
	}
	s.bidPass(ctx, open, held, s.pace.latest())
}

// queueRuns puts the won tasks not yet sent in the run queue, earliest assignment deadline
// first, drops the queued ones that are no longer this provider's, and returns the tasks held.
func (s *Sidecar) queueRuns(assigned []computetypes.Task) []computetypes.Task {
	s.mu.Lock()
	for id := range s.sent { // the chain has taken what was sent once the task leaves ASSIGNED
		if !slices.ContainsFunc(assigned, func(t computetypes.Task) bool { return t.Id == id }) {
			delete(s.sent, id)
		}
	}
	var held []computetypes.Task
	for _, t := range assigned {
		if !s.sent[t.Id] {
			held = append(held, t)
		}
	}
	s.mu.Unlock()
	s.runs.keep(func(id uint64) bool {
		return slices.ContainsFunc(held, func(t computetypes.Task) bool { return t.Id == id })
	})
	for _, t := range held {
		if s.runs.add(t.Id, t.AssignmentDeadline, t) {
			s.metrics.wins.Inc()
		}
	}
	s.metrics.tasksHeld.Set(float64(len(held)))
	return held
}

// run executes a won task, stores the result and submits it.
func (s *Sidecar) run(ctx context.Context, t computetypes.Task) {
	sha, size, err := s.execute(ctx, t)
	if errors.Is(err, errInputUnavailable) {
		s.logger.Info("reporting unavailable inputs", "task", t.Id, "err", err)
		if _, err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, &computetypes.MsgReportInputUnavailable{Provider: s.provider.String(), TaskId: t.Id}); err != nil {
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
	msg := &computetypes.MsgSubmitResult{
		Provider: s.provider.String(), TaskId: t.Id, Sha256: sha, Size_: size,
		Uri: s.cfg.PublicURL + "/v1/blobs/" + sha,
	}
	for attempt := 0; attempt < 5; attempt++ {
		if _, err = s.chain.send(ctx, s.cfg.ProviderKey, 300_000, msg); err == nil {
			s.metrics.tasksRun.Inc()
			s.logger.Info("result submitted", "task", t.Id, "sha256", sha)
			s.markSent(t.Id)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	s.logger.Error("submit result", "task", t.Id, "err", err)
}

func (s *Sidecar) markSent(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent[id] = true
}

// execute runs a task on the executor and stores its result, held for the task; it returns the
// result's sha256 and size.
func (s *Sidecar) execute(ctx context.Context, t computetypes.Task) (string, uint64, error) {
	var run func(context.Context, computetypes.Task, io.Writer) error
	switch t.Workload.Params.(type) {
	case *computetypes.Workload_GemmInt8:
		return s.executeGemm(ctx, t)
	case *computetypes.Workload_InferMlpInt8:
		run = s.executeInfer
	case *computetypes.Workload_TrainMlpInt8:
		run = s.executeTrain
	default:
		return "", 0, fmt.Errorf("task %d: workload %s is not run here", t.Id, t.Workload.Name)
	}
	p, err := t.Workload.TypedParams()
	if err != nil {
		return "", 0, err
	}
	w, err := s.store.Create()
	if err != nil {
		return "", 0, fmt.Errorf("store result: %w", err)
	}
	defer w.Abort()
	_, before := s.runs.counts()
	start := time.Now()
	if err := run(ctx, t, w); err != nil {
		return "", 0, err
	}
	if _, after := s.runs.counts(); before == 1 && after == 1 {
		s.pace.observeRun(t.Workload.Name, p.WorkUnits(), time.Since(start))
	}
	sha, err := w.Commit(t.Id)
	if err != nil {
		return "", 0, fmt.Errorf("store result: %w", err)
	}
	return sha, p.ResultSize(), nil
}

// runs says whether the sidecar runs and checks the workload called name.
func runs(name string) bool {
	switch name {
	case workload.GemmInt8V1, workload.InferMlpInt8V1, workload.TrainMlpInt8V1:
		return true
	}
	return false
}

// executeGemm runs a gemm-int8/v1 task; see execute.
func (s *Sidecar) executeGemm(ctx context.Context, t computetypes.Task) (string, uint64, error) {
	shape, err := gemmShape(t)
	if err != nil {
		return "", 0, err
	}
	a, b, err := s.loadInputs(ctx, t, shape)
	if err != nil {
		return "", 0, err
	}
	c := make([]int32, shape.M*shape.N)
	_, before := s.runs.counts()
	start := time.Now()
	if err := s.exec.GemmInt8(shape, a, b, c); err != nil {
		return "", 0, err
	}
	if _, after := s.runs.counts(); before == 1 && after == 1 {
		// only a run that had the executor to itself measures its speed
		s.pace.observeRun(t.Workload.Name, uint64(shape.M)*uint64(shape.N)*uint64(shape.K), time.Since(start))
		s.metrics.throughput.Set(s.pace.rate(workload.GemmInt8V1))
	}
	a, b = nil, nil // the inputs may go while the result is written
	if s.cfg.CorruptResults {
		c[len(c)/2]++
	}
	w, err := s.store.Create()
	if err != nil {
		return "", 0, fmt.Errorf("store result: %w", err)
	}
	defer w.Abort()
	if err := gemm.WriteResult(w, shape, c); err != nil {
		return "", 0, fmt.Errorf("store result: %w", err)
	}
	sha, err := w.Commit(t.Id)
	if err != nil {
		return "", 0, fmt.Errorf("store result: %w", err)
	}
	return sha, uint64(shape.ResultSize()), nil
}

// verifierPass follows the committees this validator sits on: for each round it has not
// checked, and whose part for this member is not yet on chain, it queues a check
// (verify.go), earliest draw first; it keeps what the chain has recorded of its commitment, so
// that Attestations knows whether to commit or reveal.
func (s *Sidecar) verifierPass(ctx context.Context) {
	submitted, err := s.chain.tasks(ctx, &computetypes.QueryTasksRequest{State: computetypes.TASK_STATE_SUBMITTED})
	if err != nil {
		s.logger.Debug("query tasks", "err", err)
		return
	}
	if p, err := s.chain.committeeParams(ctx); err == nil {
		s.mu.Lock()
		s.commitBlocks = int64(p.CommitBlocks)
		s.mu.Unlock()
	}
	s.mu.Lock()
	commitBlocks := s.commitBlocks
	s.mu.Unlock()
	height := s.pace.latest()
	open := map[uint64]bool{}
	for _, t := range submitted {
		if !slices.Contains(t.Committee, s.valoper) {
			continue
		}
		res, err := s.chain.committee(ctx, t.Id)
		if err != nil {
			continue
		}
		c := res.Committee
		open[t.Id] = true
		view := s.viewOf(res)
		s.mu.Lock()
		s.rounds[t.Id] = view
		ch, have := s.checks[t.Id]
		s.mu.Unlock()
		// a new draw (another round, or the same round after the task was reassigned) is checked anew
		if have && ch.round == c.Round && ch.drawn == c.DrawnHeight {
			continue
		}
		if why := settledForMember(view, height, commitBlocks); why != "" {
			s.verifications.remove(t.Id)
			continue
		}
		s.verifications.add(t.Id, c.DrawnHeight, verification{task: t, committee: c})
	}
	// forget tasks that are no longer waiting for a verdict
	s.verifications.keep(func(id uint64) bool { return open[id] })
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
		revealOpen := (v.reveal != 0 && recordedAt >= v.reveal) || recordedAt > v.lastCommit(s.commitBlocks)
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
	return &sidecartypes.AttestationsResponse{Attestations: a.s.Attestations(req.Height), Probes: a.s.ProbeReports()}, nil
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

// throttled holds an executor to a rate of products (Config.ThrottleGMACs), for tests.
type throttled struct {
	gemm.Executor
	gmacs uint64
}

// GemmInt8 implements gemm.Executor: the product, then a sleep for the rest of its time at the
// rate.
func (t throttled) GemmInt8(s gemm.Shape, a, b []int8, c []int32) error {
	start := time.Now()
	err := t.Executor.GemmInt8(s, a, b, c)
	due := time.Duration(uint64(s.M) * uint64(s.N) * uint64(s.K) / t.gmacs) // ns at gmacs·10^9 a second
	time.Sleep(due - time.Since(start))
	return err
}
