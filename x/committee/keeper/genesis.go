package keeper

import (
	"context"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
)

// InitGenesis loads the state.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	k.eligible.forget()
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, v := range gs.Verifiers {
		val, err := k.valCodec.StringToBytes(v.Validator)
		if err != nil {
			return err
		}
		if err := k.Verifiers.Set(ctx, val, v); err != nil {
			return err
		}
	}
	for _, c := range gs.Committees {
		if err := k.Committees.Set(ctx, c.TaskId, c); err != nil {
			return err
		}
	}
	for _, a := range gs.Attestations {
		val, err := k.valCodec.StringToBytes(a.Validator)
		if err != nil {
			return err
		}
		if err := k.Attestations.Set(ctx, collections.Join(a.TaskId, sdk.ValAddress(val)), a); err != nil {
			return err
		}
	}
	for _, p := range gs.Tallies {
		if err := k.Tallies.Set(ctx, collections.Join(p.Height, p.TaskId)); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis writes the state in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Verifiers.Walk(ctx, nil, func(_ sdk.ValAddress, v types.Verifier) (bool, error) {
		gs.Verifiers = append(gs.Verifiers, v)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Committees.Walk(ctx, nil, func(_ uint64, c types.Committee) (bool, error) {
		gs.Committees = append(gs.Committees, c)
		return false, nil
	}); err != nil {
		return nil, err
	}
	err = k.Attestations.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.ValAddress], a types.RecordedAttestation) (bool, error) {
		gs.Attestations = append(gs.Attestations, a)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.Tallies.Walk(ctx, nil, func(key collections.Pair[int64, uint64]) (bool, error) {
		gs.Tallies = append(gs.Tallies, types.PendingTally{Height: key.K1(), TaskId: key.K2()})
		return false, nil
	})
	return gs, err
}
