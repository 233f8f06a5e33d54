package keeper

import (
	"context"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// InitGenesis loads tasks and bids and rebuilds the timers and assignments from them.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, t := range gs.Tasks {
		timer := t.TimerHeight
		t.TimerHeight = 0
		if err := k.saveTask(ctx, t, timer); err != nil {
			return err
		}
		if t.State.HasAssignee() {
			p, err := k.addressCodec.StringToBytes(t.Provider)
			if err != nil {
				return err
			}
			if err := k.ActiveByProvider.Set(ctx, collections.Join(sdk.AccAddress(p), t.Id)); err != nil {
				return err
			}
		}
	}
	for _, b := range gs.Bids {
		p, err := k.addressCodec.StringToBytes(b.Provider)
		if err != nil {
			return err
		}
		if err := k.Bids.Set(ctx, collections.Join(b.TaskId, sdk.AccAddress(p)), b); err != nil {
			return err
		}
	}
	return k.TaskSeq.Set(ctx, gs.NextTaskId)
}

// ExportGenesis writes tasks and bids in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Tasks.Walk(ctx, nil, func(_ uint64, t types.Task) (bool, error) {
		gs.Tasks = append(gs.Tasks, t)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Bids.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], b types.Bid) (bool, error) {
		gs.Bids = append(gs.Bids, b)
		return false, nil
	}); err != nil {
		return nil, err
	}
	gs.NextTaskId, err = k.TaskSeq.Peek(ctx)
	return gs, err
}
