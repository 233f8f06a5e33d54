package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/evm/crypto/ethsecp256k1"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

const probeChainID = "ogpu-probe-test"

// fakeProbeLedger is the chain as the prober reads it.
type fakeProbeLedger struct {
	mu     sync.Mutex
	live   []computetypes.Stream
	params computetypes.StreamParams
}

func (f *fakeProbeLedger) streams(_ context.Context, req *computetypes.QueryStreamsRequest) ([]computetypes.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []computetypes.Stream
	for _, st := range f.live {
		if req.State == 0 || st.State == req.State {
			out = append(out, st)
		}
	}
	return out, nil
}

func (f *fakeProbeLedger) streamParams(context.Context) (computetypes.StreamParams, error) {
	return f.params, nil
}

// blockHash is a hash of the height.
func (f *fakeProbeLedger) blockHash(_ context.Context, height int64) ([]byte, error) {
	h := sha256.Sum256([]byte("block " + strconv.FormatInt(height, 10)))
	return h[:], nil
}

type probeKeySigner struct{ key *ethsecp256k1.PrivKey }

func (k probeKeySigner) sign(msg []byte) ([]byte, cryptotypes.PubKey, error) {
	sig, err := k.key.Sign(msg)
	return sig, k.key.PubKey(), err
}

// probedReplica is an httptest replica that checks each probe as docs/streams.md has it and
// answers it correctly, wrongly, too slowly or not at all; it keeps the rows it was sent.
type probedReplica struct {
	srv      *httptest.Server
	provider string
	mu       sync.Mutex
	bodies   [][]byte
	rounds   []uint64
}

type answer int

const (
	answerCorrect answer = iota
	answerWrong
	answerSlow
	answerNone
)

func newProbedReplica(t *testing.T, name string, m *mlp.Model, how answer, latency time.Duration) *probedReplica {
	r := &probedReplica{provider: sdk.AccAddress([]byte(name)).String()}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		require.NoError(t, err)
		require.Equal(t, "/v1/streams/7/infer", req.URL.Path)
		require.Equal(t, "application/octet-stream", req.Header.Get("Content-Type"))
		pk, err := base64.StdEncoding.DecodeString(req.Header.Get(headerPubkey))
		require.NoError(t, err)
		sig, err := base64.StdEncoding.DecodeString(req.Header.Get(headerSignature))
		require.NoError(t, err)
		round, err := strconv.ParseUint(req.Header.Get(headerProbe), 10, 64)
		require.NoError(t, err)
		sum := sha256.Sum256(body)
		pub := &ethsecp256k1.PubKey{Key: pk}
		require.True(t, pub.VerifySignature(computetypes.ProbeSignBytes(probeChainID, 7, r.provider, round, hex.EncodeToString(sum[:])), sig),
			"the probe is signed by the validator's account over its sign bytes")
		x, rows, cols, err := mlp.DecodeRows(body)
		require.NoError(t, err)
		require.Equal(t, 1, rows)
		require.Equal(t, 16, cols)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.rounds = append(r.rounds, round)
		r.mu.Unlock()
		var out bytes.Buffer
		require.NoError(t, mlp.Infer(gemm.CPU{}, m, x, 1, &out))
		res := out.Bytes()
		switch how {
		case answerWrong:
			res[len(res)-1]++
		case answerSlow:
			time.Sleep(latency + 200*time.Millisecond)
		}
		_, _ = w.Write(res)
	}))
	t.Cleanup(r.srv.Close)
	if how == answerNone {
		r.srv.Close()
	}
	return r
}

func (r *probedReplica) sent() ([][]byte, []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]uint64(nil), r.rounds...)
}

// probeFixture is stream 7, live from height 100 with probe rounds of 5 blocks and a 300 ms
// latency cap, served by a correct, a wrong, a slow and a dead replica and by the validator's
// own provider.
type probeFixture struct {
	model    *mlp.Model
	blobs    *blobs
	ledger   *fakeProbeLedger
	replicas map[answer]*probedReplica
	self     string
	stream   computetypes.Stream
}

const probeLatency = 300 * time.Millisecond

func newProbeFixture(t *testing.T) *probeFixture {
	f := &probeFixture{model: mlp.RandomModel(3, []int{16, 8, 4}), blobs: newBlobs(t), replicas: map[answer]*probedReplica{}}
	f.self = sdk.AccAddress([]byte("validator-account...")).String()
	f.stream = computetypes.Stream{
		Id: 7, State: computetypes.STREAM_STATE_LIVE, LiveHeight: 100, Replicas: 5,
		Workload: computetypes.Workload{Name: "infer-mlp-int8/v1", Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{16, 8, 4}, Rows: 4},
		}},
		Model: f.blobs.serve("/model", f.model.Encode()),
	}
	for i, how := range []answer{answerCorrect, answerWrong, answerSlow, answerNone} {
		r := newProbedReplica(t, "provider-"+strconv.Itoa(i)+"..........", f.model, how, probeLatency)
		f.replicas[how] = r
		f.stream.Serving = append(f.stream.Serving, computetypes.Replica{Provider: r.provider, Endpoint: r.srv.URL + "/", Slot: uint32(i)})
	}
	own := newProbedReplica(t, "validator-account...", f.model, answerCorrect, probeLatency)
	require.Equal(t, f.self, own.provider)
	f.replicas[answer(99)] = own
	f.stream.Serving = append(f.stream.Serving, computetypes.Replica{Provider: own.provider, Endpoint: own.srv.URL, Slot: 4})
	params := computetypes.DefaultStreamParams()
	params.ProbePeriod, params.MaxProbeLatencyMs = 5, uint32(probeLatency/time.Millisecond)
	f.ledger = &fakeProbeLedger{live: []computetypes.Stream{f.stream}, params: params}
	return f
}

// verifier is a validator's sidecar that probes with a fresh account key.
func (f *probeFixture) verifier(t *testing.T) *Sidecar {
	key, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	s := newSidecar(Config{AllowPrivateFetch: true, ChainID: probeChainID}, log.NewNopLogger(), newFakeChain(), nil, gemm.CPU{})
	s.probes = newProber(f.ledger, probeKeySigner{key}, f.self, probeChainID, s.fetch)
	return s
}

func TestProbeReplicas(t *testing.T) {
	f := newProbeFixture(t)
	s := f.verifier(t)
	ctx := context.Background()

	require.NoError(t, s.probeRound(ctx, 112)) // round 2: heights 110..114
	want := func(round uint64) []computetypes.ProbeReport {
		out := []computetypes.ProbeReport{
			{StreamId: 7, Provider: f.replicas[answerCorrect].provider, Round: round, Ok: true},
			{StreamId: 7, Provider: f.replicas[answerWrong].provider, Round: round, Ok: false},
			{StreamId: 7, Provider: f.replicas[answerSlow].provider, Round: round, Ok: false},
			{StreamId: 7, Provider: f.replicas[answerNone].provider, Round: round, Ok: false},
		}
		sortReports(out)
		return out
	}
	require.Equal(t, want(2), s.ProbeReports(), "ok only for the right answer in time; the validator's own replica is not probed")
	bodies, _ := f.replicas[answer(99)].sent()
	require.Empty(t, bodies, "its own provider is never probed")

	// within the round nothing is sent again; its reports stay
	require.NoError(t, s.probeRound(ctx, 114))
	bodies, rounds := f.replicas[answerCorrect].sent()
	require.Len(t, bodies, 1)
	require.Equal(t, []uint64{2}, rounds)
	require.Equal(t, want(2), s.ProbeReports())

	// the next round replaces them; the model was fetched once
	require.NoError(t, s.probeRound(ctx, 115))
	require.Equal(t, want(3), s.ProbeReports())
	_, rounds = f.replicas[answerCorrect].sent()
	require.Equal(t, []uint64{2, 3}, rounds)
	require.Equal(t, int32(1), f.blobs.hits.Load(), "the model is fetched once")

	// a replica that no longer serves is no longer reported on
	f.ledger.mu.Lock()
	f.ledger.live[0].Serving = f.ledger.live[0].Serving[:1]
	f.ledger.mu.Unlock()
	require.NoError(t, s.probeRound(ctx, 116))
	require.Equal(t, []computetypes.ProbeReport{{StreamId: 7, Provider: f.replicas[answerCorrect].provider, Round: 3, Ok: true}}, s.ProbeReports())

	// and a stream that is no longer LIVE not at all
	f.ledger.mu.Lock()
	f.ledger.live[0].State = computetypes.STREAM_STATE_PAUSED
	f.ledger.mu.Unlock()
	require.NoError(t, s.probeRound(ctx, 121))
	require.Empty(t, s.ProbeReports())
}

func sortReports(r []computetypes.ProbeReport) {
	slices.SortFunc(r, func(a, b computetypes.ProbeReport) int { return strings.Compare(a.Provider, b.Provider) })
}

// TestProbeInputSameOnEveryValidator: two validators probing a replica in a round send it the
// same row, the one the round's first block gives; another round, replica or block gives
// another.
func TestProbeInputSameOnEveryValidator(t *testing.T) {
	f := newProbeFixture(t)
	ctx := context.Background()
	a, b := f.verifier(t), f.verifier(t)
	require.NoError(t, a.probeRound(ctx, 111))
	require.NoError(t, b.probeRound(ctx, 114))
	r := f.replicas[answerCorrect]
	bodies, rounds := r.sent()
	require.Equal(t, []uint64{2, 2}, rounds)
	require.Equal(t, bodies[0], bodies[1], "the same row from every validator in a round")
	hash, err := f.ledger.blockHash(ctx, 110)
	require.NoError(t, err)
	require.Equal(t, probeInput(hash, 7, r.provider, 2, 16), bodies[0], "the row of the round's first block")
	require.Len(t, bodies[0], int(mlp.RowsSize(1, 16)))

	other, err := f.ledger.blockHash(ctx, 115)
	require.NoError(t, err)
	require.NotEqual(t, bodies[0], probeInput(hash, 7, r.provider, 3, 16), "another round")
	require.NotEqual(t, bodies[0], probeInput(hash, 7, f.replicas[answerWrong].provider, 2, 16), "another replica")
	require.NotEqual(t, bodies[0], probeInput(hash, 8, r.provider, 2, 16), "another stream")
	require.NotEqual(t, bodies[0], probeInput(other, 7, r.provider, 2, 16), "another block")
}

// A prober holds at most maxProbeModelBytes of models: a stream whose model would not fit is not
// probed, and nothing is fetched for it.
func TestProbeModelsAreBounded(t *testing.T) {
	s := &Sidecar{probes: newProber(nil, nil, "", "", nil)}
	s.probes.modelSize[1] = maxProbeModelBytes - 10
	st := computetypes.Stream{Id: 2, Model: computetypes.Blob{Uri: "http://unreachable.invalid/model", Size_: 11}}
	_, err := s.probeModel(t.Context(), st)
	require.ErrorContains(t, err, "does not fit")
	require.NotContains(t, s.probes.modelMiss, uint64(2), "nothing was fetched")
}
