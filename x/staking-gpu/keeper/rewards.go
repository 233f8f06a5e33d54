package keeper

import (
	"context"
	"errors"
	"math/big"
	"time"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// ReleasedAt is what the linear schedule has set free at time now: total × elapsed / period,
// rounded down, and exactly total once the period is over.
func ReleasedAt(pool types.RewardPool, period time.Duration, now time.Time) math.Int {
	elapsed := now.Sub(pool.StartTime)
	switch {
	case elapsed <= 0 || period <= 0:
		return math.ZeroInt()
	case elapsed >= period:
		return pool.Total
	}
	n := new(big.Int).Mul(pool.Total.BigInt(), big.NewInt(int64(elapsed)))
	return math.NewIntFromBigInt(n.Quo(n, big.NewInt(int64(period))))
}

// DistributeEpoch closes a reward epoch: it advances the release to the block time and splits
// everything released and not yet credited among the providers that recorded work in the epoch,
// pro rata to their weighted units, rounding each share down. What is left (an epoch without
// work, or rounding dust) carries over to the next epoch, so nothing is lost or created.
func (k Keeper) DistributeEpoch(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	released := math.MaxInt(pool.Released, ReleasedAt(pool, params.ProviderRewardPeriod, sdkCtx.BlockTime()))
	newly := released.Sub(pool.Released)
	pool.Released = released
	available := released.Sub(pool.Allocated)

	type work struct {
		operator sdk.AccAddress
		weight   *big.Int
	}
	var works []work
	total := new(big.Int)
	err = k.EpochWork.Walk(ctx, nil, func(op sdk.AccAddress, w math.LegacyDec) (bool, error) {
		works = append(works, work{operator: op, weight: w.BigInt()})
		total.Add(total, w.BigInt())
		return false, nil
	})
	if err != nil {
		return err
	}
	distributed := math.ZeroInt()
	if total.Sign() > 0 && available.IsPositive() {
		for _, w := range works {
			share := new(big.Int).Mul(available.BigInt(), w.weight)
			share.Quo(share, total)
			if share.Sign() == 0 {
				continue
			}
			amount := math.NewIntFromBigInt(share)
			if err := k.credit(ctx, w.operator, amount); err != nil {
				return err
			}
			distributed = distributed.Add(amount)
		}
	}
	for _, w := range works {
		if err := k.EpochWork.Remove(ctx, w.operator); err != nil {
			return err
		}
	}
	pool.Allocated = pool.Allocated.Add(distributed)
	pool.LastEpochHeight = sdkCtx.BlockHeight()
	if err := k.RewardPool.Set(ctx, pool); err != nil {
		return err
	}
	return sdkCtx.EventManager().EmitTypedEvent(&types.EventRewardsDistributed{
		Height:      sdkCtx.BlockHeight(),
		Released:    newly,
		Distributed: distributed,
		Carried:     pool.Released.Sub(pool.Allocated),
		Providers:   uint32(len(works)),
	})
}

func (k Keeper) credit(ctx context.Context, operator sdk.AccAddress, amount math.Int) error {
	prev, err := k.Rewards.Get(ctx, operator)
	switch {
	case errors.Is(err, collections.ErrNotFound):
		prev = math.ZeroInt()
	case err != nil:
		return err
	}
	return k.Rewards.Set(ctx, operator, prev.Add(amount))
}

// AccruedRewards is what the provider has been credited and not withdrawn.
func (k Keeper) AccruedRewards(ctx context.Context, operator sdk.AccAddress) (math.Int, error) {
	amount, err := k.Rewards.Get(ctx, operator)
	if errors.Is(err, collections.ErrNotFound) {
		return math.ZeroInt(), nil
	}
	return amount, err
}

// WithdrawRewards pays the provider's accrued rewards from the provider_rewards pool.
func (k Keeper) WithdrawRewards(ctx context.Context, operator sdk.AccAddress) (sdk.Coin, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	amount, err := k.AccruedRewards(ctx, operator)
	if err != nil {
		return sdk.Coin{}, err
	}
	if !amount.IsPositive() {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoRewards, "operator %s has no accrued rewards", k.str(operator))
	}
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	coin := sdk.NewCoin(params.BondDenom, amount)
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.RewardsPoolName, operator, sdk.NewCoins(coin)); err != nil {
		return sdk.Coin{}, errorsmod.Wrapf(err, "withdraw %s", coin)
	}
	pool.Withdrawn = pool.Withdrawn.Add(amount)
	if err := k.RewardPool.Set(ctx, pool); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.Rewards.Remove(ctx, operator); err != nil {
		return sdk.Coin{}, err
	}
	return coin, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRewardsWithdrawn{
		Operator: k.str(operator), Amount: amount,
	})
}

// NextEpochHeight is the height of the next reward distribution after height.
func NextEpochHeight(height int64, epoch uint64) int64 {
	e := int64(epoch)
	if e <= 0 {
		return height + 1
	}
	return (height/e + 1) * e
}
