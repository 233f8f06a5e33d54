package client

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// fakeStreams answers one scripted query per call, the last one repeated.
type fakeStreams struct {
	states []computetypes.StreamState // UNSPECIFIED stands for a failed query
	calls  int
}

func (f *fakeStreams) Stream(_ context.Context, id uint64) (computetypes.Stream, error) {
	s := f.states[min(f.calls, len(f.states)-1)]
	f.calls++
	if s == computetypes.STREAM_STATE_UNSPECIFIED {
		return computetypes.Stream{}, errors.New("node unreachable")
	}
	return computetypes.Stream{Id: id, State: s, Outcome: "no subscriber"}, nil
}

func TestWaitStreamReturnsOnceTheConditionHolds(t *testing.T) {
	src := &fakeStreams{states: []computetypes.StreamState{
		computetypes.STREAM_STATE_OPEN, computetypes.STREAM_STATE_UNSPECIFIED, computetypes.STREAM_STATE_LIVE, computetypes.STREAM_STATE_CLOSED,
	}}
	s, err := waitStream(context.Background(), src, noWait, 3, StreamIsLive)
	require.NoError(t, err)
	require.Equal(t, computetypes.STREAM_STATE_LIVE, s.State)
	require.Equal(t, 3, src.calls)
}

func TestWaitStreamStopsAtAClosedStream(t *testing.T) {
	src := &fakeStreams{states: []computetypes.StreamState{computetypes.STREAM_STATE_OPEN, computetypes.STREAM_STATE_CLOSED}}
	s, err := waitStream(context.Background(), src, noWait, 3, StreamIsLive)
	require.ErrorContains(t, err, "stream 3 closed: no subscriber")
	require.Equal(t, computetypes.STREAM_STATE_CLOSED, s.State)
}
