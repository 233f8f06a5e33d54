package sidecar

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"cosmossdk.io/log/v2"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// Probes (docs/streams.md): in every probe round of every LIVE stream, the verifier sends each
// serving replica one row derived from the hash of the round's first block, signed with the
// validator's account key, computes the answer itself, and reports in its vote extension
// whether the replica gave exactly that answer within max_probe_latency_ms.

// maxConcurrentProbes bounds the replicas probed at once.
const maxConcurrentProbes = 8

// probeModelRetry is how long a stream's model that could not be fetched is left before the
// next try; its replicas are not reported on meanwhile.
const probeModelRetry = time.Minute

// maxProbeModelBytes bounds the models a prober holds at once, whatever clients open: a stream
// whose model does not fit is not probed (no report) until others close.
const maxProbeModelBytes = 1 << 30

// probeModelFetch bounds one model download of a probe pass, so that a client's slow model
// server delays the pass by at most this.
const probeModelFetch = 30 * time.Second

// probeLedger is what the prober reads from the chain.
type probeLedger interface {
	// streams lists every stream req selects, all pages.
	streams(ctx context.Context, req *computetypes.QueryStreamsRequest) ([]computetypes.Stream, error)
	streamParams(ctx context.Context) (computetypes.StreamParams, error)
	// blockHash is the header hash of the block at height.
	blockHash(ctx context.Context, height int64) ([]byte, error)
}

// probeChain is the prober's view of the chain: the replica's stream queries, and block hashes
// from CometBFT's RPC (the header alone) when the sidecar has it, else over gRPC.
type probeChain struct {
	*chain
	rpc *rpchttp.HTTP
}

func newProbeChain(c *chain, rpcURL string) probeChain {
	pc := probeChain{chain: c}
	if rpcURL != "" {
		pc.rpc, _ = rpchttp.New(rpcURL, "/websocket") // without it, gRPC answers
	}
	return pc
}

// blockHash implements probeLedger.
func (c probeChain) blockHash(ctx context.Context, height int64) ([]byte, error) {
	if c.rpc != nil {
		if res, err := c.rpc.Header(ctx, &height); err == nil && res.Header != nil {
			return res.Header.Hash(), nil
		}
	}
	res, err := cmtservice.NewServiceClient(c.conn).GetBlockByHeight(ctx, &cmtservice.GetBlockByHeightRequest{Height: height})
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	if res.BlockId == nil || len(res.BlockId.Hash) == 0 {
		return nil, fmt.Errorf("block %d: the node sent no block id", height)
	}
	return res.BlockId.Hash, nil
}

// prober is the verifier's probing of stream replicas: what it last found on each, and the
// models it computes the answers with.
type prober struct {
	ledger  probeLedger
	signer  receiptSigner // the validator's account key
	self    string        // the validator's account: its own replicas are not probed
	chainID string
	client  *http.Client

	mu        sync.Mutex
	running   bool
	reports   map[probeTarget]computetypes.ProbeReport // the latest round's finding on each replica
	models    map[uint64]*mlp.Model
	modelSize map[uint64]uint64    // the blob size of each model held; their sum is at most maxProbeModelBytes
	modelMiss map[uint64]time.Time // when a stream's model last could not be had
}

// probeTarget is one replica of one stream.
type probeTarget struct {
	stream   uint64
	provider string
}

func newProber(ledger probeLedger, signer receiptSigner, self, chainID string, client *http.Client) *prober {
	return &prober{
		ledger: ledger, signer: signer, self: self, chainID: chainID, client: client,
		reports: map[probeTarget]computetypes.ProbeReport{}, models: map[uint64]*mlp.Model{}, modelSize: map[uint64]uint64{}, modelMiss: map[uint64]time.Time{},
	}
}

// ProbeReports are the sidecar's latest findings, one per replica, in (stream, provider) order:
// what Attestations adds to the vote extension. Round r's report stays until round r+1's
// replaces it, or the replica no longer serves.
func (s *Sidecar) ProbeReports() []computetypes.ProbeReport {
	if s.probes == nil {
		return nil
	}
	return s.probes.latest()
}

func (p *prober) latest() []computetypes.ProbeReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]computetypes.ProbeReport, 0, len(p.reports))
	for _, r := range p.reports {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b computetypes.ProbeReport) int {
		return cmp.Or(cmp.Compare(a.StreamId, b.StreamId), cmp.Compare(a.Provider, b.Provider))
	})
	return out
}

// probePass starts a probe pass in the background unless one is running: probes wait up to
// max_probe_latency_ms each, which the verifier's other work does not.
func (s *Sidecar) probePass(ctx context.Context) {
	p := s.probes
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return
	}
	p.running = true
	p.mu.Unlock()
	go func() {
		defer func() {
			p.mu.Lock()
			p.running = false
			p.mu.Unlock()
		}()
		if err := s.probeRound(ctx, s.pace.latest()); err != nil {
			s.logger.Debug("probe pass", "err", err)
		}
	}()
}

// probeJob is one probe to send: a replica in a round.
type probeJob struct {
	stream  computetypes.Stream
	replica computetypes.Replica
	round   uint64
	start   int64 // the round's first block
}

// probeRound probes, at height, every serving replica of every LIVE stream that has no report
// for the stream's current round yet, at most maxConcurrentProbes at once, and forgets the
// reports on replicas that no longer serve.
func (s *Sidecar) probeRound(ctx context.Context, height int64) error {
	p := s.probes
	params, err := p.ledger.streamParams(ctx)
	if err != nil {
		return err
	}
	if params.ProbePeriod == 0 || params.MaxProbeLatencyMs == 0 {
		return errors.New("stream params: no probe period or latency")
	}
	live, err := p.ledger.streams(ctx, &computetypes.QueryStreamsRequest{State: computetypes.STREAM_STATE_LIVE})
	if err != nil {
		return err
	}
	serving := map[probeTarget]bool{}
	var jobs []probeJob
	p.mu.Lock()
	for _, st := range live {
		if st.LiveHeight <= 0 || height < st.LiveHeight {
			continue
		}
		round := uint64(height-st.LiveHeight) / params.ProbePeriod
		start := st.LiveHeight + int64(round*params.ProbePeriod)
		for _, r := range st.Serving {
			key := probeTarget{st.Id, r.Provider}
			serving[key] = true
			if r.Provider == p.self {
				continue
			}
			if have, ok := p.reports[key]; ok && have.Round >= round {
				continue
			}
			jobs = append(jobs, probeJob{stream: st, replica: r, round: round, start: start})
		}
	}
	for key := range p.reports {
		if !serving[key] {
			delete(p.reports, key)
		}
	}
	for id := range p.models {
		if !slices.ContainsFunc(live, func(st computetypes.Stream) bool { return st.Id == id }) {
			delete(p.models, id)
			delete(p.modelSize, id)
			delete(p.modelMiss, id)
		}
	}
	p.mu.Unlock()

	latency := time.Duration(params.MaxProbeLatencyMs) * time.Millisecond
	sem := make(chan struct{}, maxConcurrentProbes)
	var wg sync.WaitGroup
	hashes := map[int64][]byte{} // the replicas of a stream share their round's first block
	for _, job := range jobs {
		m, err := s.probeModel(ctx, job.stream)
		if err != nil {
			s.logger.Debug("probe: no model; replica not reported", "stream", job.stream.Id, "err", err)
			continue
		}
		hash, ok := hashes[job.start]
		if !ok {
			if hash, err = p.ledger.blockHash(ctx, job.start); err != nil {
				s.logger.Debug("probe: no block hash", "stream", job.stream.Id, "height", job.start, "err", err)
				continue
			}
			hashes[job.start] = hash
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, err := p.probe(ctx, job, m, hash, latency)
			if err != nil {
				// nothing can be said: no report
				s.logger.Error("probe", "stream", job.stream.Id, "provider", job.replica.Provider, "round", job.round, "err", err)
				return
			}
			p.mu.Lock()
			p.reports[probeTarget{job.stream.Id, job.replica.Provider}] = computetypes.ProbeReport{
				StreamId: job.stream.Id, Provider: job.replica.Provider, Round: job.round, Ok: ok,
			}
			p.mu.Unlock()
			s.logger.Debug("replica probed", "stream", job.stream.Id, "provider", job.replica.Provider, "round", job.round, "ok", ok)
		})
	}
	wg.Wait()
	return nil
}

// probeModel is the stream's model, fetched once.
func (s *Sidecar) probeModel(ctx context.Context, st computetypes.Stream) (*mlp.Model, error) {
	p := s.probes
	p.mu.Lock()
	m, ok := p.models[st.Id]
	missed := p.modelMiss[st.Id]
	p.mu.Unlock()
	if ok {
		return m, nil
	}
	if !missed.IsZero() && time.Since(missed) < probeModelRetry {
		return nil, fmt.Errorf("stream %d: model unavailable since %s", st.Id, missed.Format(time.RFC3339))
	}
	p.mu.Lock()
	held := uint64(0)
	for _, n := range p.modelSize {
		held += n
	}
	p.mu.Unlock()
	if held+st.Model.Size_ > maxProbeModelBytes {
		return nil, fmt.Errorf("stream %d: its model of %d bytes does not fit beside the %d held (at most %d)", st.Id, st.Model.Size_, held, maxProbeModelBytes)
	}
	fctx, cancel := context.WithTimeout(ctx, probeModelFetch)
	defer cancel()
	m, err := s.fetchProbeModel(fctx, st)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.modelMiss[st.Id] = time.Now()
		return nil, err
	}
	p.models[st.Id], p.modelSize[st.Id] = m, st.Model.Size_
	delete(p.modelMiss, st.Id)
	return m, nil
}

// fetchProbeModel downloads a stream's model for probes (downloadModel); unlike a replica's,
// the verifier's copy is not kept in the blob store.
func (s *Sidecar) fetchProbeModel(ctx context.Context, st computetypes.Stream) (*mlp.Model, error) {
	m, _, err := s.downloadModel(ctx, st)
	return m, err
}

// probeInput is the rows blob of a probe: one row of cols int8 values from SplitMix64 seeded
// with the first 8 bytes (big-endian) of sha256(block hash ‖ stream ‖ provider ‖ round), the
// stream and round as 8 big-endian bytes. Every validator sends a replica the same row in a
// round, and nobody knew it before the round's first block.
func probeInput(blockHash []byte, stream uint64, provider string, round uint64, cols int) []byte {
	h := sha256.New()
	h.Write(blockHash)
	h.Write(binary.BigEndian.AppendUint64(nil, stream))
	h.Write([]byte(provider))
	h.Write(binary.BigEndian.AppendUint64(nil, round))
	seed := binary.BigEndian.Uint64(h.Sum(nil))
	return mlp.EncodeRows(gemm.Generate(seed, 1, cols), 1, cols)
}

// probe sends job's replica its probe and says whether the answer was the expected one, whole,
// within latency. An error says nothing could be found (the probe could not be made or signed).
func (p *prober) probe(ctx context.Context, job probeJob, m *mlp.Model, blockHash []byte, latency time.Duration) (bool, error) {
	cols := m.Widths()[0]
	blob := probeInput(blockHash, job.stream.Id, job.replica.Provider, job.round, cols)
	x, _, _, err := mlp.DecodeRows(blob)
	if err != nil {
		return false, err
	}
	var want bytes.Buffer
	if err := mlp.Infer(gemm.CPU{}, m, x, 1, &want); err != nil {
		return false, fmt.Errorf("expected answer: %w", err)
	}
	sum := sha256.Sum256(blob)
	sig, pub, err := p.signer.sign(computetypes.ProbeSignBytes(p.chainID, job.stream.Id, job.replica.Provider, job.round, hex.EncodeToString(sum[:])))
	if err != nil {
		return false, err
	}
	url := strings.TrimRight(job.replica.Endpoint, "/") + "/v1/streams/" + strconv.FormatUint(job.stream.Id, 10) + "/infer"
	cctx, cancel := context.WithTimeout(ctx, latency)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, url, bytes.NewReader(blob))
	if err != nil {
		return false, nil // an endpoint that is no URL answers no probe
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(headerPubkey, base64.StdEncoding.EncodeToString(pub.Bytes()))
	req.Header.Set(headerProbe, strconv.FormatUint(job.round, 10))
	req.Header.Set(headerSignature, base64.StdEncoding.EncodeToString(sig))
	start := time.Now()
	res, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil { // the sidecar is stopping, not the replica failing
			return false, ctx.Err()
		}
		return false, nil
	}
	defer res.Body.Close()
	got, err := io.ReadAll(io.LimitReader(res.Body, int64(want.Len())+1))
	took := time.Since(start)
	return err == nil && res.StatusCode == http.StatusOK && took <= latency && bytes.Equal(got, want.Bytes()), nil
}

// probesOf is the prober of a verifier whose validator account is acc, signing with acc's key
// in the sidecar's keyring; without that key the verifier sends no probes (and says so).
func probesOf(cfg Config, c *chain, acc sdk.AccAddress, logger log.Logger) *prober {
	kr := c.kr
	if kr == nil {
		var err error
		if kr, err = c.cl.OpenKeyring(cfg.KeyringBackend, cfg.Home); err != nil {
			logger.Error("no probes of stream replicas: the keyring cannot be opened", "err", err)
			return nil
		}
	}
	rec, err := kr.KeyByAddress(acc)
	if err != nil {
		logger.Error("no probes of stream replicas: the validator's account key is not in the keyring", "account", acc.String(), "err", err)
		return nil
	}
	return newProber(newProbeChain(c, cfg.RPC), newKeyringSigner(kr, rec.Name), acc.String(), cfg.ChainID, newFetchClient(cfg.AllowPrivateFetch))
}
