package keeper

import (
	"context"
	"slices"
	"strings"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

type queryServer struct{ Keeper }

// NewQueryServer returns the module's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) address(operator string) (sdk.AccAddress, error) {
	addr, err := q.addressCodec.StringToBytes(operator)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "operator %q: %v", operator, err)
	}
	return addr, nil
}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Provider(ctx context.Context, req *types.QueryProviderRequest) (*types.QueryProviderResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	addr, err := q.address(req.Operator)
	if err != nil {
		return nil, err
	}
	p, err := q.GetProvider(ctx, addr)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryProviderResponse{Provider: p}, nil
}

// Providers pages through providers in address order, keeping those that pass every filter set.
func (q queryServer) Providers(ctx context.Context, req *types.QueryProvidersRequest) (*types.QueryProvidersResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	model := strings.ToLower(req.GpuModel)
	keep := func(p types.Provider) bool {
		switch req.Jailed {
		case types.JAIL_FILTER_JAILED:
			if !p.Jailed {
				return false
			}
		case types.JAIL_FILTER_NOT_JAILED:
			if p.Jailed {
				return false
			}
		}
		if req.Workload != "" && !slices.Contains(p.Workloads, req.Workload) {
			return false
		}
		if model == "" && req.MinVramMib == 0 {
			return true
		}
		for _, g := range p.Gpus {
			if g.VramMib >= req.MinVramMib && strings.Contains(strings.ToLower(g.Model), model) {
				return true
			}
		}
		return false
	}
	providers, page, err := query.CollectionFilteredPaginate(ctx, q.Keeper.Providers, req.Pagination,
		func(_ sdk.AccAddress, p types.Provider) (bool, error) { return keep(p), nil },
		func(_ sdk.AccAddress, p types.Provider) (types.Provider, error) { return p, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryProvidersResponse{Providers: providers, Pagination: page}, nil
}

func (q queryServer) Stake(ctx context.Context, req *types.QueryStakeRequest) (*types.QueryStakeResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	addr, err := q.address(req.Operator)
	if err != nil {
		return nil, err
	}
	p, err := q.GetProvider(ctx, addr)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	sum, entries, err := q.unbondingOf(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &types.QueryStakeResponse{Bonded: p.Bonded, Unbonding: sum, Entries: entries}, nil
}

func (q queryServer) Rewards(ctx context.Context, req *types.QueryRewardsRequest) (*types.QueryRewardsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	addr, err := q.address(req.Operator)
	if err != nil {
		return nil, err
	}
	amount, err := q.AccruedRewards(ctx, addr)
	if err != nil {
		return nil, err
	}
	params, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryRewardsResponse{Amount: amount, Denom: params.BondDenom}, nil
}

func (q queryServer) RewardPool(ctx context.Context, _ *types.QueryRewardPoolRequest) (*types.QueryRewardPoolResponse, error) {
	pool, err := q.Keeper.RewardPool.Get(ctx)
	if err != nil {
		return nil, err
	}
	params, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	releasedNow := math.MaxInt(pool.Released, ReleasedAt(pool, params.ProviderRewardPeriod, sdkCtx.BlockTime()))
	return &types.QueryRewardPoolResponse{
		Pool:            pool,
		ReleasedNow:     releasedNow,
		Remaining:       pool.Total.Sub(releasedNow),
		Carried:         pool.Released.Add(pool.Recycled).Sub(pool.Allocated),
		Balance:         q.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.RewardsPoolName), params.BondDenom).Amount,
		NextEpochHeight: NextEpochHeight(sdkCtx.BlockHeight(), params.RewardEpoch),
	}, nil
}
