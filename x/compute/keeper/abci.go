package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/gogoproto/proto"

	"github.com/opengpu/ogpu/x/compute/types"
)

// EndBlocker ends every stage whose timer is due: it matches tasks whose bid window closed,
// times out assignees past their deadline, and expires results the committee did not decide.
// It takes at most max_timers_per_block timers, oldest first; the rest wait for the next block
// in the same order, so that thousands of tasks sharing one deadline do not stall a block.
// Each task runs in its own cache: a task that cannot be processed is logged and retried next
// block instead of halting the chain.
func (k Keeper) EndBlocker(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	due, err := k.dueTimers(ctx, sdkCtx.BlockHeight(), int(params.MaxTimersPerBlock))
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
	// streams share the block's timer budget with tasks
	return k.streamEndBlock(sdkCtx, int(params.MaxTimersPerBlock)-len(due))
}

// dueTimers are the first max timers due at height h or before, collected before any is
// processed (processing moves them).
func (k Keeper) dueTimers(ctx context.Context, h int64, max int) ([]collections.Pair[int64, uint64], error) {
	it, err := k.Timers.Iterate(ctx, collections.NewPrefixUntilPairRange[int64, uint64](h))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var due []collections.Pair[int64, uint64]
	for ; it.Valid() && len(due) < max; it.Next() {
		key, err := it.Key()
		if err != nil {
			return nil, err
		}
		due = append(due, key)
	}
	return due, nil
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
		if len(task.Committee) == 0 {
			return k.drawCommittee(ctx, task)
		}
		if task.Disputed || task.Audited {
			return k.committee.ResolveUndecided(ctx, task.Id)
		}
		return k.expire(ctx, task, "no verdict within verify_window")
	case types.TASK_STATE_VERIFIED:
		return k.complete(ctx, task)
	default:
		return fmt.Errorf("task %d is %s and has a timer", id, task.State)
	}
}

// drawCommittee draws the committee of a SUBMITTED task from this block's randomness, never a
// validator of the task's creator or provider, and starts the verify window. With nobody
// eligible a first round expires (the client is refunded, nobody is slashed) and an escalation
// leaves the first verdict standing.
func (k Keeper) drawCommittee(ctx context.Context, task types.Task) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	creator, err := k.addressCodec.StringToBytes(task.Creator)
	if err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	members, err := k.committee.DrawCommittee(ctx, task.Id, []sdk.AccAddress{creator, provider})
	if err != nil {
		return err
	}
	if len(members) == 0 {
		if task.Disputed || task.Audited {
			return k.committee.ResolveUndecided(ctx, task.Id)
		}
		return k.expire(ctx, task, "no verifier eligible for the committee")
	}
	task.Committee = members
	return k.saveTask(ctx, task, sdk.UnwrapSDKContext(ctx).BlockHeight()+params.VerifyBlocks(task.Result.Size_))
}

// timeout slashes an assignee that missed its deadline and hands the task to the next-best bid
// when at least min_execution_blocks remain before the task's deadline; otherwise it expires.
func (k Keeper) timeout(ctx context.Context, task types.Task) error {
	return k.dropAssignee(ctx, task, fmt.Sprintf("missed the deadline of task %d", task.Id), false)
}

// dropAssignee slashes the assignee timeout_slash_fraction (a miss, not fraud: no jail), bars
// it from the task and hands the task to the next-best bid when at least min_execution_blocks
// remain before the deadline; otherwise the task expires. unavailable: its result could not be
// fetched by the committee.
func (k Keeper) dropAssignee(ctx context.Context, task types.Task, reason string, unavailable bool) error {
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
		if slashed, err = k.providers.Slash(ctx, provider, params.TimeoutSlashFraction, reason); err != nil {
			return err
		}
	}
	if err := k.providers.RecordFailure(ctx, provider); err != nil {
		return err
	}
	var event proto.Message = &types.EventTaskTimedOut{TaskId: task.Id, Provider: task.Provider, Slashed: slashed}
	if unavailable {
		event = &types.EventResultUnavailable{TaskId: task.Id, Provider: task.Provider, Slashed: slashed}
		if err := k.committee.TaskClosed(ctx, task.Id); err != nil {
			return err
		}
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(event); err != nil {
		return err
	}
	if err := k.releaseAssignment(ctx, task); err != nil {
		return err
	}
	if err := k.Bids.Remove(ctx, collections.Join(task.Id, sdk.AccAddress(provider))); err != nil {
		return err
	}
	task.FailedProviders = append(task.FailedProviders, task.Provider)
	task.Provider, task.Price, task.AssignedHeight, task.AssignmentDeadline, task.Committee, task.InputNonce = "", math.ZeroInt(), 0, 0, nil, nil
	task.Result, task.SubmittedHeight, task.DrawHeight = types.Blob{}, 0, 0
	task.State = types.TASK_STATE_OPEN // between assignments; match sets ASSIGNED or expires it
	if remaining := task.DeadlineHeight - sdk.UnwrapSDKContext(ctx).BlockHeight(); remaining < int64(params.MinExecutionBlocks) {
		return k.expire(ctx, task, fmt.Sprintf("assignee timed out with %d blocks left, fewer than min_execution_blocks", remaining))
	}
	return k.match(ctx, task, true)
}
