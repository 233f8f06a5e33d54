package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// EndBlocker ends every stage whose timer is due: it matches tasks whose bid window closed,
// times out assignees past their deadline, and expires results the committee did not decide.
// Each task runs in its own cache: a task that cannot be processed is logged and retried next
// block instead of halting the chain.
func (k Keeper) EndBlocker(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	it, err := k.Timers.Iterate(ctx, collections.NewPrefixUntilPairRange[int64, uint64](sdkCtx.BlockHeight()))
	if err != nil {
		return err
	}
	due, err := it.Keys() // collected first: processing moves the timers
	if err != nil {
		return err
	}
	for _, key := range due {
		cacheCtx, write := sdkCtx.CacheContext()
		if err := k.onTimer(cacheCtx, key.K2()); err != nil {
			sdkCtx.Logger().Error("compute: task timer failed; retrying next block", "task", key.K2(), "err", err)
			continue
		}
		write()
	}
	return nil
}

func (k Keeper) onTimer(ctx context.Context, id uint64) error {
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	switch task.State {
	case types.TASK_STATE_OPEN:
		return k.match(ctx, task, false)
	case types.TASK_STATE_ASSIGNED:
		return k.timeout(ctx, task)
	case types.TASK_STATE_SUBMITTED:
		return k.expire(ctx, task, "no verdict within verify_window")
	default:
		return fmt.Errorf("task %d is %s and has a timer", id, task.State)
	}
}

// timeout slashes an assignee that missed its deadline and hands the task to the next-best bid
// when at least min_execution_blocks remain before the task's deadline; otherwise it expires.
func (k Keeper) timeout(ctx context.Context, task types.Task) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	slashed := math.ZeroInt()
	if params.TimeoutSlashFraction.IsPositive() { // governance may turn the timeout slash off
		if slashed, err = k.providers.Slash(ctx, provider, params.TimeoutSlashFraction, fmt.Sprintf("missed the deadline of task %d", task.Id)); err != nil {
			return err
		}
	}
	if err := k.providers.RecordFailure(ctx, provider); err != nil {
		return err
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskTimedOut{
		TaskId: task.Id, Provider: task.Provider, Slashed: slashed,
	}); err != nil {
		return err
	}
	if err := k.releaseAssignment(ctx, task); err != nil {
		return err
	}
	if err := k.Bids.Remove(ctx, collections.Join(task.Id, sdk.AccAddress(provider))); err != nil {
		return err
	}
	task.FailedProviders = append(task.FailedProviders, task.Provider)
	task.Provider, task.Price, task.AssignedHeight, task.AssignmentDeadline, task.Committee = "", math.ZeroInt(), 0, 0, nil
	task.State = types.TASK_STATE_OPEN // between assignments; match sets ASSIGNED or expires it
	if remaining := task.DeadlineHeight - sdk.UnwrapSDKContext(ctx).BlockHeight(); remaining < int64(params.MinExecutionBlocks) {
		return k.expire(ctx, task, fmt.Sprintf("assignee timed out with %d blocks left, fewer than min_execution_blocks", remaining))
	}
	return k.match(ctx, task, true)
}
