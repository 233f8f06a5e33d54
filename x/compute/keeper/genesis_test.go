package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/x/compute/types"
)

func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	done := f.assigned(ogpu(50))
	require.NoError(t, f.submit(f.providers[0], done, resultSize))
	require.NoError(t, f.k.ApplyVerdict(f.ctx, done, verdict(types.VERDICT_VALID)))
	submitted := f.assigned(ogpu(40))
	require.NoError(t, f.submit(f.providers[0], submitted, resultSize))
	assigned := f.assigned(ogpu(30))
	open := f.create(f.gemmTask())
	require.NoError(t, f.bid(f.providers[2], open, ogpu(20)))

	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate())
	require.Len(t, exported.Tasks, 4)
	sgExported, err := f.sg.ExportGenesis(f.ctx)
	require.NoError(t, err)

	g := newFixtureFrom(t, f.bank.Clone(), sgExported, exported, f.ctx.BlockHeight())
	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, again)
	g.requireInvariants()

	// the imported chain carries on: timers, assignments and ids were rebuilt
	open2, err := g.k.HasOpenWork(g.ctx, g.providers[0])
	require.NoError(t, err)
	require.True(t, open2)
	g.untilHeight(g.task(open).BidWindowEnd + 1)
	require.Equal(t, types.TASK_STATE_ASSIGNED, g.task(open).State)
	require.Equal(t, g.providers[2].String(), g.task(open).Provider)
	g.untilHeight(g.task(submitted).SubmittedHeight + 1 + types.DefaultParams().VerifyBlocks(resultSize) + 1)
	require.Equal(t, types.TASK_STATE_EXPIRED, g.task(submitted).State)
	require.Equal(t, types.TASK_STATE_ASSIGNED, g.task(assigned).State)
	id := g.create(g.gemmTask())
	require.Equal(t, exported.NextTaskId, id)
	g.requireInvariants()
}

func TestGenesisValidate(t *testing.T) {
	gs := types.DefaultGenesis()
	require.NoError(t, gs.Validate())
	gs.NextTaskId = 0
	require.ErrorContains(t, gs.Validate(), "next_task_id")
	gs = types.DefaultGenesis()
	gs.Params.BidWindow = 0
	require.ErrorContains(t, gs.Validate(), "bid_window 0")
	gs = types.DefaultGenesis()
	gs.Bids = []types.Bid{{TaskId: 5}}
	require.ErrorContains(t, gs.Validate(), "no such task")
}
