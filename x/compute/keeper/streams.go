package keeper

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	"github.com/opengpu/ogpu/x/internal/collx"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// Stream heights (docs/streams.md):
//
//   - subscribe_end = created + subscribe_window: the last height that takes subscriptions. The
//     replicas are selected in that block's EndBlock.
//   - live_height = subscribe_end + 1: the first height the replicas serve; period p is
//     [live_height + p·receipt_period, live_height + (p+1)·receipt_period).
//   - end_height = live_height + duration − 1: the last height served. A pause does not move it.
//   - A close (end_height, the grace's end or MsgCloseStream) at height c leaves the replicas
//     reveal_window blocks to commit the last period and redeem their vouchers, a block for the
//     draw and reveal_window blocks to reveal: the stream settles at c + 2·reveal_window + 1.

// GetStream returns a stream by id.
func (k Keeper) GetStream(ctx context.Context, id uint64) (types.Stream, error) {
	s, err := k.Streams.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return s, errorsmod.Wrapf(types.ErrStreamNotFound, "stream %d", id)
	}
	return s, err
}

// LiveStreams are the LIVE streams in id order: the ones validators probe.
func (k Keeper) LiveStreams(ctx context.Context) ([]types.Stream, error) {
	it, err := k.Streams.Indexes.ByState.MatchExact(ctx, int32(types.STREAM_STATE_LIVE))
	if err != nil {
		return nil, err
	}
	ids, err := it.PrimaryKeys()
	if err != nil {
		return nil, err
	}
	out := make([]types.Stream, 0, len(ids))
	for _, id := range ids {
		s, err := k.Streams.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// streamFunding splits an amount of budget into what it locks: the budget, the committee fee
// and the security deposit.
func streamFunding(p types.Params, budget math.Int) (fee, deposit math.Int) {
	return p.CommitteeFee(budget), p.SecurityDeposit(budget)
}

// OpenStream locks the deposit, its committee fee and security deposit and opens the stream for
// subscriptions.
func (k Keeper) OpenStream(ctx context.Context, creator sdk.AccAddress, msg *types.MsgOpenStream) (uint64, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	sp := params.Stream
	// every request and voucher of the stream is checked against the creator's key: a creator
	// without one (a contract, or an account that only sent EVM transactions) could pay nobody
	if _, err := k.pubKey(ctx, "creator", creator); err != nil {
		return 0, err
	}
	if msg.Deposit.Denom != params.Denom {
		return 0, errorsmod.Wrapf(types.ErrInvalidPrice, "deposit %s: must be in %s", msg.Deposit, params.Denom)
	}
	if msg.Replicas > sp.MaxReplicas {
		return 0, errorsmod.Wrapf(types.ErrInvalidStream, "replicas %d: must be in [1, max_replicas = %d]", msg.Replicas, sp.MaxReplicas)
	}
	if msg.Duration < sp.ReceiptPeriod || msg.Duration > sp.MaxStreamBlocks {
		return 0, errorsmod.Wrapf(types.ErrInvalidDeadline, "duration %d blocks: must be in [receipt_period = %d, max_stream_blocks = %d]", msg.Duration, sp.ReceiptPeriod, sp.MaxStreamBlocks)
	}
	wp, ok := msg.Workload.Params.(*types.Workload_InferMlpInt8)
	if !ok || wp.InferMlpInt8 == nil {
		return 0, errorsmod.Wrapf(types.ErrInvalidWorkload, "workload %s: infer_mlp_int8 parameters missing", msg.Workload.Name)
	}
	mlp := workload.InferMlpInt8{Widths: wp.InferMlpInt8.Widths, Rows: wp.InferMlpInt8.Rows}
	if mlp.Rows > sp.MaxRequestRows {
		return 0, errorsmod.Wrapf(types.ErrInvalidWorkload, "workload rows %d: must be at most max_request_rows = %d", mlp.Rows, sp.MaxRequestRows)
	}
	rowsSize := uint64(1)
	if len(mlp.Widths) > 0 {
		rowsSize = workload.MlpRowsSize(mlp.Rows, mlp.Widths[0])
	}
	if err := mlp.Validate([]workload.Input{{URI: msg.Model.Uri, SHA256: msg.Model.Sha256, Size: msg.Model.Size_}, {Size: rowsSize}}); err != nil {
		return 0, errorsmod.Wrapf(types.ErrInvalidWorkload, "workload %s with model: %v", msg.Workload.Name, err)
	}
	budget := msg.Deposit.Amount
	firstPeriod := msg.MaxPricePerRequest.Amount.MulRaw(int64(sp.StreamSamples))
	if budget.QuoRaw(int64(msg.Replicas)).LT(firstPeriod) {
		return 0, errorsmod.Wrapf(types.ErrInvalidPrice, "deposit %s: each of the %d slots must be able to pay a period, stream_samples × max_price_per_request = %s", budget, msg.Replicas, firstPeriod)
	}
	fee, deposit := streamFunding(params, budget)
	escrow := budget.Add(fee).Add(deposit)
	if err := k.bank.SendCoinsFromAccountToModule(ctx, creator, types.ModuleName, sdk.NewCoins(sdk.NewCoin(params.Denom, escrow))); err != nil {
		return 0, errorsmod.Wrapf(err, "lock escrow of %s%s (deposit + committee fee + security deposit)", escrow, params.Denom)
	}
	id, err := k.StreamSeq.Next(ctx)
	if err != nil {
		return 0, err
	}
	if id == 0 { // a genesis without next_stream_id: stream ids start at 1
		if id, err = k.StreamSeq.Next(ctx); err != nil {
			return 0, err
		}
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	s := types.Stream{
		Id: id, Creator: k.str(creator), Workload: msg.Workload, Model: msg.Model, Requirements: msg.Requirements,
		MaxPricePerRequest: msg.MaxPricePerRequest.Amount, Replicas: msg.Replicas, State: types.STREAM_STATE_OPEN,
		CreatedHeight: h, SubscribeEnd: h + int64(sp.SubscribeWindow), Duration: msg.Duration,
		Budget: budget, Escrow: escrow, CommitteeFee: fee, SecurityDeposit: deposit,
		SlotClaimed: make([]math.Int, msg.Replicas), Claimed: math.ZeroInt(), Refunded: math.ZeroInt(),
	}
	for i := range s.SlotClaimed {
		s.SlotClaimed[i] = math.ZeroInt()
	}
	if err := k.saveStream(ctx, s, s.SubscribeEnd); err != nil {
		return 0, err
	}
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamOpened{
		StreamId: id, Creator: s.Creator, Workload: s.Workload.Name, Replicas: s.Replicas,
		MaxPricePerRequest: s.MaxPricePerRequest, Escrow: escrow, SubscribeEnd: s.SubscribeEnd,
	})
}

// saveStream writes the stream and moves its stage timer to timerHeight (0: none).
func (k Keeper) saveStream(ctx context.Context, s types.Stream, timerHeight int64) error {
	if s.TimerHeight != 0 && s.TimerHeight != timerHeight {
		if err := k.StreamTimers.Remove(ctx, collections.Join(s.TimerHeight, s.Id)); err != nil {
			return err
		}
	}
	s.TimerHeight = timerHeight
	if timerHeight != 0 {
		if err := k.StreamTimers.Set(ctx, collections.Join(timerHeight, s.Id)); err != nil {
			return err
		}
	}
	return k.Streams.Set(ctx, s.Id, s)
}

// creatorStream returns the stream if creator opened it.
func (k Keeper) creatorStream(ctx context.Context, creator sdk.AccAddress, id uint64) (types.Stream, error) {
	s, err := k.GetStream(ctx, id)
	if err != nil {
		return s, err
	}
	if s.Creator != k.str(creator) {
		return s, errorsmod.Wrapf(types.ErrNotCreator, "stream %d was opened by %s", id, s.Creator)
	}
	return s, nil
}

// FundStream adds amount to the budget, with its committee fee and security deposit; a PAUSED
// stream that can pay another period goes LIVE again.
//
// Funding raises what each slot may be paid, so it raises every serving replica's locked
// collateral to collateral_ratio × the new slot share. A replica whose free stake cannot cover
// the raise keeps its slot and its collateral, and is redeemed only up to the share its
// collateral covers (StreamClaim.covered) until it bonds more: its next claim above that raises
// the collateral first. It is not replaced or slashed: the client, not the replica, changed the
// terms, and replacing replicas on funding would let a client evict any replica at will (or
// empty a stream whose standbys cannot cover the new share either).
func (k Keeper) FundStream(ctx context.Context, creator sdk.AccAddress, id uint64, amount sdk.Coin) error {
	s, err := k.creatorStream(ctx, creator, id)
	if err != nil {
		return err
	}
	if s.State == types.STREAM_STATE_CLOSED {
		return errorsmod.Wrapf(types.ErrStreamState, "stream %d is CLOSED: only an OPEN, LIVE or PAUSED stream can be funded", id)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if amount.Denom != params.Denom {
		return errorsmod.Wrapf(types.ErrInvalidPrice, "amount %s: must be in %s", amount, params.Denom)
	}
	fee, deposit := streamFunding(params, amount.Amount)
	total := amount.Amount.Add(fee).Add(deposit)
	if err := k.bank.SendCoinsFromAccountToModule(ctx, creator, types.ModuleName, sdk.NewCoins(sdk.NewCoin(params.Denom, total))); err != nil {
		return errorsmod.Wrapf(err, "lock %s%s (amount + committee fee + security deposit)", total, params.Denom)
	}
	s.Budget = s.Budget.Add(amount.Amount)
	s.CommitteeFee = s.CommitteeFee.Add(fee)
	s.SecurityDeposit = s.SecurityDeposit.Add(deposit)
	s.Escrow = s.Escrow.Add(total)
	for i := range s.Serving {
		if err := k.raiseCollateral(ctx, &s, i); err != nil && !errors.Is(err, stakinggputypes.ErrInsufficientBond) {
			return err
		}
	}
	em := sdk.UnwrapSDKContext(ctx).EventManager()
	if err := em.EmitTypedEvent(&types.EventStreamFunded{StreamId: id, Amount: amount.Amount, Budget: s.Budget}); err != nil {
		return err
	}
	if s.State == types.STREAM_STATE_PAUSED && k.canPayPeriod(params, s) {
		return k.resume(ctx, params, s)
	}
	return k.saveStream(ctx, s, s.TimerHeight)
}

// raiseCollateral raises the collateral of the replica at index i to collateral_ratio × the slot
// share and records the share as covered by it; it fails with ErrInsufficientBond, changing
// nothing, when the replica's free stake cannot cover that.
func (k Keeper) raiseCollateral(ctx context.Context, s *types.Stream, i int) error {
	r := s.Serving[i]
	addr, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return err
	}
	key := collections.Join(s.Id, sdk.AccAddress(addr))
	c, err := k.StreamClaims.Get(ctx, key)
	if err != nil {
		return err
	}
	share := s.SlotShare()
	if !c.Covered.IsNil() && c.Covered.GTE(share) {
		return nil
	}
	collateral, err := k.providers.RaiseCollateral(ctx, addr, r.Collateral, share)
	if err != nil {
		return err
	}
	s.Serving[i].Collateral = collateral
	c.Covered = share
	return k.StreamClaims.Set(ctx, key, c)
}

// checkFee is the committee fee of one check: the committee fee the budget funds, divided evenly
// over the checks the stream's duration can produce (replicas × periods × stream_samples), at
// most what is left.
func checkFee(p types.Params, s types.Stream) math.Int {
	return math.MinInt(fullCheckFee(p, s), s.CommitteeFee)
}

// fullCheckFee is checkFee before the cap by what is left: what a challenge pays.
func fullCheckFee(p types.Params, s types.Stream) math.Int {
	periods := (s.Duration + p.Stream.ReceiptPeriod - 1) / p.Stream.ReceiptPeriod
	checks := uint64(s.Replicas) * max(periods, 1) * uint64(p.Stream.StreamSamples)
	return p.CommitteeFee(s.Budget).Quo(math.NewIntFromUint64(checks))
}

// canPayPeriod: the unclaimed budget pays every replica stream_samples requests at its price,
// and the committee fee left pays that period's checks at the full per-check fee.
func canPayPeriod(p types.Params, s types.Stream) bool {
	need := math.ZeroInt()
	for _, r := range s.Serving {
		need = need.Add(r.Price.MulRaw(int64(p.Stream.StreamSamples)))
	}
	checks := int64(len(s.Serving)) * int64(p.Stream.StreamSamples)
	return need.LTE(s.Unclaimed()) && fullCheckFee(p, s).MulRaw(checks).LTE(s.CommitteeFee)
}

func (k Keeper) canPayPeriod(p types.Params, s types.Stream) bool { return canPayPeriod(p, s) }

// resume puts a PAUSED stream LIVE again, its next period boundary as its timer.
func (k Keeper) resume(ctx context.Context, p types.Params, s types.Stream) error {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	s.State = types.STREAM_STATE_LIVE
	s.PausedHeight = 0
	if err := k.saveStream(ctx, s, nextBoundary(p, s, h)); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamResumed{StreamId: s.Id})
}

// nextBoundary is the next stage timer of a LIVE stream at height h: the end of the period h is
// in, or end_height when that comes first.
func nextBoundary(p types.Params, s types.Stream, h int64) int64 {
	end := s.PeriodEnd(s.Period(h, p.Stream.ReceiptPeriod), p.Stream.ReceiptPeriod)
	return min(end, s.EndHeight)
}

// CloseStream ends the stream at its creator's request: an OPEN one settles at once, a LIVE or
// PAUSED one closes and settles after the replicas' last commitments and reveals.
func (k Keeper) CloseStream(ctx context.Context, creator sdk.AccAddress, id uint64) error {
	s, err := k.creatorStream(ctx, creator, id)
	if err != nil {
		return err
	}
	if s.State == types.STREAM_STATE_CLOSED {
		return errorsmod.Wrapf(types.ErrStreamState, "stream %d is already CLOSED", id)
	}
	return k.closeStream(ctx, s, "closed by the creator")
}

// closeStream closes the stream: the replicas stop serving; the period the close falls in must
// still be committed by every replica when the stream was LIVE. A stream that never went live
// settles at once; any other settles 2·reveal_window + 1 blocks later, so that replicas (also
// those replaced without fraud) redeem their last vouchers and the last samples are drawn and
// revealed.
func (k Keeper) closeStream(ctx context.Context, s types.Stream, reason string) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	wasLive := s.State == types.STREAM_STATE_LIVE
	s.State = types.STREAM_STATE_CLOSED
	s.ClosedHeight = h
	s.Outcome = reason
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamClosed{
		StreamId: s.Id, Reason: reason, Claimed: s.Claimed, Refunded: math.ZeroInt(), Creator: s.Creator,
	}); err != nil {
		return err
	}
	if s.LiveHeight == 0 {
		return k.settle(ctx, s)
	}
	if wasLive && h >= s.LiveHeight {
		if err := k.periodDue(ctx, params, s, s.Period(h, params.Stream.ReceiptPeriod), h+int64(params.Stream.RevealWindow)); err != nil {
			return err
		}
	}
	return k.saveStream(ctx, s, h+2*int64(params.Stream.RevealWindow)+1)
}

// settle pays the unclaimed rest of the escrow back to the client, releases the replicas'
// collateral and forgets the stream's subscriptions, claims and commitments (those of pending
// checks when the checks end). Vouchers are refused from now on.
func (k Keeper) settle(ctx context.Context, s types.Stream) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	refund := s.Escrow
	if refund.IsPositive() {
		creator, err := k.addressCodec.StringToBytes(s.Creator)
		if err != nil {
			return err
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, creator, sdk.NewCoins(sdk.NewCoin(params.Denom, refund))); err != nil {
			return errorsmod.Wrapf(err, "stream %d: refund %s to %s", s.Id, refund, s.Creator)
		}
	}
	s.Escrow = math.ZeroInt()
	s.Refunded = s.Refunded.Add(refund)
	for _, r := range s.Serving {
		if err := k.releaseReplica(ctx, s.Id, r); err != nil {
			return err
		}
	}
	if err := collx.Clear(ctx, k.Subscriptions, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](s.Id)); err != nil {
		return err
	}
	s.Settled = true
	if err := k.pruneSettled(ctx, params, s); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamSettled{
		StreamId: s.Id, Claimed: s.Claimed, Refunded: refund, Creator: s.Creator,
	})
}

// releaseReplica unlocks a replica's collateral and forgets that it serves the stream.
func (k Keeper) releaseReplica(ctx context.Context, id uint64, r types.Replica) error {
	p, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return err
	}
	if err := k.providers.UnlockCollateral(ctx, p, r.Collateral); err != nil {
		return err
	}
	return k.StreamsByProvider.Remove(ctx, collections.Join(sdk.AccAddress(p), id))
}

// Subscribe records a provider's offer to serve an OPEN stream. A provider must be eligible with
// stake free for the collateral of a slot (collateral_ratio × budget / replicas), and may not
// serve its own stream. The stream keeps at most replicas + max_standbys subscriptions: when it
// has them, a subscription that beats the worst (by the selection's rule, subscriptions no longer
// eligible being the worst) takes its place and any other is refused, so that squatters cannot
// fill the list to keep cheaper providers out.
//
// There is no message to withdraw a subscription, and there must not be one: a squatter could
// otherwise fill the list and leave it in the window's last block, when nobody can subscribe
// after it (batch bids forbid withdrawing in the last block for the same reason).
func (k Keeper) Subscribe(ctx context.Context, provider sdk.AccAddress, id uint64, price math.Int, endpoint string) error {
	s, err := k.GetStream(ctx, id)
	if err != nil {
		return err
	}
	if s.State != types.STREAM_STATE_OPEN {
		return errorsmod.Wrapf(types.ErrStreamState, "stream %d is %s: subscriptions only while OPEN", id, s.State)
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if h > s.SubscribeEnd {
		return errorsmod.Wrapf(types.ErrSubscribeClosed, "stream %d took subscriptions until height %d; this is %d", id, s.SubscribeEnd, h)
	}
	if price.GT(s.MaxPricePerRequest) {
		return errorsmod.Wrapf(types.ErrInvalidPrice, "price %s: must be at most the stream's max_price_per_request %s", price, s.MaxPricePerRequest)
	}
	if k.str(provider) == s.Creator {
		return errorsmod.Wrapf(types.ErrNotEligible, "provider %s opened stream %d: a client may not serve its own stream", s.Creator, id)
	}
	key := collections.Join(id, provider)
	if has, err := k.Subscriptions.Has(ctx, key); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrDuplicateSubscribe, "provider %s on stream %d", k.str(provider), id)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	subs, err := k.subscriptionsOf(ctx, id)
	if err != nil {
		return err
	}
	if err := k.providers.Eligible(ctx, provider, s.Requirements, s.SlotShare()); err != nil {
		return errorsmod.Wrapf(types.ErrNotEligible, "stream %d: %v", id, err)
	}
	if cap := s.Replicas + params.Stream.MaxStandbys; len(subs) >= int(cap) {
		if err := k.evictWorstSubscription(ctx, s, subs, provider, price, cap); err != nil {
			return err
		}
	}
	sub := types.Subscription{Provider: k.str(provider), Price: price, Endpoint: endpoint, Height: h}
	if err := k.Subscriptions.Set(ctx, key, sub); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamSubscribed{StreamId: id, Provider: sub.Provider, Price: price})
}

// evictWorstSubscription removes the worst of a full stream's subscriptions if the newcomer's
// beats it, and refuses the newcomer otherwise.
func (k Keeper) evictWorstSubscription(ctx context.Context, s types.Stream, subs []types.Subscription, provider sdk.AccAddress, price math.Int, cap uint32) error {
	worst, beaten, err := k.worstOfFull(ctx, s.Id, provider, price, len(subs), func(i int) (Candidate, bool, error) {
		return k.streamCandidate(ctx, s, subs[i])
	})
	if err != nil || worst == nil {
		return err // an empty list has room
	}
	if !beaten {
		return errorsmod.Wrapf(types.ErrTooManySubscribers, "stream %d has replicas + max_standbys = %d subscriptions: a new one must beat the worst, %s at %s a request", s.Id, cap, k.str(worst.Provider), worst.Price)
	}
	if err := k.Subscriptions.Remove(ctx, collections.Join(s.Id, worst.Provider)); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSubscriptionEvicted{StreamId: s.Id, Provider: k.str(worst.Provider), By: k.str(provider)})
}

func (k Keeper) subscriptionsOf(ctx context.Context, id uint64) ([]types.Subscription, error) {
	var subs []types.Subscription
	err := k.Subscriptions.Walk(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](id),
		func(_ collections.Pair[uint64, sdk.AccAddress], sub types.Subscription) (bool, error) {
			subs = append(subs, sub)
			return false, nil
		})
	return subs, err
}

// streamCandidate is a subscription with its provider's record; ok is false when the provider
// is no longer eligible for a slot or was removed from the stream.
func (k Keeper) streamCandidate(ctx context.Context, s types.Stream, sub types.Subscription) (Candidate, bool, error) {
	addr, err := k.addressCodec.StringToBytes(sub.Provider)
	if err != nil {
		return Candidate{}, false, err
	}
	c := Candidate{Provider: addr, Price: sub.Price}
	if slices.Contains(s.FailedProviders, sub.Provider) || k.providers.Eligible(ctx, addr, s.Requirements, s.SlotShare()) != nil {
		return c, false, nil
	}
	p, err := k.providers.GetProvider(ctx, addr)
	if err != nil {
		return Candidate{}, false, err
	}
	c.Completed, c.Failed, c.Bonded = p.CompletedTasks, p.FailedTasks, p.Bonded
	return c, true, nil
}

// selectReplicas ends the subscription window: the best subscriptions by the batch matching
// rule take the slots, the next max_standbys wait in order. With fewer eligible subscribers
// than replicas the stream serves with those (the empty slots' shares go back at settlement);
// with none it closes and everything is refunded.
func (k Keeper) selectReplicas(ctx context.Context, s types.Stream) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	subs, err := k.subscriptionsOf(ctx, s.Id)
	if err != nil {
		return err
	}
	type ranked struct {
		c   Candidate
		sub types.Subscription
	}
	var cands []ranked
	for _, sub := range subs {
		c, ok, err := k.streamCandidate(ctx, s, sub)
		if err != nil {
			return err
		}
		if ok {
			cands = append(cands, ranked{c, sub})
		}
	}
	slices.SortFunc(cands, func(a, b ranked) int {
		switch {
		case Better(s.Id, a.c, b.c):
			return -1
		case Better(s.Id, b.c, a.c):
			return 1
		}
		return 0
	})
	if err := collx.Clear(ctx, k.Subscriptions, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](s.Id)); err != nil {
		return err
	}
	if len(cands) == 0 {
		return k.closeStream(ctx, s, "no eligible subscriber")
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	s.LiveHeight = h + 1
	s.EndHeight = s.LiveHeight + int64(s.Duration) - 1
	for i, c := range cands {
		if i < int(s.Replicas) {
			if err := k.seat(ctx, &s, c.sub, uint32(i), s.LiveHeight); err != nil {
				return err
			}
			continue
		}
		if len(s.Standbys) < int(params.Stream.MaxStandbys) {
			s.Standbys = append(s.Standbys, c.sub)
		}
	}
	s.State = types.STREAM_STATE_LIVE
	if err := k.saveStream(ctx, s, nextBoundary(params, s, s.LiveHeight)); err != nil {
		return err
	}
	standbys := make([]string, len(s.Standbys))
	for i, sb := range s.Standbys {
		standbys[i] = sb.Provider
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamLive{
		StreamId: s.Id, Serving: s.Serving, Standbys: standbys, EndHeight: s.EndHeight, Creator: s.Creator,
	})
}

// seat makes sub the replica of slot: it locks collateral_ratio × the slot's share of its bond.
func (k Keeper) seat(ctx context.Context, s *types.Stream, sub types.Subscription, slot uint32, since int64) error {
	addr, err := k.addressCodec.StringToBytes(sub.Provider)
	if err != nil {
		return err
	}
	collateral, err := k.providers.LockCollateral(ctx, addr, s.SlotShare())
	if err != nil {
		return err
	}
	r := types.Replica{
		Provider: sub.Provider, Price: sub.Price, Endpoint: sub.Endpoint, Slot: slot, SinceHeight: since,
		Collateral: collateral, Claimed: math.ZeroInt(),
	}
	s.Serving = append(s.Serving, r)
	if err := k.StreamsByProvider.Set(ctx, collections.Join(sdk.AccAddress(addr), s.Id)); err != nil {
		return err
	}
	return k.StreamClaims.Set(ctx, collections.Join(s.Id, sdk.AccAddress(addr)), types.StreamClaim{
		StreamId: s.Id, Provider: sub.Provider, Slot: slot, Claimed: math.ZeroInt(), Price: sub.Price, Covered: s.SlotShare(),
	})
}

// removeReplica takes the replica at index i out of its slot: its collateral is released, its
// claims so far count as the slot's earlier claims, its pending commitments are dropped (its
// miss or fraud is punished already) and it may not serve the stream again; with fraud its
// later vouchers are refused. The first standby still eligible takes the slot while the stream
// is LIVE or PAUSED; a stream left without replicas closes.
func (k Keeper) removeReplica(ctx context.Context, s *types.Stream, i int, reason string, fraud bool, slashed math.Int) error {
	if s.Settled {
		return nil // its collateral was released at the settlement; a fraud flag is set by the caller
	}
	r := s.Serving[i]
	addr, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return err
	}
	if err := k.releaseReplica(ctx, s.Id, r); err != nil {
		return err
	}
	s.SlotClaimed[r.Slot] = s.SlotClaimed[r.Slot].Add(r.Claimed)
	s.Serving = slices.Delete(s.Serving, i, i+1)
	s.FailedProviders = append(s.FailedProviders, r.Provider)
	if fraud {
		key := collections.Join(s.Id, sdk.AccAddress(addr))
		c, err := k.StreamClaims.Get(ctx, key)
		if err != nil {
			return err
		}
		c.Fraud = true
		if err := k.StreamClaims.Set(ctx, key, c); err != nil {
			return err
		}
	}
	if err := k.dropPending(ctx, *s, addr); err != nil {
		return err
	}
	replacement := ""
	if s.State == types.STREAM_STATE_LIVE || s.State == types.STREAM_STATE_PAUSED {
		h := sdk.UnwrapSDKContext(ctx).BlockHeight()
		for len(s.Standbys) > 0 {
			sub := s.Standbys[0]
			s.Standbys = s.Standbys[1:]
			_, ok, err := k.streamCandidate(ctx, *s, sub)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := k.seat(ctx, s, sub, r.Slot, h+1); err != nil {
				return err
			}
			replacement = sub.Provider
			break
		}
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventReplicaReplaced{
		StreamId: s.Id, Slot: r.Slot, Provider: r.Provider, Replacement: replacement, Reason: reason, Slashed: slashed,
		Creator: s.Creator,
	}); err != nil {
		return err
	}
	if len(s.Serving) == 0 && s.State != types.STREAM_STATE_CLOSED {
		return k.closeStream(ctx, *s, fmt.Sprintf("no replica left: %s", reason))
	}
	return k.saveStream(ctx, *s, s.TimerHeight)
}

// dropPending forgets a removed replica's uncommitted and unrevealed commitments and their
// deadlines and draws.
func (k Keeper) dropPending(ctx context.Context, s types.Stream, provider sdk.AccAddress) error {
	id := s.Id
	var pending []types.ReceiptCommitment
	rng := collections.NewSuperPrefixedTripleRange[uint64, sdk.AccAddress, uint64](id, provider)
	if err := k.Commitments.Walk(ctx, rng, func(_ commitmentKey, c types.ReceiptCommitment) (bool, error) {
		if c.Required && (c.CommittedHeight == 0 || !c.Revealed) {
			pending = append(pending, c)
		}
		return false, nil
	}); err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	for _, c := range pending {
		key := collections.Join3(id, provider, c.Period)
		if err := k.clearDeadlines(ctx, params, s, key, c); err != nil {
			return err
		}
		c.Required = false
		if err := k.Commitments.Set(ctx, key, c); err != nil {
			return err
		}
	}
	return nil
}
