package keeper

import (
	"context"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// InitGenesis loads the state. Without a reward pool in the genesis, the release starts at the
// genesis time from the provider_rewards balance (x/bank must be initialised first).
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, p := range gs.Providers {
		if p.Locked.IsNil() {
			p.Locked = math.ZeroInt()
		}
		addr, err := k.addressCodec.StringToBytes(p.Operator)
		if err != nil {
			return err
		}
		if err := k.Providers.Set(ctx, addr, p); err != nil {
			return err
		}
	}
	for _, e := range gs.UnbondingEntries {
		if err := k.Unbonding.Set(ctx, e.Id, e); err != nil {
			return err
		}
	}
	if err := k.UnbondingSeq.Set(ctx, gs.NextUnbondingId); err != nil {
		return err
	}
	pool := gs.RewardPool
	if pool == nil {
		total := k.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.RewardsPoolName), gs.Params.BondDenom).Amount
		pool = &types.RewardPool{
			Total:     total,
			StartTime: sdk.UnwrapSDKContext(ctx).BlockTime(),
			Released:  math.ZeroInt(),
			Allocated: math.ZeroInt(),
			Withdrawn: math.ZeroInt(),
			Recycled:  math.ZeroInt(),
		}
	}
	if pool.Recycled.IsNil() {
		pool.Recycled = math.ZeroInt()
	}
	if err := k.RewardPool.Set(ctx, *pool); err != nil {
		return err
	}
	for _, w := range gs.EpochWork {
		addr, err := k.addressCodec.StringToBytes(w.Operator)
		if err != nil {
			return err
		}
		if w.Fees.IsNil() {
			w.Fees = math.ZeroInt()
		}
		if err := k.EpochWork.Set(ctx, addr, w); err != nil {
			return err
		}
	}
	for _, r := range gs.Rewards {
		addr, err := k.addressCodec.StringToBytes(r.Operator)
		if err != nil {
			return err
		}
		if err := k.Rewards.Set(ctx, addr, r.Amount); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis writes the whole state out, in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	err = k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.Provider) (bool, error) {
		gs.Providers = append(gs.Providers, p)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.Unbonding.Walk(ctx, nil, func(_ uint64, e types.UnbondingEntry) (bool, error) {
		gs.UnbondingEntries = append(gs.UnbondingEntries, e)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if gs.NextUnbondingId, err = k.UnbondingSeq.Peek(ctx); err != nil {
		return nil, err
	}
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs.RewardPool = &pool
	err = k.EpochWork.Walk(ctx, nil, func(_ sdk.AccAddress, w types.EpochWork) (bool, error) {
		gs.EpochWork = append(gs.EpochWork, w)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.Rewards.Walk(ctx, nil, func(op sdk.AccAddress, a math.Int) (bool, error) {
		gs.Rewards = append(gs.Rewards, types.ProviderReward{Operator: k.str(op), Amount: a})
		return false, nil
	})
	return gs, err
}
