package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestQueryProvidersFilters(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	h100Op, a100Op, cpuOp := f.account(1, ogpu(1)), f.account(2, ogpu(1)), f.account(3, ogpu(1))
	f.register(t, h100Op)
	a100 := registerMsg(a100Op)
	a100.Gpus = []types.GPU{{Uuid: "GPU-a", Model: "NVIDIA A100-SXM4-40GB", VramMib: 40960, ComputeCapability: "8.0"}}
	_, err := f.msgs.RegisterProvider(f.ctx, a100)
	require.NoError(t, err)
	cpu := registerMsg(cpuOp)
	cpu.Gpus = nil
	_, err = f.msgs.RegisterProvider(f.ctx, cpu)
	require.NoError(t, err)
	require.NoError(t, f.k.Jail(f.ctx, a100Op, f.ctx.BlockTime()))

	list := func(req *types.QueryProvidersRequest) []string {
		res, err := f.queries.Providers(f.ctx, req)
		require.NoError(t, err)
		var ops []string
		for _, p := range res.Providers {
			ops = append(ops, p.Operator)
		}
		return ops
	}
	all := list(&types.QueryProvidersRequest{})
	require.Len(t, all, 3)
	require.Equal(t, []string{h100Op.String()}, list(&types.QueryProvidersRequest{GpuModel: "h100"}))
	require.ElementsMatch(t, []string{h100Op.String(), a100Op.String()}, list(&types.QueryProvidersRequest{MinVramMib: 40960}))
	require.Equal(t, []string{h100Op.String()}, list(&types.QueryProvidersRequest{MinVramMib: 40961}))
	require.Equal(t, []string{a100Op.String()}, list(&types.QueryProvidersRequest{Jailed: types.JAIL_FILTER_JAILED}))
	require.Len(t, list(&types.QueryProvidersRequest{Jailed: types.JAIL_FILTER_NOT_JAILED}), 2)
	require.Len(t, list(&types.QueryProvidersRequest{Workload: "gemm-int8/v1"}), 3)
	require.Empty(t, list(&types.QueryProvidersRequest{Workload: "infer-mlp-int8/v1"}))

	page1, err := f.queries.Providers(f.ctx, &types.QueryProvidersRequest{Pagination: &query.PageRequest{Limit: 2, CountTotal: true}})
	require.NoError(t, err)
	require.Len(t, page1.Providers, 2)
	require.EqualValues(t, 3, page1.Pagination.Total)
	page2, err := f.queries.Providers(f.ctx, &types.QueryProvidersRequest{Pagination: &query.PageRequest{Key: page1.Pagination.NextKey}})
	require.NoError(t, err)
	require.Len(t, page2.Providers, 1)

	_, err = f.queries.Provider(f.ctx, &types.QueryProviderRequest{Operator: "nope"})
	require.ErrorContains(t, err, "operator \"nope\"")
	_, err = f.queries.Stake(f.ctx, &types.QueryStakeRequest{Operator: f.account(9, math.ZeroInt()).String()})
	require.ErrorContains(t, err, "provider not found")
}
