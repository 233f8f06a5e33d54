package sidecar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/store"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// blobs is an httptest server of named blobs that counts its requests.
type blobs struct {
	srv  *httptest.Server
	data map[string][]byte
	hits atomic.Int32
}

func newBlobs(t *testing.T) *blobs {
	b := &blobs{data: map[string][]byte{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, ok := b.data[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// serve puts body at path and returns its declaration.
func (b *blobs) serve(path string, body []byte) computetypes.Blob {
	b.data[path] = body
	sum := sha256.Sum256(body)
	return computetypes.Blob{Uri: b.srv.URL + path, Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(body))}
}

func gemmTask(id uint64, s gemm.Shape) computetypes.Task {
	return computetypes.Task{
		Id: id, State: computetypes.TASK_STATE_SUBMITTED,
		Workload: computetypes.Workload{Name: "gemm-int8/v1", Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: uint32(s.M), N: uint32(s.N), K: uint32(s.K), SeedA: 5, SeedB: 6},
		}},
		InputNonce: []byte("nonce"),
	}
}

func int8Bytes(v []int8) []byte {
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(x)
	}
	return out
}

// allocated is the bytes the process allocates while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestStreamingCheckBoundedAllocation: the check accepts a right result and rejects a wrong
// one, from seeded inputs and from downloaded ones, and allocates a fraction of the result's
// size on the way: the result and the inputs go through the check in bands, never whole.
func TestStreamingCheckBoundedAllocation(t *testing.T) {
	shape := gemm.Shape{M: 1024, N: 1024, K: 64} // a 4 MiB result, 64 KiB inputs
	srv := newBlobs(t)
	seeded := gemmTask(9, shape)
	seedA, seedB := inputSeeds(seeded)
	a, b := gemm.Generate(seedA, shape.M, shape.K), gemm.Generate(seedB, shape.K, shape.N)
	fetched := gemmTask(9, shape)
	fetched.Workload.GetGemmInt8().SeedA, fetched.Workload.GetGemmInt8().SeedB = 0, 0
	fetched.Inputs = []computetypes.Blob{srv.serve("/a", int8Bytes(a)), srv.serve("/b", int8Bytes(b))}

	c := make([]int32, shape.M*shape.N)
	require.NoError(t, gemm.CPU{}.GemmInt8(shape, a, b, c))
	right := srv.serve("/right", gemm.Encode(shape, c))
	c[len(c)-7]++ // wrong in the last row: the whole result is read
	wrong := srv.serve("/wrong", gemm.Encode(shape, c))
	limit := uint64(shape.ResultSize()) / 4

	s := testSidecar(Config{})
	committee := committeetypes.Committee{TaskId: 9, Round: 1, Seed: []byte("seed")}
	for _, task := range []computetypes.Task{seeded, fetched} {
		for _, tc := range []struct {
			result computetypes.Blob
			want   committeetypes.AttestedVerdict
		}{{right, committeetypes.ATTESTED_VALID}, {wrong, committeetypes.ATTESTED_INVALID}} {
			task.Result = tc.result
			var ch check
			n := allocated(func() { ch = s.check(context.Background(), task, committee) })
			require.Equal(t, tc.want, ch.verdict, "inputs %d", len(task.Inputs))
			require.Less(t, n, limit, "allocated %d bytes checking a %d-byte result", n, shape.ResultSize())
			t.Logf("inputs %d, %s: %d KiB allocated for a %d KiB result", len(task.Inputs), tc.want, n>>10, shape.ResultSize()>>10)
		}
	}
}

// committeeOf is a round-1 committee of task id with member on it, and what the chain recorded.
func committeeOf(id uint64, member string, drawn int64, recorded ...committeetypes.RecordedAttestation) *committeetypes.QueryCommitteeResponse {
	return &committeetypes.QueryCommitteeResponse{
		Committee:    committeetypes.Committee{TaskId: id, Round: 1, DrawnHeight: drawn, Seed: []byte("seed"), Members: []committeetypes.Member{{Validator: member}}},
		Attestations: recorded,
	}
}

// TestRecordedVerdictsDropped: a round whose commitment or reveal from this member is already
// on chain, or whose commitments have closed, is never queued; a queued check whose round is
// recorded, replaced or over by the time a slot frees is dropped before anything is fetched;
// an open round is queued and checked.
func TestRecordedVerdictsDropped(t *testing.T) {
	srv := newBlobs(t)
	shape := gemm.Shape{M: 8, N: 8, K: 8}
	s := testSidecar(Config{})
	chain := s.chain.(*fakeChain)
	chain.height = 100
	seedA, seedB := inputSeeds(gemmTask(0, shape))
	result := srv.serve("/r", gemm.Encode(shape, gemm.Naive(shape, gemm.Generate(seedA, 8, 8), gemm.Generate(seedB, 8, 8))))
	submitted := func(id uint64) computetypes.Task {
		task := gemmTask(id, shape)
		task.Committee = []string{s.valoper}
		task.Result = result
		chain.setTask(task)
		return task
	}
	committed := committeetypes.RecordedAttestation{TaskId: 1, Validator: s.valoper, Commitment: []byte("c"), CommittedHeight: 99}
	revealed := committed
	revealed.TaskId, revealed.Height = 2, 100
	submitted(1)
	chain.setCommittee(1, committeeOf(1, s.valoper, 98, committed))
	submitted(2)
	chain.setCommittee(2, committeeOf(2, s.valoper, 98, revealed))
	submitted(3)
	chain.setCommittee(3, committeeOf(3, s.valoper, 90)) // commit_blocks (5) after the draw: closed
	open := submitted(4)
	chain.setCommittee(4, committeeOf(4, s.valoper, 98))
	h, at, _ := chain.latestBlock(context.Background())
	s.pace.observeBlock(h, at)

	s.verifierPass(context.Background())
	for id := uint64(1); id <= 3; id++ {
		require.False(t, s.verifications.has(id), "task %d: nothing left to check", id)
	}
	require.True(t, s.verifications.has(4))

	// while it waits, the chain records this member's commitment (e.g. made before a restart)
	_, job, ok := s.verifications.take()
	require.True(t, ok)
	recorded := committed
	recorded.TaskId = 4
	chain.setCommittee(4, committeeOf(4, s.valoper, 98, recorded))
	s.verify(context.Background(), job)
	// a new draw replaced the one queued
	chain.setCommittee(4, committeeOf(4, s.valoper, 99))
	s.verify(context.Background(), job)
	// the task is no longer being verified
	chain.mu.Lock()
	delete(chain.committees, 4)
	chain.mu.Unlock()
	s.verify(context.Background(), job)
	require.Zero(t, srv.hits.Load(), "nothing fetched for a dropped check")
	require.Empty(t, s.checks)

	// the round still open: checked
	chain.setCommittee(4, committeeOf(4, s.valoper, 98))
	s.verify(context.Background(), verification{task: open, committee: committeeOf(4, s.valoper, 98).Committee})
	require.NotZero(t, srv.hits.Load())
	require.Equal(t, committeetypes.ATTESTED_VALID, s.checks[4].verdict)

	// a queued task that leaves SUBMITTED leaves the queue
	submitted(5)
	chain.setCommittee(5, committeeOf(5, s.valoper, 98))
	s.verifierPass(context.Background())
	require.True(t, s.verifications.has(5))
	chain.setTask(computetypes.Task{Id: 5, State: computetypes.TASK_STATE_COMPLETED})
	s.verifierPass(context.Background())
	require.False(t, s.verifications.has(5))
}

// TestRunKeepsResultAndInputs: a run streams its downloaded inputs into the blob store for the
// committee and writes its result there, all held for the task.
func TestRunKeepsResultAndInputs(t *testing.T) {
	shape := gemm.Shape{M: 30, N: 20, K: 10}
	srv := newBlobs(t)
	a, b := gemm.Generate(1, shape.M, shape.K), gemm.Generate(2, shape.K, shape.N)
	task := gemmTask(3, shape)
	task.Workload.GetGemmInt8().SeedA, task.Workload.GetGemmInt8().SeedB = 0, 0
	task.Inputs = []computetypes.Blob{srv.serve("/a", int8Bytes(a)), srv.serve("/b", int8Bytes(b))}
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	s := newSidecar(Config{AllowPrivateFetch: true, MaxConcurrent: 1}, testSidecar(Config{}).logger, newFakeChain(), st, gemm.CPU{})
	s.provider = sdk.AccAddress("provider------------")

	sha, size, err := s.execute(context.Background(), task)
	require.NoError(t, err)
	want := gemm.Encode(shape, gemm.Naive(shape, a, b))
	sum := sha256.Sum256(want)
	require.Equal(t, hex.EncodeToString(sum[:]), sha)
	require.EqualValues(t, len(want), size)
	got, err := st.Get(sha)
	require.NoError(t, err)
	require.Equal(t, want, got)
	holds, err := st.Holds()
	require.NoError(t, err)
	require.Len(t, holds, 1)
	require.ElementsMatch(t, []string{task.Inputs[0].Sha256, task.Inputs[1].Sha256, sha}, holds[0].Blobs)

	// an input that is not what was declared is unavailable, and nothing of it is kept
	task.Id = 4
	task.Inputs[1].Sha256 = task.Inputs[0].Sha256
	_, _, err = s.execute(context.Background(), task)
	require.ErrorIs(t, err, errInputUnavailable)
	holds, err = st.Holds()
	require.NoError(t, err)
	require.Len(t, holds, 2)
	require.Equal(t, []string{task.Inputs[0].Sha256}, holds[1].Blobs, "A was kept, B was not")
}
