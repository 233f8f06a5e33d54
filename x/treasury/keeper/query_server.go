package keeper

import (
	"context"

	"github.com/opengpu/ogpu/x/treasury/types"
)

type queryServer struct{ Keeper }

// NewQueryServer returns the treasury Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k} }

func (s queryServer) Pools(ctx context.Context, _ *types.QueryPoolsRequest) (*types.QueryPoolsResponse, error) {
	pools, err := s.Keeper.Pools(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryPoolsResponse{Pools: pools}, nil
}
