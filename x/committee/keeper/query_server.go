package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/opengpu/ogpu/x/committee/types"
)

type queryServer struct{ Keeper }

// NewQueryServer returns the module's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k} }

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Verifiers(ctx context.Context, req *types.QueryVerifiersRequest) (*types.QueryVerifiersResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	vs, page, err := query.CollectionPaginate(ctx, q.Keeper.Verifiers, req.Pagination,
		func(_ sdk.ValAddress, v types.Verifier) (types.Verifier, error) { return v, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryVerifiersResponse{Verifiers: vs, Pagination: page}, nil
}

func (q queryServer) Committee(ctx context.Context, req *types.QueryCommitteeRequest) (*types.QueryCommitteeResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	c, err := q.Committees.Get(ctx, req.TaskId)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "task %d has no committee: it is not being verified", req.TaskId)
	}
	if err != nil {
		return nil, err
	}
	atts, err := q.attestationsOf(ctx, req.TaskId)
	if err != nil {
		return nil, err
	}
	return &types.QueryCommitteeResponse{Committee: c, Attestations: atts}, nil
}
