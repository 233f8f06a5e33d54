package sidecar

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/cosmos/evm/crypto/ethsecp256k1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	"github.com/opengpu/ogpu/sidecar/server"
	"github.com/opengpu/ogpu/sidecar/store"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// anyReader lets every signed reader have every blob: the access rule has its own tests.
type anyReader struct{}

func (anyReader) Authorize(context.Context, blobauth.Request) error { return nil }

// mlpProvider is a provider sidecar over a fake chain with its blob store served as a real
// provider serves it (signed reads, training states filled on demand).
func mlpProvider(t *testing.T, chain *fakeChain, corrupt bool) (*Sidecar, *store.Store, string) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	s := newSidecar(Config{AllowPrivateFetch: true, MaxConcurrent: 1, CorruptResults: corrupt}, testSidecar(Config{}).logger, chain, st, gemm.CPU{})
	s.provider = sdk.AccAddress("provider------------")
	srv := httptest.NewServer(server.Handler(st, prometheus.NewRegistry(), anyReader{}, trainStates{s}))
	t.Cleanup(srv.Close)
	return s, st, srv.URL
}

// mlpVerifier is a committee member that signs its reads.
func mlpVerifier(t *testing.T, chain *fakeChain) *Sidecar {
	v := testSidecar(Config{})
	v.chain = chain
	key, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	v.signer = ethSigner{key: key}
	return v
}

// runAndSubmit runs task on the provider and records its result on the chain as submitted.
func runAndSubmit(t *testing.T, chain *fakeChain, p *Sidecar, url string, task computetypes.Task) computetypes.Task {
	sha, size, err := p.execute(context.Background(), task)
	require.NoError(t, err)
	task.State, task.Provider = computetypes.TASK_STATE_SUBMITTED, p.provider.String()
	task.Result = computetypes.Blob{Uri: url + "/v1/blobs/" + sha, Sha256: sha, Size_: size}
	chain.setTask(task)
	return task
}

func servedInferTask(srv *blobs, id uint64) computetypes.Task {
	widths := []int{16, 12, 5}
	m := mlp.RandomModel(3, widths)
	x := gemm.Generate(4, 7, widths[0])
	return computetypes.Task{
		Id: id,
		Workload: computetypes.Workload{Name: "infer-mlp-int8/v1", Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{16, 12, 5}, Rows: 7},
		}},
		Inputs: []computetypes.Blob{srv.serve("/model", m.Encode()), srv.serve("/rows", mlp.EncodeRows(x, 7, widths[0]))},
	}
}

// TestInferRunAndCheck: a provider runs an infer-mlp-int8 task from its inputs; a committee
// member finds its result VALID with a digest of its own, and a corrupted one INVALID.
func TestInferRunAndCheck(t *testing.T) {
	srv := newBlobs(t)
	chain := newFakeChain()
	v := mlpVerifier(t, chain)
	member := sdk.ValAddress("member-validator----")
	c := committeeOf(1, v.valoper, 10).Committee

	p, _, url := mlpProvider(t, chain, false)
	task := runAndSubmit(t, chain, p, url, servedInferTask(srv, 1))
	verdict, digest, _ := v.judge(context.Background(), task, c, member)
	require.Equal(t, committeetypes.ATTESTED_VALID, verdict)
	require.Len(t, digest, 32)
	c2 := c
	c2.Seed = []byte("another draw")
	_, other, _ := v.judge(context.Background(), task, c2, member)
	require.NotEqual(t, digest, other, "the digest follows the member's challenge")

	bad, _, badURL := mlpProvider(t, chain, true)
	wrong := runAndSubmit(t, chain, bad, badURL, servedInferTask(srv, 2))
	verdict, _, _ = v.judge(context.Background(), wrong, c, member)
	require.Equal(t, committeetypes.ATTESTED_INVALID, verdict)

	// a report that the inputs are unavailable, while they are served, is false
	reported := servedInferTask(srv, 3)
	reported.InputUnavailable = true
	verdict, _, _ = v.judge(context.Background(), reported, c, member)
	require.Equal(t, committeetypes.ATTESTED_VALID, verdict)
	reported.Inputs[0].Sha256 = reported.Inputs[1].Sha256
	verdict, _, _ = v.judge(context.Background(), reported, c, member)
	require.Equal(t, committeetypes.ATTESTED_INPUT_UNAVAILABLE, verdict)
}

func servedTrainTask(srv *blobs, id uint64, steps uint32) computetypes.Task {
	ds := &mlp.Dataset{Rows: 40, Cols: 8, Classes: 3, Features: gemm.Generate(9, 40, 8), Labels: make([]uint8, 40)}
	for i := range ds.Labels {
		ds.Labels[i] = uint8(i % 3)
	}
	return computetypes.Task{
		Id: id,
		Workload: computetypes.Workload{Name: "train-mlp-int8/v1", Params: &computetypes.Workload_TrainMlpInt8{
			TrainMlpInt8: &computetypes.TrainMlpInt8Params{Widths: []uint32{8, 6, 3}, DatasetRows: 40, Steps: steps, Batch: 4, LrShift: 1, Seed: 7},
		}},
		Inputs:     []computetypes.Blob{srv.serve("/dataset", ds.Encode())},
		InputNonce: []byte("assignment"),
	}
}

// TestTrainRunServesStatesAndCheck: a provider runs a train-mlp-int8 task keeping only
// checkpoints, and serves any state a member samples by replaying from the one before it, also
// after a restart; the member finds the result VALID. A provider that skipped steps cannot
// serve states that hash as its result says, and is found out.
func TestTrainRunServesStatesAndCheck(t *testing.T) {
	srv := newBlobs(t)
	chain := newFakeChain()
	v := mlpVerifier(t, chain)
	member := sdk.ValAddress("member-validator----")
	c := committeeOf(1, v.valoper, 10).Committee

	const steps = 130
	require.Equal(t, 3, checkpointEvery(steps))
	p, st, url := mlpProvider(t, chain, false)
	task := runAndSubmit(t, chain, p, url, servedTrainTask(srv, 1, steps))
	holds, err := st.Holds()
	require.NoError(t, err)
	require.Len(t, holds[0].Blobs, 1+44+1+1, "the dataset, the checkpoints at 0, 3, …, 129, the last state and the result")

	verdict, digest, _ := v.judge(context.Background(), task, c, member)
	require.Equal(t, committeetypes.ATTESTED_VALID, verdict)
	require.Len(t, digest, 32)

	// after a restart the provider reads its run back from the store and still serves states
	again := newSidecar(Config{AllowPrivateFetch: true}, p.logger, chain, st, gemm.CPU{})
	again.provider = p.provider
	params, err := trainParams(task)
	require.NoError(t, err)
	res, err := again.trainRunOf(context.Background(), task.Id)
	require.NoError(t, err)
	require.Len(t, res.hashes, steps+1)
	require.NoError(t, again.materialize(context.Background(), task.Id, hexOf(res.hashes[steps-2][:])))
	b, err := st.Get(hexOf(res.hashes[steps-2][:]))
	require.NoError(t, err)
	state, err := mlp.DecodeState(params, b)
	require.NoError(t, err)
	require.Equal(t, steps-2, state.Step)
	require.Error(t, again.materialize(context.Background(), task.Id, hexOf(make([]byte, 32))), "no such state")

	// a corrupted model is caught whatever the sample: the final state is always checked
	bad, _, badURL := mlpProvider(t, chain, true)
	wrong := runAndSubmit(t, chain, bad, badURL, servedTrainTask(srv, 2, steps))
	verdict, _, _ = v.judge(context.Background(), wrong, c, member)
	require.Equal(t, committeetypes.ATTESTED_INVALID, verdict)
}

// TestBadMLPInputsAreTheClients: inputs that match their declared size and hash but not the
// task (a model that does not decode, a dataset of other classes) are the client's fault: the
// provider reports them unavailable instead of missing its deadline, and a member confirms it.
func TestBadMLPInputsAreTheClients(t *testing.T) {
	srv := newBlobs(t)
	chain := newFakeChain()
	v := mlpVerifier(t, chain)
	member := sdk.ValAddress("member-validator----")
	c := committeeOf(1, v.valoper, 10).Committee
	p, _, _ := mlpProvider(t, chain, false)

	infer := servedInferTask(srv, 1)
	model := mlp.RandomModel(3, []int{16, 12, 5})
	model.Layers[0].Mult = 0 // a hidden layer must scale its accumulators
	infer.Inputs[0] = srv.serve("/bad-model", model.Encode())

	ds := &mlp.Dataset{Rows: 40, Cols: 8, Classes: 4, Features: gemm.Generate(9, 40, 8), Labels: make([]uint8, 40)}
	train := servedTrainTask(srv, 2, 10)
	train.Inputs[0] = srv.serve("/four-classes", ds.Encode()) // the task's model has 3 outputs

	for _, task := range []computetypes.Task{infer, train} {
		_, _, err := p.execute(context.Background(), task)
		require.ErrorIs(t, err, errInputUnavailable, task.Workload.Name)
		task.InputUnavailable = true
		verdict, _, _ := v.judge(context.Background(), task, c, member)
		require.Equal(t, committeetypes.ATTESTED_INPUT_UNAVAILABLE, verdict, task.Workload.Name)
	}
}
