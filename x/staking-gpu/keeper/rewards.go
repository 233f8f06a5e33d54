package keeper

import (
	"context"
	"errors"
	"math/big"
	"slices"
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

// RecycleFee moves a protocol fee from fromModule into the provider reward pool, where it can be
// distributed at once, on top of the release.
func (k Keeper) RecycleFee(ctx context.Context, fromModule string, fee math.Int) error {
	if fee.IsNil() || fee.IsNegative() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "fee %v: must be ≥ 0", fee)
	}
	if fee.IsZero() {
		return nil
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromModuleToModule(ctx, fromModule, types.RewardsPoolName, sdk.NewCoins(sdk.NewCoin(params.BondDenom, fee))); err != nil {
		return errorsmod.Wrapf(err, "recycle a protocol fee of %s%s", fee, params.BondDenom)
	}
	pool.Recycled = pool.Recycled.Add(fee)
	return k.RewardPool.Set(ctx, pool)
}

// DistributeEpoch closes a reward epoch: it advances the release to the block time and splits
// everything released or recycled and not yet credited among the providers that recorded work
// in the epoch, pro rata to their weighted units but never more to a provider than the protocol
// fees its tasks paid in the epoch (SplitCapped). A provider that is its own client therefore
// gets back at most the fees it paid (docs/economics.md). What is left (an epoch without work,
// shares above their caps, rounding dust) carries over to the next epoch.
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
	available := released.Add(pool.Recycled).Sub(pool.Allocated)

	var (
		operators []sdk.AccAddress
		shares    []Share
	)
	err = k.EpochWork.Walk(ctx, nil, func(op sdk.AccAddress, w types.EpochWork) (bool, error) {
		operators = append(operators, op)
		shares = append(shares, Share{Weight: w.Weight.BigInt(), Cap: w.Fees.BigInt()})
		return false, nil
	})
	if err != nil {
		return err
	}
	distributed := math.ZeroInt()
	if available.IsPositive() {
		for i, amount := range SplitCapped(available.BigInt(), shares) {
			if amount.Sign() == 0 {
				continue
			}
			a := math.NewIntFromBigInt(amount)
			if err := k.credit(ctx, operators[i], a); err != nil {
				return err
			}
			distributed = distributed.Add(a)
		}
	}
	for _, op := range operators {
		if err := k.EpochWork.Remove(ctx, op); err != nil {
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
		Carried:     pool.Released.Add(pool.Recycled).Sub(pool.Allocated),
		Providers:   uint32(len(operators)),
	})
}

// Share is one provider's claim on an epoch: its weight and the most it may get.
type Share struct {
	Weight, Cap *big.Int
}

// SplitCapped splits available among shares pro rata to their weights, each share at most its
// cap, handing what a capped share leaves to the others (water-filling): every share gets
// min(cap, L × weight) for one level L, rounded down. The shares that reach their caps are those
// with the smallest cap per weight, so one pass in that order finds them. The result never sums
// above available, and no share gets more than its cap.
func SplitCapped(available *big.Int, shares []Share) []*big.Int {
	out := make([]*big.Int, len(shares))
	order := make([]int, 0, len(shares))
	weight := new(big.Int)
	for i, s := range shares {
		out[i] = new(big.Int)
		if s.Weight.Sign() > 0 && s.Cap.Sign() > 0 {
			order = append(order, i)
			weight.Add(weight, s.Weight)
		}
	}
	// ascending cap/weight: a.cap·b.weight < b.cap·a.weight; ties in input (key) order
	slices.SortStableFunc(order, func(a, b int) int {
		return new(big.Int).Mul(shares[a].Cap, shares[b].Weight).Cmp(new(big.Int).Mul(shares[b].Cap, shares[a].Weight))
	})
	rest := new(big.Int).Set(available)
	for n, i := range order {
		s := shares[i]
		// capped when cap/weight ≤ rest/weight_left, i.e. cap·weight_left ≤ rest·weight
		if new(big.Int).Mul(s.Cap, weight).Cmp(new(big.Int).Mul(rest, s.Weight)) <= 0 {
			out[i].Set(s.Cap)
			rest.Sub(rest, s.Cap)
			weight.Sub(weight, s.Weight)
			continue
		}
		// the level is reached: every share left is below its cap at it
		for _, j := range order[n:] {
			out[j].Mul(rest, shares[j].Weight)
			out[j].Quo(out[j], weight)
		}
		break
	}
	return out
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
