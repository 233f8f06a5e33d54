package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// EndBlocker pays out matured unbonding entries and, every reward_epoch blocks, distributes the
// provider rewards released in the epoch.
func (k Keeper) EndBlocker(ctx context.Context) error {
	if err := k.CompleteUnbondings(ctx); err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if height := sdk.UnwrapSDKContext(ctx).BlockHeight(); height > 0 && uint64(height)%params.RewardEpoch == 0 {
		return k.DistributeEpoch(ctx)
	}
	return nil
}
