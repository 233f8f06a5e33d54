package app

import (
	"testing"

	"github.com/stretchr/testify/require"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	dbm "github.com/cosmos/cosmos-db"
	evmtypes "github.com/cosmos/evm/x/vm/types"

	"cosmossdk.io/log/v2"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// TestFixedSupply checks that the supply invariant sees a supply that is not 21M OGPU, and
// that stake x/staking burns when it slashes ends in the community pool instead.
func TestFixedSupply(t *testing.T) {
	a := New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.EmptyAppOptions{})
	ctx := a.NewUncachedContext(false, cmtproto.Header{Height: 1})
	require.NoError(t, a.DistrKeeper.FeePool.Set(ctx, distrtypes.InitialFeePool()))
	require.NoError(t, a.StakingGPUKeeper.InitGenesis(ctx, *stakinggputypes.DefaultGenesis()))
	require.NoError(t, a.ComputeKeeper.InitGenesis(ctx, *computetypes.DefaultGenesis()))

	require.ErrorContains(t, a.AssertInvariants(ctx), "invariant bank/fixed-supply broken at height 1: total supply of aogpu is 0")

	supply := sdk.NewCoins(sdk.NewCoin(BaseDenom, TotalSupply))
	require.NoError(t, a.BankKeeper.MintCoins(ctx, evmtypes.ModuleName, supply))
	require.NoError(t, a.AssertInvariants(ctx))

	// a validator slash: staking asks its bank keeper to burn from the bonded pool
	slashed := sdk.NewCoins(sdk.NewInt64Coin(BaseDenom, 1_000))
	require.NoError(t, a.BankKeeper.SendCoinsFromModuleToModule(ctx, evmtypes.ModuleName, stakingtypes.BondedPoolName, slashed))
	sink := &communityPoolSink{Keeper: a.BankKeeper, distr: &a.DistrKeeper}
	require.NoError(t, sink.BurnCoins(ctx, stakingtypes.BondedPoolName, slashed))
	require.NoError(t, a.AssertInvariants(ctx), "slashing keeps the supply")
	pool, err := a.DistrKeeper.FeePool.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "1000", pool.CommunityPool.AmountOf(BaseDenom).TruncateInt().String())
	require.True(t, a.BankKeeper.GetBalance(ctx, authtypes.NewModuleAddress(stakingtypes.BondedPoolName), BaseDenom).IsZero())

	require.NoError(t, a.BankKeeper.MintCoins(ctx, evmtypes.ModuleName, sdk.NewCoins(sdk.NewInt64Coin(BaseDenom, 1))))
	require.ErrorContains(t, a.AssertInvariants(ctx), "total supply of aogpu is 21000000000000000000000001")
}
