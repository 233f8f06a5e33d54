package keeper

import (
	"context"
	"fmt"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// payOut sends amount of the task's escrow to addr.
func (k Keeper) payOut(ctx context.Context, task *types.Task, to string, amount math.Int) error {
	if amount.IsZero() {
		return nil
	}
	if amount.IsNegative() || amount.GT(task.Escrow) {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d: pay %s out of an escrow of %s", task.Id, amount, task.Escrow)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	addr, err := k.addressCodec.StringToBytes(to)
	if err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, addr, sdk.NewCoins(sdk.NewCoin(params.Denom, amount))); err != nil {
		return errorsmod.Wrapf(err, "task %d: pay %s to %s", task.Id, amount, to)
	}
	task.Escrow = task.Escrow.Sub(amount)
	return nil
}

// refundAll returns everything the task still holds to its creator.
func (k Keeper) refundAll(ctx context.Context, task *types.Task) error {
	amount := task.Escrow
	if err := k.payOut(ctx, task, task.Creator, amount); err != nil {
		return err
	}
	task.Refunded = task.Refunded.Add(amount)
	return nil
}

// EscrowInvariant checks that the module account holds exactly the escrow of the open tasks.
func (k Keeper) EscrowInvariant(ctx context.Context) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	sum := math.ZeroInt()
	for _, state := range []types.TaskState{types.TASK_STATE_OPEN, types.TASK_STATE_ASSIGNED, types.TASK_STATE_SUBMITTED, types.TASK_STATE_VERIFIED} {
		it, err := k.Tasks.Indexes.ByState.MatchExact(ctx, int32(state))
		if err != nil {
			return err
		}
		ids, err := it.PrimaryKeys()
		if err != nil {
			return err
		}
		for _, id := range ids {
			t, err := k.Tasks.Get(ctx, id)
			if err != nil {
				return err
			}
			sum = sum.Add(t.Escrow)
		}
	}
	streams := math.ZeroInt()
	if err := k.Streams.Walk(ctx, nil, func(_ uint64, s types.Stream) (bool, error) {
		streams = streams.Add(s.Escrow)
		return false, nil
	}); err != nil {
		return err
	}
	balance := k.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.ModuleName), params.Denom).Amount
	if !balance.Equal(sum.Add(streams)) {
		return fmt.Errorf("compute escrow: module account holds %s%s, open tasks hold %s%s and streams %s%s", balance, params.Denom, sum, params.Denom, streams, params.Denom)
	}
	return nil
}

// StreamBooksInvariant checks every stream's books: what it holds plus what it refunded is the
// unclaimed budget, the committee fee left and the security deposit; no slot was paid more than
// its share; a settled stream holds nothing.
func (k Keeper) StreamBooksInvariant(ctx context.Context) error {
	return k.Streams.Walk(ctx, nil, func(id uint64, s types.Stream) (bool, error) {
		want := s.Unclaimed().Add(s.CommitteeFee).Add(s.SecurityDeposit)
		if got := s.Escrow.Add(s.Refunded); !got.Equal(want) {
			return true, fmt.Errorf("stream %d: escrow %s + refunded %s ≠ budget %s − claimed %s + committee fee %s + security deposit %s",
				id, s.Escrow, s.Refunded, s.Budget, s.Claimed, s.CommitteeFee, s.SecurityDeposit)
		}
		if s.Escrow.IsNegative() || s.CommitteeFee.IsNegative() || (s.Settled && !s.Escrow.IsZero()) {
			return true, fmt.Errorf("stream %d: escrow %s, committee fee %s (settled %t)", id, s.Escrow, s.CommitteeFee, s.Settled)
		}
		if len(s.SlotClaimed) != int(s.Replicas) {
			return true, fmt.Errorf("stream %d: %d slot records for %d replicas", id, len(s.SlotClaimed), s.Replicas)
		}
		share, paid := s.SlotShare(), math.ZeroInt()
		for slot, c := range s.SlotClaimed {
			used := c
			for _, r := range s.Serving {
				if int(r.Slot) == slot {
					used = used.Add(r.Claimed)
				}
			}
			if used.GT(share) {
				return true, fmt.Errorf("stream %d: slot %d paid %s, more than its share %s", id, slot, used, share)
			}
			paid = paid.Add(used)
		}
		if !paid.Equal(s.Claimed) {
			return true, fmt.Errorf("stream %d: slots paid %s, claimed %s", id, paid, s.Claimed)
		}
		return false, nil
	})
}
