package sidecar

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/store"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

func putHeld(t *testing.T, st *store.Store, task uint64, data string) string {
	w, err := st.Create()
	require.NoError(t, err)
	_, err = w.Write([]byte(data))
	require.NoError(t, err)
	sha, err := w.Commit(task)
	require.NoError(t, err)
	return sha
}

// TestBlobsDeletedAfterRetention: a task's blobs go blob-retention after the sidecar first sees
// the task settled, not before; a blob another task still holds stays; a task the chain no
// longer knows counts as settled; the settlement time survives a restart.
func TestBlobsDeletedAfterRetention(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	require.NoError(t, err)
	chain := newFakeChain()
	s := newSidecar(Config{BlobRetention: time.Hour}, log.NewNopLogger(), chain, st, gemm.CPU{})

	result1 := putHeld(t, st, 1, "result of 1")
	shared := putHeld(t, st, 1, "an input of 1 and 2")
	require.Equal(t, shared, putHeld(t, st, 2, "an input of 1 and 2"))
	result2 := putHeld(t, st, 2, "result of 2")
	gone := putHeld(t, st, 3, "result of a task the chain forgot")
	chain.setTask(computetypes.Task{Id: 1, State: computetypes.TASK_STATE_COMPLETED})
	chain.setTask(computetypes.Task{Id: 2, State: computetypes.TASK_STATE_VERIFIED}) // in its dispute window

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.collectBlobs(context.Background(), t0)
	s.collectBlobs(context.Background(), t0.Add(59*time.Minute))
	for _, sha := range []string{result1, shared, result2, gone} {
		require.True(t, st.Has(sha), "kept within the retention")
	}

	// a restart keeps when task 1 was seen settled
	st, err = store.Open(dir)
	require.NoError(t, err)
	s = newSidecar(Config{BlobRetention: time.Hour}, log.NewNopLogger(), chain, st, gemm.CPU{})
	s.collectBlobs(context.Background(), t0.Add(time.Hour))
	require.False(t, st.Has(result1))
	require.False(t, st.Has(gone))
	require.True(t, st.Has(shared), "task 2 still holds it")
	require.True(t, st.Has(result2))
	holds, err := st.Holds()
	require.NoError(t, err)
	require.Len(t, holds, 1)
	require.EqualValues(t, 2, holds[0].Task)

	chain.setTask(computetypes.Task{Id: 2, State: computetypes.TASK_STATE_FAILED})
	s.collectBlobs(context.Background(), t0.Add(2*time.Hour))
	require.True(t, st.Has(result2))
	s.collectBlobs(context.Background(), t0.Add(3*time.Hour))
	require.False(t, st.Has(result2))
	require.False(t, st.Has(shared))
	holds, err = st.Holds()
	require.NoError(t, err)
	require.Empty(t, holds)
}
