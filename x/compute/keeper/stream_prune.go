package keeper

import (
	"context"
	"errors"
	"slices"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/internal/collx"
)

// maxPrunedPerStage bounds the commitments one stream timer deletes, so that the work of a block
// stays within max_timers_per_block × this; a settled stream with more is pruned over the next
// blocks.
const maxPrunedPerStage = 256

// latestPeriod is the stream's latest period at height h: the one h is in, or the one it ended
// or closed in; 0 before it went live.
func latestPeriod(p types.Params, s types.Stream, h int64) uint64 {
	if s.LiveHeight == 0 {
		return 0
	}
	if s.ClosedHeight > 0 {
		h = min(h, s.ClosedHeight)
	}
	return s.Period(min(h, s.EndHeight), p.Stream.ReceiptPeriod)
}

// pruneStream deletes the stream's commitments that nothing needs any more, at most
// maxPrunedPerStage of them. Before the settlement that is a commitment older than the
// recentPeriods the Stream query returns whose period is settled: committed, and revealed or
// with nothing to reveal (or no longer due, its replica removed), and whose check tasks (sampled
// or challenged) are final, since an INVALID verdict refunds the client what the replica claimed
// in the period. Once the stream settled, it is every commitment whose check tasks are final,
// and then the claims (vouchers are refused from the settlement on). It returns whether
// nothing is left to prune, and whether what is left waits only for pending checks.
func (k Keeper) pruneStream(ctx context.Context, params types.Params, s types.Stream) (done, waiting bool, err error) {
	latest := latestPeriod(params, s, sdk.UnwrapSDKContext(ctx).BlockHeight())
	var (
		prune []types.ReceiptCommitment
		more  bool
	)
	err = k.Commitments.Walk(ctx, collections.NewPrefixedTripleRange[uint64, sdk.AccAddress, uint64](s.Id),
		func(_ commitmentKey, c types.ReceiptCommitment) (bool, error) {
			if !s.Settled && c.Period+recentPeriods > latest {
				return false, nil
			}
			ok, err := k.commitmentDone(ctx, c, s.Settled)
			if err != nil || !ok {
				waiting = waiting || !ok
				return err != nil, err
			}
			if len(prune) == maxPrunedPerStage {
				more = true
				return true, nil
			}
			prune = append(prune, c)
			return false, nil
		})
	if err != nil {
		return false, false, err
	}
	for _, c := range prune {
		addr, err := k.addressCodec.StringToBytes(c.Provider)
		if err != nil {
			return false, false, err
		}
		key := collections.Join3(s.Id, sdk.AccAddress(addr), c.Period)
		if err := k.clearDeadlines(ctx, params, s, key, c); err != nil {
			return false, false, err
		}
		if err := k.Commitments.Remove(ctx, key); err != nil {
			return false, false, err
		}
	}
	if more || !s.Settled {
		return !more, false, nil
	}
	if waiting {
		// a pending check's verdict still reads its replica's claims (what a conviction refunds)
		return false, true, nil
	}
	// at most replicas + max_standbys providers ever held a slot
	if err := collx.Clear(ctx, k.StreamClaims, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](s.Id)); err != nil {
		return false, false, err
	}
	return !waiting, waiting, nil
}

// commitmentDone reports whether nothing will read or change the commitment any more, but the
// query: its period is settled (unless the stream is) and its check tasks are final.
func (k Keeper) commitmentDone(ctx context.Context, c types.ReceiptCommitment, settled bool) (bool, error) {
	if !settled && c.Required && (c.CommittedHeight == 0 || (c.Count > 0 && !c.Revealed)) {
		return false, nil
	}
	for _, id := range slices.Concat(c.CheckTasks, c.ChallengeTasks) {
		task, err := k.Tasks.Get(ctx, id)
		if errors.Is(err, collections.ErrNotFound) {
			continue
		} else if err != nil {
			return false, err
		}
		if !task.State.IsFinal() {
			return false, nil
		}
	}
	return true, nil
}

// pruneSettled prunes a settled stream and, while something is left, comes back: the next block
// when it stopped at maxPrunedPerStage, a period later when it waits for checks to end.
func (k Keeper) pruneSettled(ctx context.Context, params types.Params, s types.Stream) error {
	done, waiting, err := k.pruneStream(ctx, params, s)
	if err != nil {
		return err
	}
	timer := int64(0)
	switch h := sdk.UnwrapSDKContext(ctx).BlockHeight(); {
	case done:
	case waiting:
		timer = h + int64(params.Stream.ReceiptPeriod)
	default:
		timer = h + 1
	}
	return k.saveStream(ctx, s, timer)
}
