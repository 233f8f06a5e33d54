package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// streamVerdict ends a stream's check task:
//
//   - VALID: the members in s.Paid share the task's committee fee; the rest goes back to the
//     stream's client. The replica is not paid by a check, and there is no dispute window.
//   - INVALID: the replica is slashed fraud_slash_fraction and jailed; the slash pays the
//     members (the same share) and refunds the client what the replica claimed during the
//     checked period; the task's fee goes back to the client; the replica loses its slot (its
//     later vouchers are refused) and the first eligible standby takes it.
//   - RESULT_UNAVAILABLE: the replica is dropped as a miss; the fee goes back to the client.
func (k Keeper) streamVerdict(ctx context.Context, task types.Task, s types.Settlement) error {
	switch s.Verdict {
	case types.VERDICT_VALID:
		share := types.EqualShare(task.CommitteeFee, len(s.Paid), s.MaxShare)
		for _, member := range s.Paid {
			if err := k.payOut(ctx, &task, member, share); err != nil {
				return err
			}
			task.CommitteeFee = task.CommitteeFee.Sub(share)
			task.CommitteePaid = paidSoFar(task).Add(share)
		}
		refund := task.Escrow
		if err := k.refundAll(ctx, &task); err != nil {
			return err
		}
		if err := k.finish(ctx, task, types.TASK_STATE_COMPLETED, "stream response verified"); err != nil {
			return err
		}
		return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskCompleted{
			TaskId: task.Id, Provider: task.Provider, Paid: math.ZeroInt(), CommitteeFee: paidSoFar(task), Refunded: refund,
			ResultSha256: task.Result.Sha256, ProtocolFee: math.ZeroInt(),
		})
	case types.VERDICT_INVALID:
		return k.streamCheckFailed(ctx, task, s)
	case types.VERDICT_RESULT_UNAVAILABLE:
		refund := task.Escrow
		if err := k.refundAll(ctx, &task); err != nil {
			return err
		}
		reason := fmt.Sprintf("response of check task %d could not be fetched by its committee", task.Id)
		if err := k.finish(ctx, task, types.TASK_STATE_FAILED, reason); err != nil {
			return err
		}
		stream, err := k.GetStream(ctx, task.StreamId)
		if err != nil {
			return err
		}
		provider, err := k.addressCodec.StringToBytes(task.Provider)
		if err != nil {
			return err
		}
		if err := k.dropMiss(ctx, stream, provider, "withheld the response of check task "+fmt.Sprint(task.Id)); err != nil {
			return err
		}
		return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskFailed{
			TaskId: task.Id, Provider: task.Provider, Slashed: math.ZeroInt(), Refunded: refund, Reason: reason, CommitteeFee: math.ZeroInt(),
		})
	}
	return errorsmod.Wrapf(types.ErrInvalidVerdict, "check task %d: verdict %s does not apply to a stream response", task.Id, s.Verdict)
}

func (k Keeper) streamCheckFailed(ctx context.Context, task types.Task, s types.Settlement) error {
	stream, err := k.GetStream(ctx, task.StreamId)
	if err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return err
	}
	creator, err := k.addressCodec.StringToBytes(stream.Creator)
	if err != nil {
		return err
	}
	claimed := math.ZeroInt()
	rc, err := k.Commitments.Get(ctx, collections.Join3(stream.Id, sdk.AccAddress(provider), task.StreamPeriod))
	if err == nil {
		claimed = rc.ClaimedInPeriod
	} else if !errors.Is(err, collections.ErrNotFound) {
		return err
	}
	share := types.EqualShare(task.CommitteeFee, len(s.Paid), s.MaxShare)
	payees := make([]stakinggputypes.Payee, 0, len(s.Paid)+1)
	for _, member := range s.Paid {
		addr, err := k.addressCodec.StringToBytes(member)
		if err != nil {
			return err
		}
		payees = append(payees, stakinggputypes.Payee{Address: addr, Amount: share})
	}
	payees = append(payees, stakinggputypes.Payee{Address: creator, Amount: claimed})
	reason := fmt.Sprintf("response %s of stream %d found invalid by check task %d", task.Result.Sha256, stream.Id, task.Id)
	slashed, paid, err := k.providers.PenalizeFraud(ctx, provider, reason, payees)
	if err != nil {
		return errorsmod.Wrapf(err, "penalize replica %s of stream %d", task.Provider, stream.Id)
	}
	feePaid := math.ZeroInt()
	for i := range s.Paid {
		feePaid = feePaid.Add(paid[i])
	}
	clientRefund := paid[len(paid)-1]
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	if err := k.finish(ctx, task, types.TASK_STATE_FAILED, reason); err != nil {
		return err
	}
	em := sdk.UnwrapSDKContext(ctx).EventManager()
	if err := em.EmitTypedEvent(&types.EventTaskFailed{
		TaskId: task.Id, Provider: task.Provider, Slashed: slashed, Refunded: refund, Reason: reason, CommitteeFee: feePaid,
	}); err != nil {
		return err
	}
	if err := em.EmitTypedEvent(&types.EventStreamCheckFailed{
		StreamId: stream.Id, Provider: task.Provider, CheckTask: task.Id, Refunded: clientRefund,
	}); err != nil {
		return err
	}
	// the replica's later vouchers are refused, whether it still serves or not
	key := collections.Join(stream.Id, sdk.AccAddress(provider))
	if c, err := k.StreamClaims.Get(ctx, key); err == nil {
		c.Fraud = true
		if err := k.StreamClaims.Set(ctx, key, c); err != nil {
			return err
		}
	} else if !errors.Is(err, collections.ErrNotFound) {
		return err
	}
	if _, i := stream.ReplicaOf(task.Provider); i >= 0 {
		return k.removeReplica(ctx, &stream, i, reason, true, slashed)
	}
	return nil
}
