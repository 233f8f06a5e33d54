package keeper

import (
	"context"
	"errors"
	"slices"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/x/committee/types"
)

// RegisterVerifier makes the validator operated by operator a verifier.
func (k Keeper) RegisterVerifier(ctx context.Context, operator sdk.AccAddress) error {
	val := sdk.ValAddress(operator)
	valStr, err := k.valCodec.BytesToString(val)
	if err != nil {
		return err
	}
	if _, err := k.staking.GetValidator(ctx, val); errors.Is(err, stakingtypes.ErrNoValidatorFound) {
		return errorsmod.Wrapf(types.ErrNotValidator, "operator %s runs no validator (%s)", operator, valStr)
	} else if err != nil {
		return err
	}
	if has, err := k.Verifiers.Has(ctx, val); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrAlreadyRegistered, "validator %s", valStr)
	}
	return k.Verifiers.Set(ctx, val, types.Verifier{Validator: valStr, RegisteredHeight: sdk.UnwrapSDKContext(ctx).BlockHeight()})
}

// DeregisterVerifier stops the validator being drawn; committees it is on keep it.
func (k Keeper) DeregisterVerifier(ctx context.Context, operator sdk.AccAddress) error {
	val := sdk.ValAddress(operator)
	if has, err := k.Verifiers.Has(ctx, val); err != nil {
		return err
	} else if !has {
		return errorsmod.Wrapf(types.ErrNotRegistered, "operator %s", operator)
	}
	return k.Verifiers.Remove(ctx, val)
}

// eligible is a verifier that may be drawn now, with its consensus power.
type eligible struct {
	val   sdk.ValAddress
	str   string
	power int64
}

// eligibleVerifiers are the registered verifiers that are bonded, unjailed, not benched and
// hold at least min_verifier_stake, in address order, leaving out the validators operated by
// the accounts in exclude and the validators in members.
func (k Keeper) eligibleVerifiers(ctx context.Context, exclude []sdk.AccAddress, members []types.Member) ([]eligible, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	reduction := k.staking.PowerReduction(ctx)
	var out []eligible
	err = k.Verifiers.Walk(ctx, nil, func(val sdk.ValAddress, v types.Verifier) (bool, error) {
		if v.BenchedUntil > h || memberIndex(members, v.Validator) >= 0 ||
			slices.ContainsFunc(exclude, func(a sdk.AccAddress) bool { return sdk.AccAddress(val).Equals(a) }) {
			return false, nil
		}
		validator, err := k.staking.GetValidator(ctx, val)
		if errors.Is(err, stakingtypes.ErrNoValidatorFound) {
			return false, nil
		}
		if err != nil {
			return true, err
		}
		if !validator.IsBonded() || validator.IsJailed() || validator.Tokens.LT(params.MinVerifierStake) {
			return false, nil
		}
		if power := validator.ConsensusPower(reduction); power > 0 {
			out = append(out, eligible{val: val, str: v.Validator, power: power})
		}
		return false, nil
	})
	return out, err
}

func (k Keeper) getVerifier(ctx context.Context, val sdk.ValAddress) (types.Verifier, bool, error) {
	v, err := k.Verifiers.Get(ctx, val)
	if errors.Is(err, collections.ErrNotFound) {
		return v, false, nil
	}
	return v, err == nil, err
}
