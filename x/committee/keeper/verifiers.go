package keeper

import (
	"context"
	"errors"

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
	k.eligible.forget()
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
	k.eligible.forget()
	return k.Verifiers.Remove(ctx, val)
}

func (k Keeper) getVerifier(ctx context.Context, val sdk.ValAddress) (types.Verifier, bool, error) {
	v, err := k.Verifiers.Get(ctx, val)
	if errors.Is(err, collections.ErrNotFound) {
		return v, false, nil
	}
	return v, err == nil, err
}
