package client

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// fakeTasks answers one scripted query per call, the last one repeated.
type fakeTasks struct {
	states []computetypes.TaskState // UNSPECIFIED stands for a failed query
	calls  int
}

func (f *fakeTasks) Task(_ context.Context, id uint64) (computetypes.Task, error) {
	s := f.states[min(f.calls, len(f.states)-1)]
	f.calls++
	if s == computetypes.TASK_STATE_UNSPECIFIED {
		return computetypes.Task{}, errors.New("node unreachable")
	}
	return computetypes.Task{Id: id, State: s}, nil
}

func noWait(context.Context) error { return nil }

func TestWaitTaskCallsBackOncePerStateInOrder(t *testing.T) {
	src := &fakeTasks{states: []computetypes.TaskState{
		computetypes.TASK_STATE_OPEN, computetypes.TASK_STATE_OPEN, computetypes.TASK_STATE_UNSPECIFIED,
		computetypes.TASK_STATE_ASSIGNED, computetypes.TASK_STATE_SUBMITTED, computetypes.TASK_STATE_SUBMITTED,
		computetypes.TASK_STATE_VERIFIED, computetypes.TASK_STATE_COMPLETED, computetypes.TASK_STATE_OPEN,
	}}
	var seen []computetypes.TaskState
	got, err := waitTask(context.Background(), src, noWait, 7, func(t computetypes.Task) { seen = append(seen, t.State) })
	require.NoError(t, err)
	require.Equal(t, []computetypes.TaskState{
		computetypes.TASK_STATE_OPEN, computetypes.TASK_STATE_ASSIGNED, computetypes.TASK_STATE_SUBMITTED,
		computetypes.TASK_STATE_VERIFIED, computetypes.TASK_STATE_COMPLETED,
	}, seen)
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, got.State)
	require.Equal(t, 8, src.calls, "no query after the final state")
}

func TestWaitTaskReturnsAFailedTask(t *testing.T) {
	src := &fakeTasks{states: []computetypes.TaskState{computetypes.TASK_STATE_OPEN, computetypes.TASK_STATE_EXPIRED}}
	got, err := waitTask(context.Background(), src, noWait, 7, nil)
	require.NoError(t, err)
	require.Equal(t, computetypes.TASK_STATE_EXPIRED, got.State)
}

func TestWaitTaskStopsWithItsContext(t *testing.T) {
	src := &fakeTasks{states: []computetypes.TaskState{computetypes.TASK_STATE_OPEN}}
	calls := 0
	stop := func(context.Context) error {
		calls++
		if calls == 3 {
			return context.DeadlineExceeded
		}
		return nil
	}
	got, err := waitTask(context.Background(), src, stop, 7, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "task 7 still TASK_STATE_OPEN")
	require.Equal(t, computetypes.TASK_STATE_OPEN, got.State)
}
