package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// StakeInvariant checks that the module account holds exactly the bonded plus unbonding stake
// of every provider.
func (k Keeper) StakeInvariant(ctx context.Context) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	sum := math.ZeroInt()
	err = k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.Provider) (bool, error) {
		sum = sum.Add(p.Bonded)
		return false, nil
	})
	if err != nil {
		return err
	}
	err = k.Unbonding.Walk(ctx, nil, func(_ uint64, e types.UnbondingEntry) (bool, error) {
		sum = sum.Add(e.Amount)
		return false, nil
	})
	if err != nil {
		return err
	}
	balance := k.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.ModuleName), params.BondDenom).Amount
	if !balance.Equal(sum) {
		return fmt.Errorf("provider stake: module account holds %s%s, bonded + unbonding is %s%s", balance, params.BondDenom, sum, params.BondDenom)
	}
	return nil
}

// RewardPoolInvariant checks that the provider_rewards account holds exactly what has not been
// paid out (total + recycled − withdrawn), and that the accrued rewards add up to allocated − withdrawn.
func (k Keeper) RewardPoolInvariant(ctx context.Context) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return err
	}
	balance := k.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.RewardsPoolName), params.BondDenom).Amount
	if want := pool.Total.Add(pool.Recycled).Sub(pool.Withdrawn); !balance.Equal(want) {
		return fmt.Errorf("provider rewards: pool account holds %s%s, total + recycled − withdrawn is %s%s", balance, params.BondDenom, want, params.BondDenom)
	}
	accrued := math.ZeroInt()
	err = k.Rewards.Walk(ctx, nil, func(_ sdk.AccAddress, a math.Int) (bool, error) {
		accrued = accrued.Add(a)
		return false, nil
	})
	if err != nil {
		return err
	}
	if want := pool.Allocated.Sub(pool.Withdrawn); !accrued.Equal(want) {
		return fmt.Errorf("provider rewards: accrued rewards sum to %s, allocated − withdrawn is %s", accrued, want)
	}
	if pool.Allocated.GT(pool.Released.Add(pool.Recycled)) || pool.Released.GT(pool.Total) {
		return fmt.Errorf("provider rewards: need allocated %s ≤ released %s + recycled %s, and released ≤ total %s", pool.Allocated, pool.Released, pool.Recycled, pool.Total)
	}
	return nil
}
