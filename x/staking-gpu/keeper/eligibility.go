package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// Eligible returns nil when the provider may take a task with these requirements at price, and
// otherwise an error that says why: not registered, jailed, bonded stake below
// min_provider_stake, stake not locked by held tasks below collateral_ratio × price, or hardware and workloads that do not meet
// the requirements.
func (k Keeper) Eligible(ctx context.Context, operator sdk.AccAddress, reqs types.Requirements, price math.Int) error {
	if err := reqs.Validate(); err != nil {
		return err
	}
	if price.IsNil() || price.IsNegative() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "price %v: must be ≥ 0", price)
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if p.Jailed {
		return errorsmod.Wrapf(types.ErrProviderJailed, "operator %s: send MsgUnjail after %s", p.Operator, p.JailedUntil)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if p.Bonded.LT(params.MinProviderStake) {
		return errorsmod.Wrapf(types.ErrInsufficientBond, "operator %s has %s%s bonded; min_provider_stake is %s",
			p.Operator, p.Bonded, params.BondDenom, params.MinProviderStake)
	}
	if need, free := params.Collateral(price), p.Bonded.Sub(p.Locked); free.LT(need) {
		return errorsmod.Wrapf(types.ErrInsufficientBond, "operator %s has %s%s bonded, %s of it locked by held tasks; a bid of %s needs %s free (collateral_ratio × price)",
			p.Operator, p.Bonded, params.BondDenom, p.Locked, price, need)
	}
	if ok, why := p.MeetsHardware(reqs); !ok {
		return errorsmod.Wrapf(types.ErrRequirementsNotMet, "operator %s: %s", p.Operator, why)
	}
	return nil
}

// IsBondedValidator reports whether the provider's operator account also operates a bonded,
// unjailed validator.
func (k Keeper) IsBondedValidator(ctx context.Context, operator sdk.AccAddress) (bool, error) {
	v, err := k.validators.GetValidator(ctx, sdk.ValAddress(operator))
	if errors.Is(err, stakingtypes.ErrNoValidatorFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return v.IsBonded() && !v.IsJailed(), nil
}

// RecordWork credits one completed task of units verified work units to the provider: its record
// for tie-breaks and its weight in the current reward epoch (× validator_bonus when its operator
// is a bonded validator), and fee, the protocol fee the task paid into the pool, to what the
// provider may be rewarded for the epoch.
func (k Keeper) RecordWork(ctx context.Context, operator sdk.AccAddress, units, fee math.Int) error {
	return k.recordWork(ctx, operator, units, fee, true)
}

// RecordStreamWork credits the work a stream's replica was paid for on a voucher as RecordWork
// does, except that it counts no completed task: a replica redeems as often as it likes, and
// every redemption counted as a task would buy it a better record for tie-breaks.
func (k Keeper) RecordStreamWork(ctx context.Context, operator sdk.AccAddress, units, fee math.Int) error {
	return k.recordWork(ctx, operator, units, fee, false)
}

func (k Keeper) recordWork(ctx context.Context, operator sdk.AccAddress, units, fee math.Int, task bool) error {
	if units.IsNil() || units.IsNegative() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "units %v: must be ≥ 0", units)
	}
	if fee.IsNil() || fee.IsNegative() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "fee %v: must be ≥ 0", fee)
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if task {
		p.CompletedTasks++
	}
	p.WorkUnits = p.WorkUnits.Add(units)
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	if units.IsZero() {
		return nil
	}
	weight := math.LegacyNewDecFromInt(units)
	validator, err := k.IsBondedValidator(ctx, operator)
	if err != nil {
		return err
	}
	if validator {
		params, err := k.Params.Get(ctx)
		if err != nil {
			return err
		}
		weight = weight.Mul(params.ValidatorBonus)
	}
	w, err := k.EpochWork.Get(ctx, operator)
	switch {
	case errors.Is(err, collections.ErrNotFound):
		w = types.EpochWork{Operator: p.Operator, Weight: math.LegacyZeroDec(), Fees: math.ZeroInt()}
	case err != nil:
		return err
	}
	w.Weight = w.Weight.Add(weight)
	w.Fees = w.Fees.Add(fee)
	return k.EpochWork.Set(ctx, operator, w)
}

// RecordFailure counts a task the provider failed (fraud or timeout) in its record.
func (k Keeper) RecordFailure(ctx context.Context, operator sdk.AccAddress) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	p.FailedTasks++
	return k.Providers.Set(ctx, operator, p)
}

// LockCollateral locks collateral_ratio × price of the provider's bond for a task assigned to it,
// and returns the amount, which the task keeps to unlock it.
func (k Keeper) LockCollateral(ctx context.Context, operator sdk.AccAddress, price math.Int) (math.Int, error) {
	if price.IsNil() || price.IsNegative() {
		return math.Int{}, errorsmod.Wrapf(types.ErrInvalidAmount, "price %v: must be ≥ 0", price)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return math.Int{}, err
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return math.Int{}, err
	}
	amount := params.Collateral(price)
	p.Locked = p.Locked.Add(amount)
	return amount, k.Providers.Set(ctx, operator, p)
}

// RaiseCollateral raises a lock of locked, taken by LockCollateral, to collateral_ratio × price,
// and returns the new lock. It refuses with ErrInsufficientBond, changing nothing, when the
// provider's stake not locked yet cannot cover the raise; a lock already as large is kept.
func (k Keeper) RaiseCollateral(ctx context.Context, operator sdk.AccAddress, locked, price math.Int) (math.Int, error) {
	if price.IsNil() || price.IsNegative() || locked.IsNil() || locked.IsNegative() {
		return math.Int{}, errorsmod.Wrapf(types.ErrInvalidAmount, "locked %v, price %v: must be ≥ 0", locked, price)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return math.Int{}, err
	}
	need := params.Collateral(price)
	if need.LTE(locked) {
		return locked, nil
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return math.Int{}, err
	}
	if extra, free := need.Sub(locked), p.Bonded.Sub(p.Locked); free.LT(extra) {
		return math.Int{}, errorsmod.Wrapf(types.ErrInsufficientBond, "operator %s has %s%s bonded, %s of it locked; raising a collateral of %s to %s (collateral_ratio × %s) needs %s more free",
			p.Operator, p.Bonded, params.BondDenom, p.Locked, locked, need, price, extra)
	}
	p.Locked = p.Locked.Add(need.Sub(locked))
	return need, k.Providers.Set(ctx, operator, p)
}

// UnlockCollateral releases what LockCollateral locked for a task that ended or was handed on.
func (k Keeper) UnlockCollateral(ctx context.Context, operator sdk.AccAddress, amount math.Int) error {
	if amount.IsNil() || !amount.IsPositive() {
		return nil
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if amount.GT(p.Locked) {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "operator %s: unlock %s of %s locked", p.Operator, amount, p.Locked)
	}
	p.Locked = p.Locked.Sub(amount)
	return k.Providers.Set(ctx, operator, p)
}

// CheckHoldFits refuses market params under which a task can be held for more blocks than the
// provider stake's unbonding_time covers at types.MaxBlockTime.
func (k Keeper) CheckHoldFits(ctx context.Context, holdBlocks uint64) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	return types.CheckHoldFits(holdBlocks, params.UnbondingTime)
}
