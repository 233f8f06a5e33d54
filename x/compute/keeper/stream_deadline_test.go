package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/x/compute/types"
)

// A period-end timer carried over from a full block (max_timers_per_block) runs after the
// period's usual commitment deadline: the deadline it fixes is the one the commitment is held to,
// so an honest replica that commits then is not late, and one that never commits is dropped.
func TestALatePeriodTimerDoesNotMakeAnHonestReplicaLate(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	const n = 8
	ids := make([]uint64, n)
	for j := range ids {
		ids[j] = sf.open()
		for i, p := range []int64{50, 60, 70} {
			require.NoError(t, sf.subscribe(i, ids[j], math.NewIntWithDecimal(p, 16)))
		}
	}
	sf.untilHeight(sf.stream(ids[0]).SubscribeEnd + 1)
	params, err := sf.k.Params.Get(sf.ctx)
	require.NoError(t, err)
	params.MaxTimersPerBlock = 1 // every stream's period ends at one height: one a block
	require.NoError(t, sf.k.Params.Set(sf.ctx, params))
	s := sf.stream(ids[n-1])
	require.Equal(t, types.STREAM_STATE_LIVE, s.State)
	usual := s.PeriodEnd(0, params.Stream.ReceiptPeriod) + int64(params.Stream.RevealWindow)
	sf.untilHeight(s.PeriodEnd(0, params.Stream.ReceiptPeriod))
	for range 3 * n {
		if has, err := sf.k.Commitments.Has(sf.ctx, collections.Join3(ids[n-1], sf.replicas[0], uint64(0))); err == nil && has {
			break
		}
		sf.nextBlock()
	}
	c := sf.commitment(ids[n-1], 0, 0)
	require.True(t, c.Required, "the last stream's period 0 is due")
	require.Greater(t, c.CommitDeadline, usual, "its timer ran late, and its deadline with it")
	require.NoError(t, sf.commit(0, ids[n-1], 0, nil), "committed after the usual deadline, before its own")
	sf.untilHeight(c.CommitDeadline)
	s = sf.stream(ids[n-1])
	_, i := s.ReplicaOf(sf.replicas[1].String())
	require.GreaterOrEqual(t, i, 0, "not dropped before its deadline")
	// deadlines share the block's timer budget too: the miss is found within a few blocks after
	for range 3 * n {
		sf.nextBlock()
		if _, i = sf.stream(ids[n-1]).ReplicaOf(sf.replicas[1].String()); i < 0 {
			break
		}
	}
	require.Equal(t, -1, i, "the one that never committed is dropped once its deadline passed")
	_, i = sf.stream(ids[n-1]).ReplicaOf(sf.replicas[0].String())
	require.GreaterOrEqual(t, i, 0, "the replica that committed in time serves on")
}
