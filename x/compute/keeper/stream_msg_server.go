package keeper

import (
	"context"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/opengpu/ogpu/x/compute/types"
)

func (s msgServer) OpenStream(ctx context.Context, msg *types.MsgOpenStream) (*types.MsgOpenStreamResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	id, err := s.Keeper.OpenStream(ctx, creator, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgOpenStreamResponse{StreamId: id}, nil
}

func (s msgServer) FundStream(ctx context.Context, msg *types.MsgFundStream) (*types.MsgFundStreamResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	return &types.MsgFundStreamResponse{}, s.Keeper.FundStream(ctx, creator, msg.StreamId, msg.Amount)
}

func (s msgServer) CloseStream(ctx context.Context, msg *types.MsgCloseStream) (*types.MsgCloseStreamResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	return &types.MsgCloseStreamResponse{}, s.Keeper.CloseStream(ctx, creator, msg.StreamId)
}

func (s msgServer) Subscribe(ctx context.Context, msg *types.MsgSubscribe) (*types.MsgSubscribeResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgSubscribeResponse{}, s.Keeper.Subscribe(ctx, provider, msg.StreamId, msg.Price, msg.Endpoint)
}

func (s msgServer) ClaimStream(ctx context.Context, msg *types.MsgClaimStream) (*types.MsgClaimStreamResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	paid, err := s.Keeper.ClaimStream(ctx, provider, msg.Voucher, msg.Signature)
	if err != nil {
		return nil, err
	}
	return &types.MsgClaimStreamResponse{Paid: paid}, nil
}

func (s msgServer) CommitReceipts(ctx context.Context, msg *types.MsgCommitReceipts) (*types.MsgCommitReceiptsResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgCommitReceiptsResponse{}, s.Keeper.CommitReceipts(ctx, provider, msg)
}

func (s msgServer) RevealSamples(ctx context.Context, msg *types.MsgRevealSamples) (*types.MsgRevealSamplesResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	ids, err := s.Keeper.RevealSamples(ctx, provider, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgRevealSamplesResponse{CheckTasks: ids}, nil
}

func (s msgServer) ChallengeResponse(ctx context.Context, msg *types.MsgChallengeResponse) (*types.MsgChallengeResponseResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	id, err := s.Keeper.ChallengeResponse(ctx, creator, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgChallengeResponseResponse{CheckTask: id}, nil
}

// recentPeriods is how many of the latest periods' commitments the Stream query returns, besides
// every commitment still waiting for a commitment or a reveal; older ones are pruned once
// nothing needs them (pruneStream).
const recentPeriods = 3

func (q queryServer) Stream(ctx context.Context, req *types.QueryStreamRequest) (*types.QueryStreamResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	s, err := q.GetStream(ctx, req.StreamId)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	subs, err := q.subscriptionsOf(ctx, s.Id)
	if err != nil {
		return nil, err
	}
	params, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	latest := latestPeriod(params, s, sdk.UnwrapSDKContext(ctx).BlockHeight())
	var commitments []types.ReceiptCommitment
	err = q.Commitments.Walk(ctx, collections.NewPrefixedTripleRange[uint64, sdk.AccAddress, uint64](s.Id),
		func(_ commitmentKey, c types.ReceiptCommitment) (bool, error) {
			pending := c.Required && (c.CommittedHeight == 0 || (c.SampledHeight != 0 && !c.Revealed))
			if pending || c.Period+recentPeriods > latest {
				commitments = append(commitments, c)
			}
			return false, nil
		})
	if err != nil {
		return nil, err
	}
	return &types.QueryStreamResponse{Stream: s, Subscriptions: subs, Commitments: commitments}, nil
}

// Streams pages through the creator's streams, or the streams a provider serves (unsettled),
// when either is given (then filtered by state), else the streams in a state, else all.
func (q queryServer) Streams(ctx context.Context, req *types.QueryStreamsRequest) (*types.QueryStreamsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	load := func(id uint64) (types.Stream, error) { return q.Keeper.Streams.Get(ctx, id) }
	keep := func(s types.Stream) bool {
		if req.State != types.STREAM_STATE_UNSPECIFIED && s.State != req.State {
			return false
		}
		if req.Provider != "" {
			if _, i := s.ReplicaOf(req.Provider); i < 0 {
				return false
			}
		}
		return true
	}
	var (
		streams []types.Stream
		page    *query.PageResponse
		err     error
	)
	byAddress := func(ks collections.KeySet[collections.Pair[sdk.AccAddress, uint64]], addr, field string) {
		a, aerr := q.addressCodec.StringToBytes(addr)
		if aerr != nil {
			err = status.Errorf(codes.InvalidArgument, "%s %q: %v", field, addr, aerr)
			return
		}
		streams, page, err = query.CollectionFilteredPaginate(ctx, ks, req.Pagination,
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (bool, error) {
				s, err := load(key.K2())
				return err == nil && keep(s), err
			},
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Stream, error) {
				return load(key.K2())
			},
			query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](sdk.AccAddress(a)))
	}
	switch {
	case req.Creator != "":
		a, aerr := q.addressCodec.StringToBytes(req.Creator)
		if aerr != nil {
			return nil, status.Errorf(codes.InvalidArgument, "creator %q: %v", req.Creator, aerr)
		}
		streams, page, err = query.CollectionFilteredPaginate(ctx, q.Keeper.Streams.Indexes.ByCreator, req.Pagination,
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (bool, error) {
				s, err := load(key.K2())
				return err == nil && keep(s), err
			},
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Stream, error) {
				return load(key.K2())
			},
			query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](sdk.AccAddress(a)))
	case req.Provider != "":
		byAddress(q.Keeper.StreamsByProvider, req.Provider, "provider")
	case req.State != types.STREAM_STATE_UNSPECIFIED:
		streams, page, err = query.CollectionPaginate(ctx, q.Keeper.Streams.Indexes.ByState, req.Pagination,
			func(key collections.Pair[int32, uint64], _ collections.NoValue) (types.Stream, error) {
				return load(key.K2())
			},
			query.WithCollectionPaginationPairPrefix[int32, uint64](int32(req.State)))
	default:
		streams, page, err = query.CollectionPaginate(ctx, q.Keeper.Streams, req.Pagination,
			func(_ uint64, s types.Stream) (types.Stream, error) { return s, nil })
	}
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryStreamsResponse{Streams: streams, Pagination: page}, nil
}
