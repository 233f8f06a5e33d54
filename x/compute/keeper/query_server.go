package keeper

import (
	"context"

	"cosmossdk.io/collections"
	"cosmossdk.io/collections/indexes"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/opengpu/ogpu/x/compute/types"
)

type queryServer struct{ Keeper }

// NewQueryServer returns the module's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Task(ctx context.Context, req *types.QueryTaskRequest) (*types.QueryTaskResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	task, err := q.GetTask(ctx, req.TaskId)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	bids, err := q.BidsOf(ctx, req.TaskId)
	if err != nil {
		return nil, err
	}
	return &types.QueryTaskResponse{Task: task, Bids: bids}, nil
}

// Tasks pages through one index: the creator's or the provider's tasks when either is given
// (then filtered by state), else the tasks in a state. Without any filter it pages all tasks.
func (q queryServer) Tasks(ctx context.Context, req *types.QueryTasksRequest) (*types.QueryTasksResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	load := func(id uint64) (types.Task, error) { return q.Keeper.Tasks.Get(ctx, id) }
	keepState := func(t types.Task) bool { return req.State == types.TASK_STATE_UNSPECIFIED || t.State == req.State }
	var (
		tasks []types.Task
		page  *query.PageResponse
		err   error
	)
	byAddress := func(index *indexes.Multi[sdk.AccAddress, uint64, types.Task], addr, field string) {
		a, aerr := q.addressCodec.StringToBytes(addr)
		if aerr != nil {
			err = status.Errorf(codes.InvalidArgument, "%s %q: %v", field, addr, aerr)
			return
		}
		other := func(types.Task) bool { return true }
		if field == "creator" && req.Provider != "" {
			other = func(t types.Task) bool { return t.Provider == req.Provider }
		}
		tasks, page, err = query.CollectionFilteredPaginate(ctx, index, req.Pagination,
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (bool, error) {
				t, err := load(key.K2())
				return err == nil && keepState(t) && other(t), err
			},
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Task, error) {
				return load(key.K2())
			},
			query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](sdk.AccAddress(a)))
	}
	switch {
	case req.Creator != "":
		byAddress(q.Keeper.Tasks.Indexes.ByCreator, req.Creator, "creator")
	case req.Provider != "":
		byAddress(q.Keeper.Tasks.Indexes.ByProvider, req.Provider, "provider")
	case req.State != types.TASK_STATE_UNSPECIFIED:
		tasks, page, err = query.CollectionPaginate(ctx, q.Keeper.Tasks.Indexes.ByState, req.Pagination,
			func(key collections.Pair[int32, uint64], _ collections.NoValue) (types.Task, error) {
				return load(key.K2())
			},
			query.WithCollectionPaginationPairPrefix[int32, uint64](int32(req.State)))
	default:
		tasks, page, err = query.CollectionPaginate(ctx, q.Keeper.Tasks, req.Pagination,
			func(_ uint64, t types.Task) (types.Task, error) { return t, nil })
	}
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryTasksResponse{Tasks: tasks, Pagination: page}, nil
}
