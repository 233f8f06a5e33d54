package keeper

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/internal/collx"
)

// PlaceBid records a provider's price for an OPEN task during its bid window. When the task
// already has max_bids_per_task bids, a bid that beats the worst of them (by the matching rule,
// bids no longer eligible being the worst) takes its place; any other is refused. Squatters
// therefore cannot fill a task's book to keep better bids out.
func (k Keeper) PlaceBid(ctx context.Context, provider sdk.AccAddress, id uint64, price math.Int) error {
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if task.State != types.TASK_STATE_OPEN {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: bids only on OPEN tasks", id, task.State)
	}
	if h := sdk.UnwrapSDKContext(ctx).BlockHeight(); h > task.BidWindowEnd {
		return errorsmod.Wrapf(types.ErrBidWindowClosed, "task %d took bids until height %d; this is %d", id, task.BidWindowEnd, h)
	}
	if price.IsNil() || !price.IsPositive() || price.GT(task.MaxPrice) {
		return errorsmod.Wrapf(types.ErrInvalidPrice, "price %v: must be positive and at most the task's max_price %s", price, task.MaxPrice)
	}
	key := collections.Join(id, provider)
	if has, err := k.Bids.Has(ctx, key); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrDuplicateBid, "provider %s on task %d: withdraw the bid first to change it", k.str(provider), id)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	bids, err := k.BidsOf(ctx, id)
	if err != nil {
		return err
	}
	if err := k.providers.Eligible(ctx, provider, task.Requirements, price); err != nil {
		return errorsmod.Wrapf(types.ErrNotEligible, "task %d: %v", id, err)
	}
	if len(bids) >= int(params.MaxBidsPerTask) {
		if err := k.evictWorst(ctx, task, bids, provider, price, params.MaxBidsPerTask); err != nil {
			return err
		}
	}
	bid := types.Bid{TaskId: id, Provider: k.str(provider), Price: price, Height: sdk.UnwrapSDKContext(ctx).BlockHeight()}
	if err := k.Bids.Set(ctx, key, bid); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventBidPlaced{TaskId: id, Provider: bid.Provider, Price: price})
}

// evictWorst removes the worst of a full book's bids if the new bid beats it, and refuses the
// new bid otherwise.
func (k Keeper) evictWorst(ctx context.Context, task types.Task, bids []types.Bid, provider sdk.AccAddress, price math.Int, max uint32) error {
	worst, beaten, err := k.worstOfFull(ctx, task.Id, provider, price, len(bids), func(i int) (Candidate, bool, error) {
		return k.candidate(ctx, task, bids[i])
	})
	if err != nil || worst == nil {
		return err // an empty book has room
	}
	if !beaten {
		return errorsmod.Wrapf(types.ErrTooManyBids, "task %d has max_bids_per_task = %d bids: a new bid must beat the worst, %s at %s", task.Id, max, k.str(worst.Provider), worst.Price)
	}
	if err := k.Bids.Remove(ctx, collections.Join(task.Id, worst.Provider)); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventBidEvicted{TaskId: task.Id, Provider: k.str(worst.Provider), By: k.str(provider)})
}

// worstOfFull is the worst of a full list of n offers (a task's bids, a stream's subscriptions;
// candidate reads offer i and says whether it can still win) and whether a newcomer from
// provider at price takes its place: it beats it, or the worst can no longer win at all. A nil
// worst: the list is empty.
func (k Keeper) worstOfFull(ctx context.Context, id uint64, provider sdk.AccAddress, price math.Int, n int,
	candidate func(i int) (Candidate, bool, error),
) (*Candidate, bool, error) {
	p, err := k.providers.GetProvider(ctx, provider)
	if err != nil {
		return nil, false, err
	}
	newcomer := Candidate{Provider: provider, Price: price, Completed: p.CompletedTasks, Failed: p.FailedTasks, Bonded: p.Bonded}
	var worst *Candidate
	for i := range n {
		c, ok, err := candidate(i)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return &c, true, nil // it can no longer win: any eligible offer beats it
		}
		if worst == nil || Better(id, *worst, c) {
			worst = &c
		}
	}
	if worst == nil {
		return nil, false, nil
	}
	return worst, Better(id, newcomer, *worst), nil
}

// WithdrawBid removes a provider's bid while the task is OPEN, until the block before its bid
// window's last: a bid stands in the last block, so that squatters cannot fill a book and leave
// it empty when no one can bid after them.
func (k Keeper) WithdrawBid(ctx context.Context, provider sdk.AccAddress, id uint64) error {
	task, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if task.State != types.TASK_STATE_OPEN {
		return errorsmod.Wrapf(types.ErrWrongState, "task %d is %s: bids can be withdrawn only while OPEN", id, task.State)
	}
	if h := sdk.UnwrapSDKContext(ctx).BlockHeight(); h >= task.BidWindowEnd {
		return errorsmod.Wrapf(types.ErrBidWindowClosed, "task %d: bids can be withdrawn until height %d, the block before the bid window's last; this is %d", id, task.BidWindowEnd-1, h)
	}
	key := collections.Join(id, provider)
	if has, err := k.Bids.Has(ctx, key); err != nil {
		return err
	} else if !has {
		return errorsmod.Wrapf(types.ErrBidNotFound, "provider %s on task %d", k.str(provider), id)
	}
	if err := k.Bids.Remove(ctx, key); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventBidWithdrawn{TaskId: id, Provider: k.str(provider)})
}

// BidsOf returns a task's bids in provider address order.
func (k Keeper) BidsOf(ctx context.Context, id uint64) ([]types.Bid, error) {
	var bids []types.Bid
	err := k.Bids.Walk(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](id),
		func(_ collections.Pair[uint64, sdk.AccAddress], b types.Bid) (bool, error) {
			bids = append(bids, b)
			return false, nil
		})
	return bids, err
}

func (k Keeper) removeBids(ctx context.Context, id uint64) error {
	return collx.Clear(ctx, k.Bids, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](id))
}

// Candidate is a bid with the provider record the matching rule looks at.
type Candidate struct {
	Provider  sdk.AccAddress
	Price     math.Int
	Completed uint64
	Failed    uint64
	Bonded    math.Int
}

// Better reports whether a wins over b for task id: the lower price; then the better record
// (more completed tasks, then fewer failed ones); then the larger stake; then the lower
// sha256(task id ‖ provider), which no bidder can choose for every task.
func Better(id uint64, a, b Candidate) bool {
	if c := a.Price.BigInt().Cmp(b.Price.BigInt()); c != 0 {
		return c < 0
	}
	if a.Completed != b.Completed {
		return a.Completed > b.Completed
	}
	if a.Failed != b.Failed {
		return a.Failed < b.Failed
	}
	if c := a.Bonded.BigInt().Cmp(b.Bonded.BigInt()); c != 0 {
		return c > 0
	}
	ha, hb := tieHash(id, a.Provider), tieHash(id, b.Provider)
	return bytes.Compare(ha[:], hb[:]) < 0
}

func tieHash(id uint64, provider sdk.AccAddress) [32]byte {
	buf := binary.BigEndian.AppendUint64(nil, id)
	return sha256.Sum256(append(buf, provider...))
}

// candidates are the task's bids from providers still eligible at their price and not timed out
// on this task before, best first.
func (k Keeper) candidates(ctx context.Context, task types.Task) ([]Candidate, error) {
	bids, err := k.BidsOf(ctx, task.Id)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, b := range bids {
		c, ok, err := k.candidate(ctx, task, b)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		switch {
		case Better(task.Id, a, b):
			return -1
		case Better(task.Id, b, a):
			return 1
		}
		return 0
	})
	return out, nil
}

// match assigns the task to its best candidate, or expires it when there is none.
func (k Keeper) match(ctx context.Context, task types.Task, reassigned bool) error {
	cands, err := k.candidates(ctx, task)
	if err != nil {
		return err
	}
	if len(cands) == 0 {
		reason := "no eligible bid"
		if reassigned {
			reason = "no eligible bid left after a timeout"
		}
		return k.expire(ctx, task, reason)
	}
	return k.assign(ctx, task, cands[0], reassigned)
}

func (k Keeper) assign(ctx context.Context, task types.Task, c Candidate, reassigned bool) error {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	task.State = types.TASK_STATE_ASSIGNED
	task.Provider = k.str(c.Provider)
	task.Price = c.Price
	task.AssignedHeight = h
	task.AssignmentDeadline = task.DeadlineHeight
	if task.ExecutionBlocks > 0 {
		task.AssignmentDeadline = min(task.DeadlineHeight, h+int64(task.ExecutionBlocks))
	}
	// the committee is drawn only after the result is submitted (draw.go)
	task.Committee = nil
	collateral, err := k.providers.LockCollateral(ctx, c.Provider, c.Price)
	if err != nil {
		return err
	}
	task.Collateral = collateral
	task.InputNonce = inputNonce(sdk.UnwrapSDKContext(ctx), task.Id)
	if err := k.ActiveByProvider.Set(ctx, collections.Join(c.Provider, task.Id)); err != nil {
		return err
	}
	if err := k.saveTask(ctx, task, task.AssignmentDeadline); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskAssigned{
		TaskId: task.Id, Provider: task.Provider, Price: task.Price, DeadlineHeight: task.AssignmentDeadline,
		Committee: task.Committee, Reassigned: reassigned, Creator: task.Creator,
	})
}

// expire refunds the whole escrow and ends the task.
func (k Keeper) expire(ctx context.Context, task types.Task, reason string) error {
	refund := task.Escrow
	if err := k.refundAll(ctx, &task); err != nil {
		return err
	}
	if err := k.finish(ctx, task, types.TASK_STATE_EXPIRED, reason); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskExpired{
		TaskId: task.Id, Refunded: refund, Reason: reason, Creator: task.Creator,
	})
}

// inputNonce is the chain randomness a task's seeded inputs are mixed with at its assignment:
// the block's hash and the previous app hash, unknown before this block, with the task and
// height so that every assignment gets its own.
func inputNonce(ctx sdk.Context, id uint64) []byte {
	info := ctx.HeaderInfo()
	h := sha256.New()
	h.Write([]byte("ogpu/inputs/v1"))
	h.Write(info.Hash)
	h.Write(info.AppHash)
	h.Write(binary.BigEndian.AppendUint64(nil, id))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(ctx.BlockHeight())))
	return h.Sum(nil)
}

// candidate is a bid with its provider's record; ok is false when the provider timed out on
// this task before, or is no longer eligible at its price (jailed, deregistered or under-bonded
// since it bid).
func (k Keeper) candidate(ctx context.Context, task types.Task, b types.Bid) (Candidate, bool, error) {
	addr, err := k.addressCodec.StringToBytes(b.Provider)
	if err != nil {
		return Candidate{}, false, err
	}
	c := Candidate{Provider: addr, Price: b.Price}
	if slices.Contains(task.FailedProviders, b.Provider) || k.providers.Eligible(ctx, addr, task.Requirements, b.Price) != nil {
		return c, false, nil
	}
	p, err := k.providers.GetProvider(ctx, addr)
	if err != nil {
		return Candidate{}, false, err
	}
	c.Completed, c.Failed, c.Bonded = p.CompletedTasks, p.FailedTasks, p.Bonded
	return c, true, nil
}
