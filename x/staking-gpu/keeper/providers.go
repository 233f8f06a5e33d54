package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// GetProvider returns the provider record of operator.
func (k Keeper) GetProvider(ctx context.Context, operator sdk.AccAddress) (types.Provider, error) {
	p, err := k.Providers.Get(ctx, operator)
	if errors.Is(err, collections.ErrNotFound) {
		return p, errorsmod.Wrapf(types.ErrProviderNotFound, "operator %s", k.str(operator))
	}
	if p.Locked.IsNil() {
		p.Locked = math.ZeroInt()
	}
	return p, err
}

// RegisterProvider creates the record of a new provider with nothing bonded.
func (k Keeper) RegisterProvider(ctx context.Context, operator sdk.AccAddress, moniker, endpoint string, gpus []types.GPU, workloads []string) error {
	if err := k.checkSpec(ctx, moniker, endpoint, gpus, workloads); err != nil {
		return err
	}
	if has, err := k.Providers.Has(ctx, operator); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrProviderExists, "operator %s: use MsgUpdateProvider to change the record", k.str(operator))
	}
	p := types.Provider{
		Operator:         k.str(operator),
		Moniker:          moniker,
		Endpoint:         endpoint,
		Gpus:             gpus,
		Workloads:        workloads,
		Bonded:           math.ZeroInt(),
		WorkUnits:        math.ZeroInt(),
		Locked:           math.ZeroInt(),
		RegisteredHeight: sdk.UnwrapSDKContext(ctx).BlockHeight(),
	}
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderRegistered{
		Operator: p.Operator, Endpoint: endpoint, Gpus: uint32(len(gpus)),
	})
}

// UpdateProvider replaces what a provider declares about itself; stake and record stay.
func (k Keeper) UpdateProvider(ctx context.Context, operator sdk.AccAddress, moniker, endpoint string, gpus []types.GPU, workloads []string) error {
	if err := k.checkSpec(ctx, moniker, endpoint, gpus, workloads); err != nil {
		return err
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	p.Moniker, p.Endpoint, p.Gpus, p.Workloads = moniker, endpoint, gpus, workloads
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderUpdated{
		Operator: p.Operator, Endpoint: endpoint, Gpus: uint32(len(gpus)),
	})
}

// DeregisterProvider removes a provider that has no stake, no unbonding stake and no open work.
// Accrued rewards stay withdrawable.
func (k Keeper) DeregisterProvider(ctx context.Context, operator sdk.AccAddress) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	unbonding, _, err := k.unbondingOf(ctx, operator)
	if err != nil {
		return err
	}
	if p.Bonded.IsPositive() || unbonding.IsPositive() {
		return errorsmod.Wrapf(types.ErrStakeRemaining, "operator %s has %s bonded and %s unbonding: unbond and wait for it to mature first", p.Operator, p.Bonded, unbonding)
	}
	if k.work.WorkTracker != nil {
		open, err := k.work.HasOpenWork(ctx, operator)
		if err != nil {
			return err
		}
		if open {
			return errorsmod.Wrapf(types.ErrOpenWork, "operator %s: finish or let expire its assigned tasks first", p.Operator)
		}
	}
	if err := k.Providers.Remove(ctx, operator); err != nil {
		return err
	}
	if err := k.EpochWork.Remove(ctx, operator); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderDeregistered{Operator: p.Operator})
}

// checkSpec applies the stateless rules and the max_gpus parameter.
func (k Keeper) checkSpec(ctx context.Context, moniker, endpoint string, gpus []types.GPU, workloads []string) error {
	if err := types.ValidateProviderSpec(moniker, endpoint, gpus, workloads); err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if len(gpus) > int(params.MaxGpus) {
		return errorsmod.Wrapf(types.ErrInvalidGPU, "gpus: %d listed, at most max_gpus = %d", len(gpus), params.MaxGpus)
	}
	return nil
}

// str renders an account address; the codec cannot fail on 20-byte addresses.
func (k Keeper) str(addr sdk.AccAddress) string {
	s, err := k.addressCodec.BytesToString(addr)
	if err != nil {
		return addr.String()
	}
	return s
}
