package keeper_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	keepertest "github.com/opengpu/ogpu/testutil/keeper"
	stakinggpu "github.com/opengpu/ogpu/x/staking-gpu"
	"github.com/opengpu/ogpu/x/staking-gpu/keeper"
	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

const denom = types.DefaultBondDenom

// ogpu returns n whole OGPU in aogpu.
func ogpu(n int64) math.Int { return math.NewIntWithDecimal(n, 18) }

func coin(amount math.Int) sdk.Coin { return sdk.NewCoin(denom, amount) }

type fakeBank = keepertest.Bank

var communityAddr = keepertest.CommunityPool

type fakeValidators = keepertest.Validators

// fakeWork is x/compute's view of open work.
type fakeWork map[string]bool

func (w fakeWork) HasOpenWork(_ context.Context, p sdk.AccAddress) (bool, error) {
	return w[string(p)], nil
}

func (w fakeWork) HeldTasks(_ context.Context, p sdk.AccAddress, _ int) ([]uint64, error) {
	if w[string(p)] {
		return []uint64{7}, nil
	}
	return nil, nil
}

// LongestHoldBlocks is x/compute's default.
func (fakeWork) LongestHoldBlocks(context.Context) (uint64, error) {
	return 100_052, nil
}

type fixture struct {
	ctx        sdk.Context
	k          keeper.Keeper
	msgs       types.MsgServer
	queries    types.QueryServer
	bank       *fakeBank
	validators fakeValidators
	work       fakeWork
	authority  string
}

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newFixture builds the keeper on an in-memory store with the default genesis and rewardPool
// aogpu in the provider_rewards account.
func newFixture(t testing.TB, rewardPool math.Int) *fixture {
	t.Helper()
	bank := keepertest.NewBank()
	bank.Set(authtypes.NewModuleAddress(types.RewardsPoolName), denom, rewardPool)
	return newFixtureWith(t, bank, types.DefaultGenesis(), genesisTime, 1)
}

// newFixtureWith starts the module from gs on bank at the given block time and height.
func newFixtureWith(t testing.TB, bank *fakeBank, gs *types.GenesisState, at time.Time, height int64) *fixture {
	t.Helper()
	key := storetypes.NewKVStoreKey(types.StoreKey)
	tctx := testutil.DefaultContextWithDB(t, key, storetypes.NewTransientStoreKey("transient_test"))
	ctx := tctx.Ctx.WithBlockTime(at).WithBlockHeight(height)
	enc := moduletestutil.MakeTestEncodingConfig(stakinggpu.AppModule{})
	vals := fakeValidators{}
	authority := authtypes.NewModuleAddress("gov").String()
	k := keeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(key),
		addresscodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix()), authority,
		bank, bank, vals)
	work := fakeWork{}
	k.SetWorkTracker(work)
	require.NoError(t, k.InitGenesis(ctx, *gs))
	return &fixture{
		ctx: ctx, k: k, msgs: keeper.NewMsgServer(k), queries: keeper.NewQueryServer(k),
		bank: bank, validators: vals, work: work, authority: authority,
	}
}

// account returns a funded operator address.
func (f *fixture) account(i int, balance math.Int) sdk.AccAddress {
	addr := sdk.AccAddress(fmt.Appendf(nil, "operator-%012d", i))
	f.bank.Set(addr, denom, balance)
	return addr
}

func (f *fixture) advance(d time.Duration, blocks int64) {
	f.ctx = f.ctx.WithBlockTime(f.ctx.BlockTime().Add(d)).WithBlockHeight(f.ctx.BlockHeight() + blocks)
}

// register registers op as a provider with one H100.
func (f *fixture) register(t testing.TB, op sdk.AccAddress) {
	t.Helper()
	_, err := f.msgs.RegisterProvider(f.ctx, registerMsg(op))
	require.NoError(t, err)
}

func registerMsg(op sdk.AccAddress) *types.MsgRegisterProvider {
	return &types.MsgRegisterProvider{
		Operator: op.String(), Moniker: "gpu-box", Endpoint: "https://provider.example:8547",
		Gpus:      []types.GPU{h100("GPU-" + op.String()[len(op.String())-8:])},
		Workloads: []string{"gemm-int8/v1"},
	}
}

func h100(uuid string) types.GPU {
	return types.GPU{Uuid: uuid, Model: "NVIDIA H100 80GB HBM3", VramMib: 81920, ComputeCapability: "9.0"}
}

func (f *fixture) bond(t testing.TB, op sdk.AccAddress, amount math.Int) {
	t.Helper()
	_, err := f.msgs.Bond(f.ctx, &types.MsgBond{Operator: op.String(), Amount: coin(amount)})
	require.NoError(t, err)
}

// snapshot is everything the module and the bank hold, for "changes no state" checks.
func (f *fixture) snapshot(t testing.TB) string {
	t.Helper()
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	return fmt.Sprintf("%v|%v", gs.String(), f.bank.Snapshot())
}

func (f *fixture) requireInvariants(t testing.TB) {
	t.Helper()
	require.NoError(t, f.k.StakeInvariant(f.ctx))
	require.NoError(t, f.k.RewardPoolInvariant(f.ctx))
}

func (f *fixture) provider(t testing.TB, op sdk.AccAddress) types.Provider {
	t.Helper()
	p, err := f.k.GetProvider(f.ctx, op)
	require.NoError(t, err)
	return p
}
