package keeper_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/staking-gpu/keeper"
	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// providerRewards is the 50% share of the 21M OGPU supply.
var providerRewards = ogpu(10_500_000)

var rewardsAddr = authtypes.NewModuleAddress(types.RewardsPoolName)

// uncapped is a fee cap no share reaches: the tests that use it are about the split.
var uncapped = ogpu(1_000_000_000)

func TestReleasedAt(t *testing.T) {
	pool := types.RewardPool{Total: math.NewInt(1_000), StartTime: genesisTime}
	period := 10 * time.Second
	for _, tc := range []struct {
		at   time.Duration
		want int64
	}{
		{-time.Second, 0}, {0, 0}, {time.Second, 100}, {3333 * time.Millisecond, 333},
		{period - 1, 999}, {period, 1_000}, {100 * period, 1_000},
	} {
		require.Equal(t, math.NewInt(tc.want), keeper.ReleasedAt(pool, period, genesisTime.Add(tc.at)), tc.at)
	}
}

func TestProRataSplitWithValidatorBonus(t *testing.T) {
	f := newFixture(t, providerRewards)
	a, b, c := f.account(1, ogpu(2_000)), f.account(2, ogpu(2_000)), f.account(3, ogpu(2_000))
	for _, op := range []sdk.AccAddress{a, b, c} {
		f.register(t, op)
	}
	f.validators.SetBonded(a)
	require.NoError(t, f.k.RecordWork(f.ctx, a, math.NewInt(100), uncapped))
	require.NoError(t, f.k.RecordWork(f.ctx, b, math.NewInt(100), uncapped))
	require.NoError(t, f.k.RecordWork(f.ctx, c, math.NewInt(150), uncapped))
	require.NoError(t, f.k.RecordWork(f.ctx, c, math.NewInt(50), uncapped))

	f.advance(time.Hour, 100)
	require.NoError(t, f.k.DistributeEpoch(f.ctx))
	released := keeper.ReleasedAt(types.RewardPool{Total: providerRewards, StartTime: genesisTime}, types.DefaultParams().ProviderRewardPeriod, f.ctx.BlockTime())
	require.True(t, released.IsPositive())

	// weights: a 100 × 1.2 = 120, b 100, c 200 of 420
	share := func(w int64) math.Int { return released.MulRaw(w).QuoRaw(420) }
	got := func(op sdk.AccAddress) math.Int {
		r, err := f.queries.Rewards(f.ctx, &types.QueryRewardsRequest{Operator: op.String()})
		require.NoError(t, err)
		return r.Amount
	}
	require.Equal(t, share(120), got(a))
	require.Equal(t, share(100), got(b))
	require.Equal(t, share(200), got(c))
	pool, err := f.queries.RewardPool(f.ctx, &types.QueryRewardPoolRequest{})
	require.NoError(t, err)
	require.Equal(t, released, pool.Pool.Released)
	require.Equal(t, released.Sub(share(120)).Sub(share(100)).Sub(share(200)), pool.Carried, "rounding dust carries over")
	require.True(t, pool.Carried.LT(math.NewInt(3)))
	require.Equal(t, providerRewards.Sub(released), pool.Remaining)
	require.EqualValues(t, 200, pool.NextEpochHeight)
	require.EqualValues(t, 2, f.provider(t, c).CompletedTasks)
	require.Equal(t, math.NewInt(200), f.provider(t, c).WorkUnits)

	// withdraw pays from the pool
	res, err := f.msgs.WithdrawRewards(f.ctx, &types.MsgWithdrawRewards{Operator: a.String()})
	require.NoError(t, err)
	require.Equal(t, share(120), res.Amount.Amount)
	require.Equal(t, ogpu(2_000).Add(share(120)), f.bank.GetBalance(f.ctx, a, denom).Amount)
	_, err = f.msgs.WithdrawRewards(f.ctx, &types.MsgWithdrawRewards{Operator: a.String()})
	require.ErrorIs(t, err, types.ErrNoRewards)
	f.requireInvariants(t)
}

func TestEpochWithoutWorkCarriesOver(t *testing.T) {
	f := newFixture(t, providerRewards)
	op := f.account(1, ogpu(1))
	f.register(t, op)
	period := types.DefaultParams().ProviderRewardPeriod
	at := func(d time.Duration) math.Int {
		return keeper.ReleasedAt(types.RewardPool{Total: providerRewards, StartTime: genesisTime}, period, genesisTime.Add(d))
	}

	f.advance(time.Hour, 100)
	require.NoError(t, f.k.DistributeEpoch(f.ctx))
	pool, err := f.queries.RewardPool(f.ctx, &types.QueryRewardPoolRequest{})
	require.NoError(t, err)
	require.Equal(t, at(time.Hour), pool.Carried, "nobody worked: all of it waits")

	f.advance(time.Hour, 100)
	require.NoError(t, f.k.RecordWork(f.ctx, op, math.NewInt(1), uncapped))
	require.NoError(t, f.k.DistributeEpoch(f.ctx))
	r, err := f.k.AccruedRewards(f.ctx, op)
	require.NoError(t, err)
	require.Equal(t, at(2*time.Hour), r, "the next epoch with work gets both epochs' release")
	f.requireInvariants(t)
}

// TestTenYearRelease runs the whole release period in daily epochs with random work and random
// idle stretches, and checks that exactly the whole pool is released and handed out.
func TestTenYearRelease(t *testing.T) {
	f := newFixture(t, providerRewards)
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]sdk.AccAddress, 4)
	for i := range ops {
		ops[i] = f.account(i, ogpu(1))
		f.register(t, ops[i])
	}
	f.validators.SetBonded(ops[0])
	period := types.DefaultParams().ProviderRewardPeriod
	end := genesisTime.Add(period)

	epochs := 0
	for !f.ctx.BlockTime().After(end.Add(48 * time.Hour)) {
		// 20 to 28 hours per epoch, so epoch ends fall anywhere in the day
		f.advance(20*time.Hour+time.Duration(rng.Int64N(int64(8*time.Hour))), 100)
		if rng.IntN(5) > 0 { // one epoch in five has no work
			for _, op := range ops {
				if rng.IntN(2) == 0 {
					require.NoError(t, f.k.RecordWork(f.ctx, op, math.NewInt(rng.Int64N(1<<40)+1), uncapped))
				}
			}
		}
		require.NoError(t, f.k.DistributeEpoch(f.ctx))
		epochs++
		if epochs%365 == 0 {
			f.requireInvariants(t)
		}
	}
	// one more epoch with work so that the last carry-over is handed out too
	require.NoError(t, f.k.RecordWork(f.ctx, ops[1], math.NewInt(1), uncapped))
	require.NoError(t, f.k.DistributeEpoch(f.ctx))

	pool, err := f.k.RewardPool.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, providerRewards, pool.Released, "after the period exactly the whole pool is released")
	require.Equal(t, providerRewards, pool.Allocated, "and all of it is credited: no dust lost")
	sum := math.ZeroInt()
	for _, op := range ops {
		res, err := f.msgs.WithdrawRewards(f.ctx, &types.MsgWithdrawRewards{Operator: op.String()})
		require.NoError(t, err)
		sum = sum.Add(res.Amount.Amount)
	}
	require.Equal(t, providerRewards, sum, "providers received the whole pool, no dust created")
	require.True(t, f.bank.GetBalance(f.ctx, rewardsAddr, denom).Amount.IsZero())
	f.requireInvariants(t)
	t.Logf("%d epochs over %s", epochs, period)
}
