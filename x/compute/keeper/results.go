package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// assignedTo returns the task if it is ASSIGNED to provider and its assignment has not run out.
func (k Keeper) assignedTo(ctx context.Context, provider sdk.AccAddress, id uint64) (types.Task, error) {
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return task, err
	}
	if task.State != types.TASK_STATE_ASSIGNED {
		return task, errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: results are taken only while ASSIGNED", id, task.State)
	}
	if task.Provider != k.str(provider) {
		return task, errorsmod.Wrapf(types.ErrNotAssignee, "task %d is assigned to %s", id, task.Provider)
	}
	if h := sdk.UnwrapSDKContext(ctx).BlockHeight(); h > task.AssignmentDeadline {
		return task, errorsmod.Wrapf(types.ErrDeadlinePassed, "task %d had to be submitted by height %d; this is %d", id, task.AssignmentDeadline, h)
	}
	return task, nil
}

// SubmitResult records the assignee's result and starts the committee's verify window.
func (k Keeper) SubmitResult(ctx context.Context, provider sdk.AccAddress, id uint64, result types.Blob) error {
	task, err := k.assignedTo(ctx, provider, id)
	if err != nil {
		return err
	}
	if err := result.ValidateResult(); err != nil {
		return err
	}
	p, err := task.Workload.TypedParams()
	if err != nil {
		return err
	}
	if want := p.ResultSize(); result.Size_ != want {
		return errorsmod.Wrapf(types.ErrInvalidResult, "size %d: a %s result of this task is exactly %d bytes", result.Size_, task.Workload.Name, want)
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	task.State = types.TASK_STATE_SUBMITTED
	task.Result = result
	task.SubmittedHeight = h
	if err := k.awaitDraw(ctx, &task); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventResultSubmitted{
		TaskId: id, Provider: task.Provider, Result: result, DrawHeight: task.DrawHeight,
	})
}

// awaitDraw saves a SUBMITTED task whose committee is drawn from the randomness of the next
// block: what is submitted in this one can no longer be withdrawn, cancelled or re-bid.
func (k Keeper) awaitDraw(ctx context.Context, task *types.Task) error {
	task.Committee = nil
	task.DrawHeight = sdk.UnwrapSDKContext(ctx).BlockHeight() + 1
	return k.saveTask(ctx, *task, task.DrawHeight)
}

// ReportInputUnavailable is the assignee's claim that the task's inputs cannot be fetched; a
// committee checks it at once. Only an ASSIGNED task can be reported: once a result is
// submitted its provider has the inputs (content-addressed) and serves them to the committee.
func (k Keeper) ReportInputUnavailable(ctx context.Context, provider sdk.AccAddress, id uint64) error {
	task, err := k.assignedTo(ctx, provider, id)
	if err != nil {
		return err
	}
	if len(task.Inputs) == 0 {
		return errorsmod.Wrapf(types.ErrInvalidInput, "task %d has no inputs to be unavailable: its data comes from seeds", id)
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	task.State = types.TASK_STATE_SUBMITTED
	task.InputUnavailable = true
	task.SubmittedHeight = h
	if err := k.awaitDraw(ctx, &task); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventInputUnavailableReported{
		TaskId: id, Provider: task.Provider, DrawHeight: task.DrawHeight,
	})
}
