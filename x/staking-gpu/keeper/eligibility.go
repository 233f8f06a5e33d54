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
// max(min_provider_stake, collateral_ratio × price), or hardware and workloads that do not meet
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
	if need := params.RequiredStake(price); p.Bonded.LT(need) {
		return errorsmod.Wrapf(types.ErrInsufficientBond, "operator %s has %s%s bonded; a bid of %s needs %s (max of min_provider_stake and collateral_ratio × price)",
			p.Operator, p.Bonded, params.BondDenom, price, need)
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
	p.CompletedTasks++
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
