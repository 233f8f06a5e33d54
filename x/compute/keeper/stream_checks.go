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
//     members (the same share) and refunds the client everything the replica was paid by the
//     stream (claims are redeemed when the replica likes, so what it claimed "for" the checked
//     period cannot be told apart); the task's fee goes back to the client; the replica loses its
//     slot (its later vouchers are refused) and the first eligible standby takes it. A replica
//     already convicted on this stream is not punished again by another check: the check ends
//     as VALID does.
//   - RESULT_UNAVAILABLE on a sampled check: as INVALID. The replica committed to the request and
//     response in its receipt root and keeps them and the model (the committee falls back to its
//     copies), so what the committee cannot fetch the replica withheld; a response withheld is
//     treated as a wrong one, or a replica could swap the slash and jail of a caught fraud for
//     the 1% of a miss by not serving the one sample that would convict it.
//   - RESULT_UNAVAILABLE on a challenge: the bodies are at URIs the client chose, so the
//     replica is not at fault; the challenge ends as VALID does (the members are paid from the
//     fee the client locked).
func (k Keeper) streamVerdict(ctx context.Context, task types.Task, s types.Settlement) error {
	fraud := s.Verdict == types.VERDICT_INVALID || (s.Verdict == types.VERDICT_RESULT_UNAVAILABLE && !task.Challenged)
	if fraud {
		convicted, err := k.convicted(ctx, task)
		if err != nil {
			return err
		}
		if !convicted {
			return k.streamCheckFailed(ctx, task, s)
		}
	}
	switch s.Verdict {
	case types.VERDICT_VALID, types.VERDICT_INVALID, types.VERDICT_RESULT_UNAVAILABLE:
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
		outcome := "stream response verified"
		switch {
		case fraud:
			outcome = "the replica was already convicted on this stream"
		case s.Verdict == types.VERDICT_RESULT_UNAVAILABLE:
			outcome = "the challenge's bodies could not be fetched from the URIs the client gave: the replica is not at fault"
		}
		if err := k.finish(ctx, task, types.TASK_STATE_COMPLETED, outcome); err != nil {
			return err
		}
		return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskCompleted{
			TaskId: task.Id, Provider: task.Provider, Paid: math.ZeroInt(), CommitteeFee: paidSoFar(task), Refunded: refund,
			ResultSha256: task.Result.Sha256, ProtocolFee: math.ZeroInt(), Creator: task.Creator,
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
	reason := fmt.Sprintf("response %s of stream %d found invalid by check task %d", task.Result.Sha256, stream.Id, task.Id)
	if s.Verdict == types.VERDICT_RESULT_UNAVAILABLE {
		reason = fmt.Sprintf("response %s of stream %d withheld from check task %d", task.Result.Sha256, stream.Id, task.Id)
	}
	share := types.EqualShare(task.CommitteeFee, len(s.Paid), s.MaxShare)
	slashed, paid, clientRefund, err := k.penalizeReplica(ctx, stream, provider, reason, s.Paid, share)
	if err != nil {
		return err
	}
	feePaid := math.ZeroInt()
	for _, p := range paid {
		feePaid = feePaid.Add(p)
	}
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
		Creator: task.Creator,
	}); err != nil {
		return err
	}
	if err := em.EmitTypedEvent(&types.EventStreamCheckFailed{
		StreamId: stream.Id, Provider: task.Provider, CheckTask: task.Id, Refunded: clientRefund,
	}); err != nil {
		return err
	}
	return k.removeForFraud(ctx, stream, provider, reason, slashed)
}

// convicted reports whether the check task's replica was already removed from its stream for a
// fraud: one conviction per replica and stream.
func (k Keeper) convicted(ctx context.Context, task types.Task) (bool, error) {
	provider, err := k.addressCodec.StringToBytes(task.Provider)
	if err != nil {
		return false, err
	}
	c, err := k.StreamClaims.Get(ctx, collections.Join(task.StreamId, sdk.AccAddress(provider)))
	if errors.Is(err, collections.ErrNotFound) {
		return false, nil
	}
	return c.Fraud, err
}

// penalizeReplica slashes a replica fraud_slash_fraction and jails it; the slash pays members
// share each, then refunds the client everything the replica was paid by the stream. It
// returns the slash, what each member got and the client's refund.
func (k Keeper) penalizeReplica(ctx context.Context, stream types.Stream, provider sdk.AccAddress, reason string,
	members []string, share math.Int,
) (slashed math.Int, paid []math.Int, clientRefund math.Int, err error) {
	creator, err := k.addressCodec.StringToBytes(stream.Creator)
	if err != nil {
		return math.Int{}, nil, math.Int{}, err
	}
	claimed := math.ZeroInt()
	if c, err := k.StreamClaims.Get(ctx, collections.Join(stream.Id, provider)); err == nil && !c.Claimed.IsNil() {
		claimed = c.Claimed
	} else if !errors.Is(err, collections.ErrNotFound) {
		return math.Int{}, nil, math.Int{}, err
	}
	payees := make([]stakinggputypes.Payee, 0, len(members)+1)
	for _, member := range members {
		addr, err := k.addressCodec.StringToBytes(member)
		if err != nil {
			return math.Int{}, nil, math.Int{}, err
		}
		payees = append(payees, stakinggputypes.Payee{Address: addr, Amount: share})
	}
	payees = append(payees, stakinggputypes.Payee{Address: creator, Amount: claimed})
	slashed, got, err := k.providers.PenalizeFraud(ctx, provider, reason, payees)
	if err != nil {
		return math.Int{}, nil, math.Int{}, errorsmod.Wrapf(err, "penalize replica %s of stream %d", k.str(provider), stream.Id)
	}
	return slashed, got[:len(members)], got[len(members)], nil
}

// removeForFraud refuses the replica's later vouchers, whether it still serves or not, and
// takes it out of its slot.
func (k Keeper) removeForFraud(ctx context.Context, stream types.Stream, provider sdk.AccAddress, reason string, slashed math.Int) error {
	key := collections.Join(stream.Id, provider)
	if c, err := k.StreamClaims.Get(ctx, key); err == nil {
		c.Fraud = true
		if err := k.StreamClaims.Set(ctx, key, c); err != nil {
			return err
		}
	} else if !errors.Is(err, collections.ErrNotFound) {
		return err
	}
	if _, i := stream.ReplicaOf(k.str(provider)); i >= 0 {
		return k.removeReplica(ctx, &stream, i, reason, true, slashed)
	}
	return nil
}
