package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// streamEndBlock draws the samples due, enforces the commitment and reveal deadlines due and
// ends the stream stages due, in that order, at most budget items, each in its own cache: an
// item that fails is logged and retried next block.
func (k Keeper) streamEndBlock(ctx sdk.Context, budget int) error {
	h := ctx.BlockHeight()
	type item struct {
		name string
		run  func(context.Context) error
		done func(context.Context) error
	}
	var items []item
	collect := func(ks collections.KeySet[collections.Pair[int64, commitmentKey]], name string, run func(context.Context, commitmentKey) error) error {
		it, err := ks.Iterate(ctx, collections.NewPrefixUntilPairRange[int64, commitmentKey](h))
		if err != nil {
			return err
		}
		defer it.Close()
		for ; it.Valid() && len(items) < budget; it.Next() {
			key, err := it.Key()
			if err != nil {
				return err
			}
			items = append(items, item{
				name: fmt.Sprintf("%s of stream %d, period %d", name, key.K2().K1(), key.K2().K3()),
				run:  func(c context.Context) error { return run(c, key.K2()) },
				done: func(c context.Context) error { return ks.Remove(c, key) },
			})
		}
		return nil
	}
	if err := collect(k.SampleDraws, "sample draw", k.drawSamples); err != nil {
		return err
	}
	if err := collect(k.StreamDeadlines, "deadline", k.onStreamDeadline); err != nil {
		return err
	}
	it, err := k.StreamTimers.Iterate(ctx, collections.NewPrefixUntilPairRange[int64, uint64](h))
	if err != nil {
		return err
	}
	for ; it.Valid() && len(items) < budget; it.Next() {
		key, err := it.Key()
		if err != nil {
			it.Close()
			return err
		}
		items = append(items, item{
			name: fmt.Sprintf("stage of stream %d", key.K2()),
			run:  func(c context.Context) error { return k.onStreamTimer(c, key.K2(), key.K1()) },
			done: func(c context.Context) error { return k.StreamTimers.Remove(c, key) },
		})
	}
	it.Close()
	for _, i := range items {
		cacheCtx, write := ctx.CacheContext()
		if err := i.done(cacheCtx); err != nil {
			return err
		}
		if err := i.run(cacheCtx); err != nil {
			ctx.Logger().Error("compute: stream timer failed; retrying next block", "item", i.name, "err", err)
			continue
		}
		write()
	}
	return nil
}

// onStreamTimer ends a stream's stage: the subscription window (select), a period of a LIVE
// stream (require its commitments, prune old ones, then pause when the next period cannot be
// paid), its duration or its grace (close), or the time after its close (settle, then prune
// what is left over the next blocks).
func (k Keeper) onStreamTimer(ctx context.Context, id uint64, height int64) error {
	s, err := k.GetStream(ctx, id)
	if err != nil {
		return err
	}
	if s.TimerHeight != height {
		return nil // moved by something that ran before it in this block
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	s.TimerHeight = 0 // its timer key was consumed
	switch s.State {
	case types.STREAM_STATE_OPEN:
		return k.selectReplicas(ctx, s)
	case types.STREAM_STATE_LIVE:
		// the scheduled height, not h: a timer carried over from a full block still ends its period
		if height >= s.EndHeight {
			return k.closeStream(ctx, s, "duration ended")
		}
		p := s.Period(height, params.Stream.ReceiptPeriod)
		if s.PeriodEnd(p, params.Stream.ReceiptPeriod) == height {
			// a timer carried over from a full block moves the deadline by as much: the replicas
			// get the whole reveal_window from when the period became due
			if err := k.periodDue(ctx, params, s, p, commitDeadline(params, s, p)+(h-height)); err != nil {
				return err
			}
			if _, _, err := k.pruneStream(ctx, params, s); err != nil {
				return err
			}
			if !canPayPeriod(params, s) {
				return k.pause(ctx, params, s)
			}
		}
		return k.saveStream(ctx, s, nextBoundary(params, s, height+1)) // past heights run next block
	case types.STREAM_STATE_PAUSED:
		if h >= s.EndHeight {
			return k.closeStream(ctx, s, "duration ended while PAUSED")
		}
		return k.closeStream(ctx, s, "not funded within stream_grace_blocks")
	case types.STREAM_STATE_CLOSED:
		if s.Settled {
			return k.pruneSettled(ctx, params, s)
		}
		return k.settle(ctx, s)
	}
	return fmt.Errorf("stream %d is %s and has a timer", id, s.State)
}

// pause stops a stream that cannot pay its next period; it closes at the grace's end (or at its
// end_height, when that comes first) unless funded before.
func (k Keeper) pause(ctx context.Context, params types.Params, s types.Stream) error {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	s.State = types.STREAM_STATE_PAUSED
	s.PausedHeight = h
	graceEnd := min(h+int64(params.Stream.StreamGraceBlocks), s.EndHeight)
	if err := k.saveStream(ctx, s, graceEnd); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamPaused{
		StreamId: s.Id, GraceEnd: graceEnd, Reason: "the unclaimed budget or the committee fee left cannot pay another period",
		Creator: s.Creator,
	})
}

// onStreamDeadline drops a replica that did not commit a due period, or did not reveal its
// drawn samples, in time: a miss, slashed timeout_slash_fraction and not jailed. Only periods
// that ended while the stream was LIVE (or in which it closed) are due, whatever the stream's
// state at the deadline: a PAUSED stream has no periods to commit, but what was served before
// the pause is still sampled.
func (k Keeper) onStreamDeadline(ctx context.Context, key commitmentKey) error {
	c, err := k.Commitments.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	switch {
	case !c.Required:
		return nil
	case c.CommittedHeight == 0:
		s, err := k.GetStream(ctx, key.K1())
		if err != nil {
			return err
		}
		return k.dropMiss(ctx, s, key.K2(), fmt.Sprintf("did not commit period %d", c.Period))
	case c.SampledHeight != 0 && !c.Revealed:
		// the replica committed to these receipts and keeps their bodies: not publishing the
		// drawn ones is treated as the wrong answers they may hide, or a replica would trade the
		// slash and jail of a caught fraud for the 1% of a miss
		s, err := k.GetStream(ctx, key.K1())
		if err != nil {
			return err
		}
		if claim, err := k.StreamClaims.Get(ctx, collections.Join(s.Id, key.K2())); err == nil && claim.Fraud {
			return nil // convicted already: once per replica and stream
		}
		reason := fmt.Sprintf("replica %s of stream %d withheld the samples drawn from its period %d", k.str(key.K2()), s.Id, c.Period)
		slashed, _, refund, err := k.penalizeReplica(ctx, s, key.K2(), reason, nil, math.ZeroInt())
		if err != nil {
			return err
		}
		if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamCheckFailed{
			StreamId: s.Id, Provider: k.str(key.K2()), Refunded: refund,
		}); err != nil {
			return err
		}
		return k.removeForFraud(ctx, s, key.K2(), reason, slashed)
	}
	return nil
}

// dropMiss slashes a replica timeout_slash_fraction for a miss, counts a failure and takes it
// out of its slot.
func (k Keeper) dropMiss(ctx context.Context, s types.Stream, provider sdk.AccAddress, what string) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("replica %s of stream %d %s", k.str(provider), s.Id, what)
	slashed := math.ZeroInt()
	if params.TimeoutSlashFraction.IsPositive() {
		if slashed, err = k.providers.Slash(ctx, provider, params.TimeoutSlashFraction, reason); err != nil {
			return err
		}
	}
	if err := k.providers.RecordFailure(ctx, provider); err != nil {
		return err
	}
	if _, i := s.ReplicaOf(k.str(provider)); i >= 0 {
		return k.removeReplica(ctx, &s, i, reason, false, slashed)
	}
	return nil
}

// ApplyProbeRound counts one probe round's verdict on a replica of a LIVE stream (the app's
// PreBlocker calls it). Rounds already counted or not started yet, unknown streams or replicas
// and streams that are not LIVE are ignored. After max_probe_failures failed rounds in a row
// the replica is replaced by the first standby, without a slash: a wrong answer is what slashes,
// through a check.
func (k Keeper) ApplyProbeRound(ctx context.Context, streamID uint64, provider string, round uint64, ok bool) error {
	s, err := k.Streams.Get(ctx, streamID)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if s.State != types.STREAM_STATE_LIVE {
		return nil
	}
	r, i := s.ReplicaOf(provider)
	if i < 0 || (r.Probed && round <= r.LastProbeRound) {
		return nil
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	// a round not started yet, or one that started before the replica took its slot
	if start := s.LiveHeight + int64(round)*int64(params.Stream.ProbePeriod); round > uint64(h) || start > h || start+int64(params.Stream.ProbePeriod) <= r.SinceHeight {
		return nil
	}
	r.Probed, r.LastProbeRound = true, round
	if ok {
		r.ProbeFailures = 0
	} else {
		r.ProbeFailures++
	}
	s.Serving[i] = r
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProbeRound{
		StreamId: s.Id, Provider: provider, Round: round, Ok: ok, Failures: r.ProbeFailures,
	}); err != nil {
		return err
	}
	if r.ProbeFailures < params.Stream.MaxProbeFailures {
		return k.saveStream(ctx, s, s.TimerHeight)
	}
	addr, err := k.addressCodec.StringToBytes(provider)
	if err != nil {
		return err
	}
	if err := k.providers.RecordFailure(ctx, addr); err != nil {
		return err
	}
	return k.removeReplica(ctx, &s, i, fmt.Sprintf("failed %d probe rounds in a row", r.ProbeFailures), false, math.ZeroInt())
}
