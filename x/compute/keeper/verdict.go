package keeper

import (
	"context"
	"fmt"
	"math/big"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// ApplyVerdict ends a SUBMITTED task with the committee's verdict. attesters are the members on
// the winning side with their power; they share the committee fee of a completed task.
//
//   - VALID on a result: COMPLETED. The provider gets price × f(submitted height), the attesters
//     share committee_fee_ratio × price by power (rounded down), the client gets the rest, and
//     the provider's work units are recorded for rewards.
//   - INVALID, or VALID/INVALID on an input-unavailable report (the inputs were there): FAILED.
//     The client is refunded in full; the provider is slashed fraud_slash_fraction and jailed.
//   - INPUT_UNAVAILABLE: the client's inputs could not be fetched. The security deposit goes to
//     the provider, the rest back to the client, and the task ends EXPIRED.
func (k Keeper) ApplyVerdict(ctx context.Context, id uint64, verdict types.Verdict, attesters []types.Attester) error {
	if err := types.ValidateVerdict(verdict, attesters); err != nil {
		return err
	}
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if task.State != types.TASK_STATE_SUBMITTED {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: verdicts apply only to SUBMITTED tasks", id, task.State)
	}
	switch {
	case verdict == types.VERDICT_INPUT_UNAVAILABLE:
		return k.inputUnavailable(ctx, task)
	case verdict == types.VERDICT_VALID && !task.InputUnavailable:
		return k.complete(ctx, task, attesters)
	default:
		reason := fmt.Sprintf("result %s of task %d found invalid", task.Result.Sha256, id)
		if task.InputUnavailable {
			reason = fmt.Sprintf("inputs of task %d reported unavailable but found available", id)
		}
		return k.fail(ctx, task, reason)
	}
}

func (k Keeper) complete(ctx context.Context, task types.Task, attesters []types.Attester) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	pay := task.Payment.Pay(task.Price, task.CreatedHeight, task.DeadlineHeight, task.SubmittedHeight)
	if err := k.payOut(ctx, &task, task.Provider, pay); err != nil {
		return err
	}
	task.Paid = pay
	fee := math.MinInt(params.CommitteeFee(task.Price), task.CommitteeFee)
	feePaid := math.ZeroInt()
	for _, share := range SplitByPower(fee, attesters) {
		if err := k.payOut(ctx, &task, share.operator, share.amount); err != nil {
			return err
		}
		feePaid = feePaid.Add(share.amount)
	}
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
	if err := k.providers.RecordWork(ctx, provider, math.NewIntFromUint64(p.WorkUnits())); err != nil {
		return err
	}
	if err := k.finish(ctx, task, types.TASK_STATE_COMPLETED, "result verified"); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskCompleted{
		TaskId: task.Id, Provider: task.Provider, Paid: pay, CommitteeFee: feePaid, Refunded: refund, ResultSha256: task.Result.Sha256,
	})
}

func (k Keeper) fail(ctx context.Context, task types.Task, reason string) error {
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	slashed, err := k.providers.PenalizeFraud(ctx, provider, reason)
	if err != nil {
		return errorsmod.Wrapf(err, "penalize the provider of task %d", task.Id)
	}
	if err := k.finish(ctx, task, types.TASK_STATE_FAILED, reason); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskFailed{
		TaskId: task.Id, Provider: task.Provider, Slashed: slashed, Refunded: refund, Reason: reason,
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

// FeeShare is one attester's part of the committee fee.
type FeeShare struct {
	operator string
	amount   math.Int
}

// Amount is the share.
func (s FeeShare) Amount() math.Int { return s.amount }

// SplitByPower splits fee among the attesters pro rata to their power, each share rounded down;
// what rounding leaves stays in escrow and goes back to the client.
func SplitByPower(fee math.Int, attesters []types.Attester) []FeeShare {
	total := new(big.Int)
	for _, a := range attesters {
		total.Add(total, big.NewInt(a.Power))
	}
	if total.Sign() == 0 || !fee.IsPositive() {
		return nil
	}
	shares := make([]FeeShare, 0, len(attesters))
	for _, a := range attesters {
		s := new(big.Int).Mul(fee.BigInt(), big.NewInt(a.Power))
		shares = append(shares, FeeShare{operator: a.Operator, amount: math.NewIntFromBigInt(s.Quo(s, total))})
	}
	return shares
}
