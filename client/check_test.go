package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
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
