package keeper

import (
	"context"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// InitGenesis loads tasks and bids and rebuilds the timers and assignments from them.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, t := range gs.Tasks {
		timer := t.TimerHeight
		t.TimerHeight = 0
		if err := k.saveTask(ctx, t, timer); err != nil {
			return err
		}
		if t.State.HasAssignee() {
			p, err := k.addressCodec.StringToBytes(t.Provider)
			if err != nil {
				return err
			}
			if err := k.ActiveByProvider.Set(ctx, collections.Join(sdk.AccAddress(p), t.Id)); err != nil {
				return err
			}
		}
	}
	for _, b := range gs.Bids {
		p, err := k.addressCodec.StringToBytes(b.Provider)
		if err != nil {
			return err
		}
		if err := k.Bids.Set(ctx, collections.Join(b.TaskId, sdk.AccAddress(p)), b); err != nil {
			return err
		}
	}
	if err := k.TaskSeq.Set(ctx, gs.NextTaskId); err != nil {
		return err
	}
	return k.initStreams(ctx, gs)
}

// initStreams loads streams, subscriptions, commitments and claims and rebuilds the stream
// timers, the sample draws, the deadlines and the provider index from them.
func (k Keeper) initStreams(ctx context.Context, gs types.GenesisState) error {
	streams := make(map[uint64]types.Stream, len(gs.Streams))
	for _, s := range gs.Streams {
		timer := s.TimerHeight
		s.TimerHeight = 0
		if err := k.saveStream(ctx, s, timer); err != nil {
			return err
		}
		streams[s.Id] = s
		if s.Settled {
			continue
		}
		for _, r := range s.Serving {
			p, err := k.addressCodec.StringToBytes(r.Provider)
			if err != nil {
				return err
			}
			if err := k.StreamsByProvider.Set(ctx, collections.Join(sdk.AccAddress(p), s.Id)); err != nil {
				return err
			}
		}
	}
	for _, sub := range gs.Subscriptions {
		p, err := k.addressCodec.StringToBytes(sub.Subscription.Provider)
		if err != nil {
			return err
		}
		if err := k.Subscriptions.Set(ctx, collections.Join(sub.StreamId, sdk.AccAddress(p)), sub.Subscription); err != nil {
			return err
		}
	}
	for _, c := range gs.Claims {
		p, err := k.addressCodec.StringToBytes(c.Provider)
		if err != nil {
			return err
		}
		if err := k.StreamClaims.Set(ctx, collections.Join(c.StreamId, sdk.AccAddress(p)), c); err != nil {
			return err
		}
	}
	for _, c := range gs.Commitments {
		p, err := k.addressCodec.StringToBytes(c.Provider)
		if err != nil {
			return err
		}
		key := collections.Join3(c.StreamId, sdk.AccAddress(p), c.Period)
		if err := k.Commitments.Set(ctx, key, c); err != nil {
			return err
		}
		if !c.Required {
			continue
		}
		var due collections.KeySet[collections.Pair[int64, commitmentKey]]
		var height int64
		switch {
		case c.CommittedHeight == 0:
			due, height = k.StreamDeadlines, deadlineOf(gs.Params, streams[c.StreamId], c)
		case c.SampledHeight == 0 && c.Count > 0:
			due, height = k.SampleDraws, c.CommittedHeight+1
		case c.SampledHeight != 0 && !c.Revealed:
			due, height = k.StreamDeadlines, c.SampledHeight+int64(gs.Params.Stream.RevealWindow)
		default:
			continue
		}
		if err := due.Set(ctx, collections.Join(height, key)); err != nil {
			return err
		}
	}
	return k.StreamSeq.Set(ctx, max(gs.NextStreamId, 1))
}

// ExportGenesis writes tasks and bids in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Tasks.Walk(ctx, nil, func(_ uint64, t types.Task) (bool, error) {
		gs.Tasks = append(gs.Tasks, t)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Bids.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], b types.Bid) (bool, error) {
		gs.Bids = append(gs.Bids, b)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.NextTaskId, err = k.TaskSeq.Peek(ctx); err != nil {
		return nil, err
	}
	if err := k.Streams.Walk(ctx, nil, func(_ uint64, s types.Stream) (bool, error) {
		gs.Streams = append(gs.Streams, s)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Subscriptions.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], sub types.Subscription) (bool, error) {
		gs.Subscriptions = append(gs.Subscriptions, types.StreamSubscription{StreamId: key.K1(), Subscription: sub})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Commitments.Walk(ctx, nil, func(_ commitmentKey, c types.ReceiptCommitment) (bool, error) {
		gs.Commitments = append(gs.Commitments, c)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.StreamClaims.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], c types.StreamClaim) (bool, error) {
		gs.Claims = append(gs.Claims, c)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.NextStreamId, err = k.StreamSeq.Peek(ctx); err != nil {
		return nil, err
	}
	return gs, nil
}
