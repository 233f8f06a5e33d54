package sidecar

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

	mu        sync.Mutex
	bid       map[uint64]bool                       // tasks bid on
	running   map[uint64]bool                       // won tasks being run
	sent      map[uint64]bool                       // won tasks whose result or report is sent
	attested  map[uint64]committeetypes.Attestation // verdicts for the node's next votes
	verifying map[uint64]bool
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
		bid: map[uint64]bool{}, running: map[uint64]bool{}, sent: map[uint64]bool{}, attested: map[uint64]committeetypes.Attestation{}, verifying: map[uint64]bool{},
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
	}
	return s, nil
}

// Run serves and works until ctx ends.
func (s *Sidecar) Run(ctx context.Context) error {
	errs := make(chan error, 2)
	if s.cfg.Provider {
		srv := &http.Server{Addr: s.cfg.Listen, Handler: server.Handler(s.store, s.metrics.reg), ReadHeaderTimeout: 10 * time.Second}
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
	shape, a, b, err := matrices(ctx, t)
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

// verifierPass checks the results of the tasks whose committee includes this validator.
func (s *Sidecar) verifierPass(ctx context.Context) {
	submitted, ok := s.tasks(ctx, &computetypes.QueryTasksRequest{State: computetypes.TASK_STATE_SUBMITTED})
	if !ok {
		return
	}
	open := map[uint64]bool{}
	for _, t := range submitted {
		open[t.Id] = true
		if !slices.Contains(t.Committee, s.valoper) {
			continue
		}
		s.mu.Lock()
		_, done := s.attested[t.Id]
		busy := s.verifying[t.Id]
		if !done && !busy {
			s.verifying[t.Id] = true
		}
		s.mu.Unlock()
		if done || busy {
			continue
		}
		go func(t computetypes.Task) {
			v := s.verify(ctx, t)
			sha, _ := hex.DecodeString(t.Result.Sha256)
			s.mu.Lock()
			s.attested[t.Id] = committeetypes.Attestation{TaskId: t.Id, ResultSha256: sha, Verdict: v}
			delete(s.verifying, t.Id)
			s.mu.Unlock()
			s.metrics.verifications.WithLabelValues(v.String()).Inc()
			s.logger.Info("result checked", "task", t.Id, "verdict", v)
		}(t)
	}
	// forget verdicts on tasks that are no longer waiting for one
	s.mu.Lock()
	for id := range s.attested {
		if !open[id] {
			delete(s.attested, id)
		}
	}
	s.mu.Unlock()
}

// verify checks a submitted task. For a result: it fetches it (at most its declared size),
// checks its hash and runs Freivalds on the task's inputs. For a report that the inputs are
// unavailable: it tries to fetch them, and attests INPUT_UNAVAILABLE only if it cannot.
func (s *Sidecar) verify(ctx context.Context, t computetypes.Task) committeetypes.AttestedVerdict {
	shape, a, b, err := matrices(ctx, t)
	switch {
	case errors.Is(err, errInputUnavailable):
		return committeetypes.ATTESTED_INPUT_UNAVAILABLE
	case err != nil:
		return committeetypes.ATTESTED_INVALID
	case t.InputUnavailable:
		return committeetypes.ATTESTED_VALID // the inputs are there: the report was false
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, t.Result.Uri, nil)
	if err != nil {
		return committeetypes.ATTESTED_UNAVAILABLE
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return committeetypes.ATTESTED_UNAVAILABLE
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, int64(t.Result.Size_)+1))
	if err != nil || res.StatusCode != http.StatusOK || uint64(len(body)) != t.Result.Size_ {
		return committeetypes.ATTESTED_UNAVAILABLE
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != t.Result.Sha256 {
		return committeetypes.ATTESTED_UNAVAILABLE
	}
	if err := gemm.Verify(bytes.NewReader(body), shape, a, b); err != nil {
		return committeetypes.ATTESTED_INVALID
	}
	return committeetypes.ATTESTED_VALID
}

// Attestations are the verdicts waiting to go into the node's votes, in task order.
func (s *Sidecar) Attestations() []committeetypes.Attestation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]committeetypes.Attestation, 0, len(s.attested))
	for _, a := range s.attested {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b committeetypes.Attestation) int { return cmp.Compare(a.TaskId, b.TaskId) })
	return out
}

type attestorService struct{ s *Sidecar }

func (a attestorService) Attestations(context.Context, *sidecartypes.AttestationsRequest) (*sidecartypes.AttestationsResponse, error) {
	return &sidecartypes.AttestationsResponse{Attestations: a.s.Attestations()}, nil
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
