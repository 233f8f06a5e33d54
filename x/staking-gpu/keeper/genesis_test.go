package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t, providerRewards)
	a, b := f.account(1, ogpu(10_000)), f.account(2, ogpu(10_000))
	f.register(t, a)
	f.register(t, b)
	f.bond(t, a, ogpu(4_000))
	f.bond(t, b, ogpu(2_000))
	_, err := f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: a.String(), Amount: coin(ogpu(1_000))})
	require.NoError(t, err)
	require.NoError(t, f.k.Jail(f.ctx, b, f.ctx.BlockTime().Add(time.Hour)))
	require.NoError(t, f.k.RecordWork(f.ctx, a, math.NewInt(500), uncapped))
	f.advance(24*time.Hour, 100)
	require.NoError(t, f.k.DistributeEpoch(f.ctx))
	require.NoError(t, f.k.RecordWork(f.ctx, b, math.NewInt(7), uncapped)) // open epoch work
	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate())
	require.Len(t, exported.UnbondingEntries, 1)
	require.Len(t, exported.EpochWork, 1)
	require.Len(t, exported.Rewards, 1)

	// a new chain from the exported state, with the bank balances carried over
	g := newFixtureWith(t, f.bank.Clone(), exported, f.ctx.BlockTime(), f.ctx.BlockHeight())
	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, again)
	g.requireInvariants(t)

	// the imported chain carries on: the next unbonding id follows the exported one
	res, err := g.msgs.Unbond(g.ctx, &types.MsgUnbond{Operator: b.String(), Amount: coin(ogpu(1))})
	require.NoError(t, err)
	require.Equal(t, exported.NextUnbondingId, res.EntryId)
}

func TestGenesisValidate(t *testing.T) {
	op := "cosmos1qyqszqgpqyqszqgpqyqszqgpqyqszqgpjnp7du"
	provider := types.Provider{
		Operator: op, Moniker: "m", Endpoint: "http://127.0.0.1:8547", Workloads: []string{"gemm-int8/v1"},
		Bonded: math.ZeroInt(), WorkUnits: math.ZeroInt(),
	}
	pool := &types.RewardPool{Total: math.NewInt(100), Released: math.NewInt(50), Allocated: math.NewInt(40), Withdrawn: math.NewInt(10)}
	tests := []struct {
		name string
		edit func(gs *types.GenesisState)
		err  string
	}{
		{"default", func(*types.GenesisState) {}, ""},
		{"bad params", func(gs *types.GenesisState) { gs.Params.RewardEpoch = 0 }, "reward_epoch"},
		{"provider twice", func(gs *types.GenesisState) { gs.Providers = []types.Provider{provider, provider} }, "listed twice"},
		{"entry of no provider", func(gs *types.GenesisState) {
			gs.UnbondingEntries = []types.UnbondingEntry{{Id: 1, Operator: op, Amount: math.NewInt(1)}}
			gs.NextUnbondingId = 2
		}, "not a provider"},
		{"entry id past next", func(gs *types.GenesisState) {
			gs.Providers = []types.Provider{provider}
			gs.UnbondingEntries = []types.UnbondingEntry{{Id: 5, Operator: op, Amount: math.NewInt(1)}}
		}, "next_unbonding_id"},
		{"rewards not matching the pool", func(gs *types.GenesisState) {
			gs.RewardPool = pool
			gs.Rewards = []types.ProviderReward{{Operator: op, Amount: math.NewInt(29)}}
		}, "allocated − withdrawn 30"},
		{"rewards matching the pool", func(gs *types.GenesisState) {
			gs.RewardPool = pool
			gs.Rewards = []types.ProviderReward{{Operator: op, Amount: math.NewInt(30)}}
		}, ""},
		{"pool out of order", func(gs *types.GenesisState) {
			p := *pool
			p.Released = math.NewInt(101)
			gs.RewardPool = &p
		}, "released ≤ total"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs := types.DefaultGenesis()
			tc.edit(gs)
			err := gs.Validate()
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
		})
	}
}
