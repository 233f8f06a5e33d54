package keeper

import (
	"context"
	"fmt"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// ApplyVerdict ends a committee round on a SUBMITTED task (x/committee calls it):
//
//   - VALID on a result: the members in s.Paid share the committee fee. A first round leaves the
//     task VERIFIED: the provider is paid when the creator accepts or the dispute window passes.
//     An escalation's VALID is final: the provider is paid now, and the bond of a failed dispute
//     goes to the escalation members in s.Escalation.
//   - INVALID on a result: FAILED. The client gets all its escrow back (a dispute's bond too);
//     the provider is slashed fraud_slash_fraction and jailed, and its slash pays the committee
//     fee to s.Paid and, for a dispute that proved the result wrong, the bond again to the client
//     as its reward.
//   - RESULT_UNAVAILABLE: the provider is slashed as for a missed deadline (not jailed) and the
//     task goes to the next bid when time remains; from an escalation committee (Final), the task
//     ends FAILED and the client is refunded (withheld).
//   - On an input-unavailable report: INPUT_UNAVAILABLE confirms it (the security deposit goes
//     to the provider, the rest back to the client, the task EXPIRED); VALID (the inputs were
//     fetched) rejects it: nobody is slashed and the provider goes on with the task.
func (k Keeper) ApplyVerdict(ctx context.Context, id uint64, s types.Settlement) error {
	if err := s.Validate(); err != nil {
		return err
	}
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if task.State != types.TASK_STATE_SUBMITTED {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: verdicts apply only to SUBMITTED tasks", id, task.State)
	}
	if task.InputUnavailable {
		switch s.Verdict {
		case types.VERDICT_INPUT_UNAVAILABLE:
			return k.inputUnavailable(ctx, task)
		case types.VERDICT_VALID:
			return k.rejectReport(ctx, task)
		}
		return errorsmod.Wrapf(types.ErrInvalidVerdict, "task %d reported its inputs unavailable: verdict %s does not apply", id, s.Verdict)
	}
	if task.StreamId != 0 {
		return k.streamVerdict(ctx, task, s)
	}
	switch s.Verdict {
	case types.VERDICT_RESULT_UNAVAILABLE:
		if s.Final {
			return k.withheld(ctx, task)
		}
		return k.dropAssignee(ctx, task, fmt.Sprintf("result of task %d could not be fetched by its committee", id), true)
	case types.VERDICT_INVALID:
		return k.fail(ctx, task, s, fmt.Sprintf("result %s of task %d found invalid", task.Result.Sha256, id))
	case types.VERDICT_VALID:
		if err := k.payCommittee(ctx, &task, s); err != nil {
			return err
		}
		if s.Final {
			return k.complete(ctx, task)
		}
		return k.verified(ctx, task)
	}
	return errorsmod.Wrapf(types.ErrInvalidVerdict, "task %d: verdict %s does not apply to a result", id, s.Verdict)
}

// payCommittee pays s.Paid their equal shares of the committee fee the task still holds and,
// after a failed dispute, s.Escalation their equal shares of the bond.
func (k Keeper) payCommittee(ctx context.Context, task *types.Task, s types.Settlement) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	fee := math.MinInt(params.CommitteeFee(task.Price), task.CommitteeFee)
	share := types.EqualShare(fee, len(s.Paid), s.MaxShare)
	for _, member := range s.Paid {
		if err := k.payOut(ctx, task, member, share); err != nil {
			return err
		}
		task.CommitteeFee = task.CommitteeFee.Sub(share)
		task.CommitteePaid = paidSoFar(*task).Add(share)
	}
	if task.Disputed && s.Final && bond(*task).IsPositive() {
		b := bond(*task)
		share := types.EqualShare(b, len(s.Escalation), b)
		for _, member := range s.Escalation {
			if err := k.payOut(ctx, task, member, share); err != nil {
				return err
			}
		}
	}
	return nil
}

func bond(t types.Task) math.Int {
	if t.DisputeBond.IsNil() {
		return math.ZeroInt()
	}
	return t.DisputeBond
}

// verified holds a first-round VALID result for the dispute window.
func (k Keeper) verified(ctx context.Context, task types.Task) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	task.State = types.TASK_STATE_VERIFIED
	task.VerifiedHeight = h
	task.DisputeEnd = h + int64(params.DisputeWindow)
	if err := k.saveTask(ctx, task, task.DisputeEnd); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventResultVerified{
		TaskId: task.Id, Provider: task.Provider, DisputeEnd: task.DisputeEnd, Creator: task.Creator,
		ResultSha256: task.Result.Sha256,
	})
}

// complete pays the provider price × f(submitted height) less the protocol fee, which goes into
// the provider reward pool, returns the rest of the escrow to the client, and records the
// provider's work units and the fee for rewards.
func (k Keeper) complete(ctx context.Context, task types.Task) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	pay := task.Payment.Pay(task.Price, task.CreatedHeight, task.DeadlineHeight, task.SubmittedHeight)
	fee := params.ProtocolFee(pay)
	if err := k.payOut(ctx, &task, task.Provider, pay.Sub(fee)); err != nil {
		return err
	}
	if fee.IsPositive() {
		if fee.GT(task.Escrow) {
			return errorsmod.Wrapf(types.ErrWrongState, "task %d: protocol fee %s out of an escrow of %s", task.Id, fee, task.Escrow)
		}
		if err := k.providers.RecycleFee(ctx, types.ModuleName, fee); err != nil {
			return err
		}
		task.Escrow = task.Escrow.Sub(fee)
	}
	task.Paid, task.ProtocolFee = pay.Sub(fee), fee
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	p, err := task.Workload.TypedParams()
	if err != nil {
		return err
	}
	if err := k.providers.RecordWork(ctx, provider, math.NewIntFromUint64(p.WorkUnits()), fee); err != nil {
		return err
	}
	if err := k.finish(ctx, task, types.TASK_STATE_COMPLETED, "result verified"); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskCompleted{
		TaskId: task.Id, Provider: task.Provider, Paid: task.Paid, CommitteeFee: paidSoFar(task), Refunded: refund, ResultSha256: task.Result.Sha256,
		ProtocolFee: fee, Creator: task.Creator,
	})
}

func paidSoFar(t types.Task) math.Int {
	if t.CommitteePaid.IsNil() {
		return math.ZeroInt()
	}
	return t.CommitteePaid
}

func (k Keeper) fail(ctx context.Context, task types.Task, s types.Settlement, reason string) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	share := types.EqualShare(params.CommitteeFee(task.Price), len(s.Paid), s.MaxShare)
	payees := make([]stakinggputypes.Payee, 0, len(s.Paid)+1)
	for _, member := range s.Paid {
		addr, err := k.addressCodec.StringToBytes(member)
		if err != nil {
			return err
		}
		payees = append(payees, stakinggputypes.Payee{Address: addr, Amount: share})
	}
	if task.Disputed && bond(task).IsPositive() {
		creator, err := k.addressCodec.StringToBytes(task.Creator)
		if err != nil {
			return err
		}
		payees = append(payees, stakinggputypes.Payee{Address: creator, Amount: bond(task)})
		reason = fmt.Sprintf("%s after the creator's dispute", reason)
	}
	slashed, paid, err := k.providers.PenalizeFraud(ctx, provider, reason, payees)
	if err != nil {
		return errorsmod.Wrapf(err, "penalize the provider of task %d", task.Id)
	}
	feePaid := math.ZeroInt()
	for i := range s.Paid {
		feePaid = feePaid.Add(paid[i])
	}
	if err := k.finish(ctx, task, types.TASK_STATE_FAILED, reason); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskFailed{
		TaskId: task.Id, Provider: task.Provider, Slashed: slashed, Refunded: refund, Reason: reason, CommitteeFee: feePaid,
		Creator: task.Creator,
	})
}

// withheld ends a task whose result its escalation committee could not fetch: the provider had
// to keep serving it to an audit or a dispute, so nothing proves it right. The client gets its
// escrow back (a dispute's bond too), the provider is slashed timeout_slash_fraction as for a
// miss (not jailed: unavailability proves no fraud) and is not paid.
func (k Keeper) withheld(ctx context.Context, task types.Task) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("result of task %d withheld from its escalation committee", task.Id)
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	slashed := math.ZeroInt()
	if params.TimeoutSlashFraction.IsPositive() {
		if slashed, err = k.providers.Slash(ctx, provider, params.TimeoutSlashFraction, reason); err != nil {
			return err
		}
	}
	if err := k.providers.RecordFailure(ctx, provider); err != nil {
		return err
	}
	if err := k.finish(ctx, task, types.TASK_STATE_FAILED, reason); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskFailed{
		TaskId: task.Id, Provider: task.Provider, Slashed: slashed, Refunded: refund, Reason: reason, CommitteeFee: math.ZeroInt(),
		Creator: task.Creator,
	})
}

func (k Keeper) inputUnavailable(ctx context.Context, task types.Task) error {
	deposit := task.SecurityDeposit
	if err := k.payOut(ctx, &task, task.Provider, deposit); err != nil {
		return err
	}
	task.Paid = deposit
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	if err := k.finish(ctx, task, types.TASK_STATE_EXPIRED, "inputs unavailable: the security deposit went to the provider"); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventInputUnavailableConfirmed{
		TaskId: task.Id, Provider: task.Provider, Deposit: deposit, Refunded: refund,
	})
}

// rejectReport: the committee fetched the inputs the provider said it could not. Nobody is
// slashed (the client may have served them only now); the provider goes on with the task, with
// at least min_execution_blocks left when the deadline allows.
func (k Keeper) rejectReport(ctx context.Context, task types.Task) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := k.committee.TaskClosed(ctx, task.Id); err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if h >= task.DeadlineHeight {
		return k.expire(ctx, task, "input-unavailable report rejected with no time left")
	}
	task.State = types.TASK_STATE_ASSIGNED
	task.InputUnavailable, task.SubmittedHeight, task.DrawHeight, task.Committee = false, 0, 0, nil
	task.AssignmentDeadline = min(task.DeadlineHeight, max(task.AssignmentDeadline, h+int64(params.MinExecutionBlocks)))
	if err := k.saveTask(ctx, task, task.AssignmentDeadline); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventInputReportRejected{TaskId: task.Id, Provider: task.Provider})
}

// AcceptResult is the creator's acceptance of a VERIFIED result: the provider is paid now.
func (k Keeper) AcceptResult(ctx context.Context, creator sdk.AccAddress, id uint64) error {
	task, err := k.verifiedBy(ctx, creator, id)
	if err != nil {
		return err
	}
	return k.complete(ctx, task)
}

// DisputeResult is the creator's claim that a VERIFIED result is wrong: it locks
// dispute_bond_ratio × price and sends the result to an escalation committee drawn in the next
// block. It is refused when no escalation committee could be drawn (e.g. a single validator).
func (k Keeper) DisputeResult(ctx context.Context, creator sdk.AccAddress, id uint64) error {
	task, err := k.verifiedBy(ctx, creator, id)
	if err != nil {
		return err
	}
	if h := sdk.UnwrapSDKContext(ctx).BlockHeight(); h > task.DisputeEnd {
		return errorsmod.Wrapf(types.ErrDisputeClosed, "task %d could be disputed until height %d; this is %d", id, task.DisputeEnd, h)
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	if ok, err := k.committee.CanEscalate(ctx, id, []sdk.AccAddress{creator, provider}); err != nil {
		return err
	} else if !ok {
		return errorsmod.Wrapf(types.ErrNoEscalation, "task %d: every eligible verifier sat on its committee or is a party", id)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	b := params.DisputeBond(task.Price)
	if b.IsPositive() {
		if err := k.bank.SendCoinsFromAccountToModule(ctx, creator, types.ModuleName, sdk.NewCoins(sdk.NewCoin(params.Denom, b))); err != nil {
			return errorsmod.Wrapf(err, "lock the dispute bond of %s%s (dispute_bond_ratio × price)", b, params.Denom)
		}
	}
	if err := k.committee.Escalate(ctx, id, task.Creator); err != nil {
		return err
	}
	task.DisputeBond = b
	task.Escrow = task.Escrow.Add(b)
	task.Disputed = true
	task.State = types.TASK_STATE_SUBMITTED
	if err := k.awaitDraw(ctx, &task); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventResultDisputed{TaskId: id, Creator: task.Creator, Bond: b})
}

// StartEscalation holds a SUBMITTED task whose first verdict is being audited; the escalation
// committee is drawn in the next block.
func (k Keeper) StartEscalation(ctx context.Context, id uint64) error {
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if task.State != types.TASK_STATE_SUBMITTED {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: only a SUBMITTED task is audited", id, task.State)
	}
	task.Audited = true
	return k.awaitDraw(ctx, &task)
}

func (k Keeper) verifiedBy(ctx context.Context, creator sdk.AccAddress, id uint64) (types.Task, error) {
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return task, err
	}
	if task.Creator != k.str(creator) {
		return task, errorsmod.Wrapf(types.ErrNotCreator, "task %d was created by %s", id, task.Creator)
	}
	if task.State != types.TASK_STATE_VERIFIED {
		return task, errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: only a VERIFIED result can be accepted or disputed", id, task.State)
	}
	return task, nil
}
