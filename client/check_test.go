package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// blobOf serves body and names it as a task's blob.
func blobOf(t *testing.T, body []byte) computetypes.Blob {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(body)
	return computetypes.Blob{Uri: srv.URL, Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(body))}
}

func TestCheckResult(t *testing.T) {
	shape := gemm.Shape{M: 5, N: 3, K: 4}
	params := &computetypes.GemmInt8Params{M: 5, N: 3, K: 4, SeedA: 11, SeedB: 12}
	seeded := computetypes.Task{Id: 1, InputNonce: []byte("nonce"), Workload: computetypes.Workload{Params: &computetypes.Workload_GemmInt8{GemmInt8: params}}}
	seedA, seedB, ok := seeded.GemmInputSeeds()
	require.True(t, ok)
	a, b := gemm.Generate(seedA, shape.M, shape.K), gemm.Generate(seedB, shape.K, shape.N)
	right := gemm.Naive(shape, a, b)
	wrong := append([]int32(nil), right...)
	wrong[4]++

	uploaded := seeded
	uploaded.Inputs = []computetypes.Blob{blobOf(t, int8Bytes(a)), blobOf(t, int8Bytes(b))}

	c := New(nil, nil)
	for name, task := range map[string]computetypes.Task{"seeded": seeded, "uploaded": uploaded} {
		task.Result = blobOf(t, gemm.Encode(shape, right))
		require.NoError(t, c.CheckResult(context.Background(), task, nil), name)

		task.Result = blobOf(t, gemm.Encode(shape, wrong))
		require.ErrorIs(t, c.CheckResult(context.Background(), task, nil), gemm.ErrWrongResult, name)

		task.Result = blobOf(t, gemm.Encode(shape, right))
		task.Result.Size_--
		err := c.CheckResult(context.Background(), task, nil)
		require.ErrorIs(t, err, ErrBlobMismatch, "%s: a result that is not the declared blob is not checked", name)
		require.NotErrorIs(t, err, gemm.ErrWrongResult, name)
	}
}

func int8Bytes(m []int8) []byte {
	out := make([]byte, len(m))
	for i, v := range m {
		out[i] = byte(v)
	}
	return out
}

// TestCheckMLPResults: an inference result is checked layer by layer against the task's model
// and rows; a training result's layout and first state against its seed. A wrong one wraps
// ErrWrongResult.
func TestCheckMLPResults(t *testing.T) {
	c := New(nil, nil)
	widths := []int{12, 8, 4}
	m := mlp.RandomModel(2, widths)
	x := gemm.Generate(3, 6, widths[0])
	var out bytes.Buffer
	require.NoError(t, mlp.Infer(gemm.CPU{}, m, x, 6, &out))
	infer := computetypes.Task{
		Id: 1, Workload: computetypes.Workload{Params: &computetypes.Workload_InferMlpInt8{InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{12, 8, 4}, Rows: 6}}},
		Inputs: []computetypes.Blob{blobOf(t, m.Encode()), blobOf(t, mlp.EncodeRows(x, 6, widths[0]))},
		Result: blobOf(t, out.Bytes()),
	}
	require.NoError(t, c.CheckResult(context.Background(), infer, nil))
	wrong := bytes.Clone(out.Bytes())
	wrong[len(wrong)-1] ^= 1 // the last row's argmax
	infer.Result = blobOf(t, wrong)
	require.ErrorIs(t, c.CheckResult(context.Background(), infer, nil), ErrWrongResult)

	ds := &mlp.Dataset{Rows: 20, Cols: 12, Classes: 4, Features: gemm.Generate(4, 20, 12), Labels: make([]uint8, 20)}
	train := computetypes.Task{
		Id: 2, InputNonce: []byte("assignment"),
		Workload: computetypes.Workload{Params: &computetypes.Workload_TrainMlpInt8{TrainMlpInt8: &computetypes.TrainMlpInt8Params{Widths: []uint32{12, 8, 4}, DatasetRows: 20, Steps: 5, Batch: 4, LrShift: 1, Seed: 9}}},
	}
	p, err := TrainParams(train)
	require.NoError(t, err)
	res, err := mlp.Train(gemm.CPU{}, p, ds, nil)
	require.NoError(t, err)
	train.Result = blobOf(t, res.Encode(p))
	require.NoError(t, c.CheckResult(context.Background(), train, nil))

	other := train
	other.InputNonce = []byte("another assignment") // a result computed for another task
	require.ErrorIs(t, c.CheckResult(context.Background(), other, nil), ErrWrongResult)
}
