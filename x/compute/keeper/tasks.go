package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// GetTask returns a task by id.
func (k Keeper) GetTask(ctx context.Context, id uint64) (types.Task, error) {
	t, err := k.Tasks.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return t, errorsmod.Wrapf(types.ErrTaskNotFound, "task %d", id)
	}
	return t, err
}

// CreateTask locks the task's escrow from the creator and opens it for bids.
func (k Keeper) CreateTask(ctx context.Context, creator sdk.AccAddress, msg *types.MsgCreateTask) (uint64, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	if msg.MaxPrice.Denom != params.Denom {
		return 0, errorsmod.Wrapf(types.ErrInvalidPrice, "max_price %s: must be in %s", msg.MaxPrice, params.Denom)
	}
	if msg.Deadline < params.MinDeadline() || msg.Deadline > params.MaxDeadlineBlocks {
		return 0, errorsmod.Wrapf(types.ErrInvalidDeadline, "deadline %d blocks: must be in [bid_window + min_execution_blocks = %d, max_deadline_blocks = %d]",
			msg.Deadline, params.MinDeadline(), params.MaxDeadlineBlocks)
	}
	if msg.ExecutionBlocks != 0 && (msg.ExecutionBlocks < params.MinExecutionBlocks || msg.ExecutionBlocks > msg.Deadline-params.BidWindow) {
		return 0, errorsmod.Wrapf(types.ErrInvalidDeadline, "execution_blocks %d: must be 0 or in [min_execution_blocks = %d, deadline − bid_window = %d]",
			msg.ExecutionBlocks, params.MinExecutionBlocks, msg.Deadline-params.BidWindow)
	}
	maxPrice := msg.MaxPrice.Amount
	fee := params.CommitteeFee(maxPrice)
	deposit := params.SecurityDeposit(maxPrice)
	escrow := maxPrice.Add(fee).Add(deposit)
	if err := k.bank.SendCoinsFromAccountToModule(ctx, creator, types.ModuleName, sdk.NewCoins(sdk.NewCoin(params.Denom, escrow))); err != nil {
		return 0, errorsmod.Wrapf(err, "lock escrow of %s%s (max_price + committee fee + security deposit)", escrow, params.Denom)
	}
	id, err := k.TaskSeq.Next(ctx)
	if err != nil {
		return 0, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	task := types.Task{
		Id:              id,
		Creator:         k.str(creator),
		Workload:        msg.Workload,
		Requirements:    msg.Requirements,
		MaxPrice:        maxPrice,
		Payment:         msg.Payment,
		Inputs:          msg.Inputs,
		State:           types.TASK_STATE_OPEN,
		CreatedHeight:   h,
		BidWindowEnd:    h + int64(params.BidWindow),
		DeadlineHeight:  h + int64(msg.Deadline),
		Escrow:          escrow,
		CommitteeFee:    fee,
		SecurityDeposit: deposit,
		Price:           math.ZeroInt(),
		Paid:            math.ZeroInt(),
		Refunded:        math.ZeroInt(),
		ExecutionBlocks: msg.ExecutionBlocks,
		DisputeBond:     math.ZeroInt(),
		CommitteePaid:   math.ZeroInt(),
		ProtocolFee:     math.ZeroInt(),
	}
	if err := k.saveTask(ctx, task, task.BidWindowEnd); err != nil {
		return 0, err
	}
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskCreated{
		TaskId: id, Creator: task.Creator, Workload: task.Workload.Name, MaxPrice: maxPrice, Escrow: escrow,
		BidWindowEnd: task.BidWindowEnd, DeadlineHeight: task.DeadlineHeight,
	})
}

// CancelTask ends an OPEN task at its creator's request and refunds the whole escrow.
func (k Keeper) CancelTask(ctx context.Context, creator sdk.AccAddress, id uint64) error {
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if task.Creator != k.str(creator) {
		return errorsmod.Wrapf(types.ErrNotCreator, "task %d was created by %s", id, task.Creator)
	}
	if task.State != types.TASK_STATE_OPEN {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: only an OPEN task can be cancelled", id, task.State)
	}
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	if err := k.finish(ctx, task, types.TASK_STATE_CANCELLED, "cancelled by the creator"); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskCancelled{TaskId: id, Refunded: refund})
}

// saveTask writes the task and moves its timer to timerHeight (0: no timer).
func (k Keeper) saveTask(ctx context.Context, task types.Task, timerHeight int64) error {
	if task.TimerHeight != 0 && task.TimerHeight != timerHeight {
		if err := k.Timers.Remove(ctx, collections.Join(task.TimerHeight, task.Id)); err != nil {
			return err
		}
	}
	task.TimerHeight = timerHeight
	if timerHeight != 0 {
		if err := k.Timers.Set(ctx, collections.Join(timerHeight, task.Id)); err != nil {
			return err
		}
	}
	return k.Tasks.Set(ctx, task.Id, task)
}

// finish puts the task in a final state: its escrow must be paid out already; its bids, timer and
// assignment are removed.
func (k Keeper) finish(ctx context.Context, task types.Task, state types.TaskState, outcome string) error {
	if !task.Escrow.IsZero() {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d still holds %s in escrow", task.Id, task.Escrow)
	}
	if err := k.releaseAssignment(ctx, task); err != nil {
		return err
	}
	if err := k.removeBids(ctx, task.Id); err != nil {
		return err
	}
	task.State = state
	task.Outcome = outcome
	task.FinalHeight = sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.saveTask(ctx, task, 0); err != nil {
		return err
	}
	if k.committee.CommitteeKeeper != nil {
		return k.committee.TaskClosed(ctx, task.Id)
	}
	return nil
}

// releaseAssignment forgets that the task's provider is working on it and unlocks the
// collateral the assignment locked.
func (k Keeper) releaseAssignment(ctx context.Context, task types.Task) error {
	if task.Provider == "" {
		return nil
	}
	p, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	if err := k.providers.UnlockCollateral(ctx, p, task.Collateral); err != nil {
		return err
	}
	return k.ActiveByProvider.Remove(ctx, collections.Join(sdk.AccAddress(p), task.Id))
}

// HeldTasks lists up to limit ids of the tasks the provider holds (assigned and not final).
func (k Keeper) HeldTasks(ctx context.Context, provider sdk.AccAddress, limit int) ([]uint64, error) {
	it, err := k.ActiveByProvider.Iterate(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](provider))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var ids []uint64
	for ; it.Valid() && len(ids) < limit; it.Next() {
		key, err := it.Key()
		if err != nil {
			return nil, err
		}
		ids = append(ids, key.K2())
	}
	return ids, nil
}

// LongestHoldBlocks is the most blocks a provider can hold a task: the longest deadline, the
// verify window of the largest result, the dispute window and the block of the draw.
func (k Keeper) LongestHoldBlocks(ctx context.Context) (uint64, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	return params.LongestHoldBlocks(), nil
}

// HasOpenWork reports whether the provider is assigned a task that is not final yet, or serves
// a stream that has not settled.
func (k Keeper) HasOpenWork(ctx context.Context, provider sdk.AccAddress) (bool, error) {
	for _, ks := range []collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]{k.ActiveByProvider, k.StreamsByProvider} {
		it, err := ks.Iterate(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](provider))
		if err != nil {
			return false, err
		}
		valid := it.Valid()
		it.Close()
		if valid {
			return true, nil
		}
	}
	return false, nil
}
