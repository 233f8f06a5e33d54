package keeper_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/store/v2"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	keepertest "github.com/opengpu/ogpu/testutil/keeper"
	"github.com/opengpu/ogpu/x/compute"
	"github.com/opengpu/ogpu/x/compute/keeper"
	"github.com/opengpu/ogpu/x/compute/types"
	stakinggpu "github.com/opengpu/ogpu/x/staking-gpu"
	sgkeeper "github.com/opengpu/ogpu/x/staking-gpu/keeper"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

const denom = types.DefaultDenom

func ogpu(n int64) math.Int { return math.NewIntWithDecimal(n, 18) }

// fakeCommittee draws the first size validators it knows, never the provider.
type fakeCommittee struct{ members []string }

func (c *fakeCommittee) DrawCommittee(_ context.Context, _ uint64, exclude []sdk.AccAddress) ([]string, error) {
	var out []string
	for _, m := range c.members {
		if !slices.ContainsFunc(exclude, func(a sdk.AccAddress) bool { return a.String() == m }) {
			out = append(out, m)
		}
	}
	return out, nil
}

func (c *fakeCommittee) CanEscalate(context.Context, uint64, []sdk.AccAddress) (bool, error) {
	return false, nil
}
func (c *fakeCommittee) Escalate(context.Context, uint64, string) error { return nil }
func (c *fakeCommittee) ResolveUndecided(context.Context, uint64) error { return nil }
func (c *fakeCommittee) TaskClosed(context.Context, uint64) error       { return nil }

// fakeAccounts is x/auth's account store as far as public keys go.
type fakeAccounts map[string]sdk.AccountI

func (a fakeAccounts) GetAccount(_ context.Context, addr sdk.AccAddress) sdk.AccountI {
	if acc, ok := a[string(addr)]; ok {
		return acc
	}
	return nil
}

type fixture struct {
	t         testing.TB
	ctx       sdk.Context
	cms       storetypes.CommitMultiStore
	k         keeper.Keeper
	sg        sgkeeper.Keeper
	msgs      types.MsgServer
	queries   types.QueryServer
	bank      *keepertest.Bank
	committee *fakeCommittee
	accounts  fakeAccounts
	authority string
	client    sdk.AccAddress
	providers []sdk.AccAddress
}

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newFixture builds x/staking-gpu and x/compute on one in-memory store, with a funded client and
// three registered CPU+GPU providers bonded with 10,000 OGPU each.
func newFixture(t testing.TB) *fixture {
	return newFixtureFrom(t, keepertest.NewBank(), nil, nil, 1)
}

func newFixtureFrom(t testing.TB, bank *keepertest.Bank, sgGenesis *sgtypes.GenesisState, gs *types.GenesisState, height int64) *fixture {
	t.Helper()
	keys := storetypes.NewKVStoreKeys(sgtypes.StoreKey, types.StoreKey)
	cms := store.NewCommitMultiStore(dbm.NewMemDB(), log.NewNopLogger())
	for _, key := range keys {
		cms.MountStoreWithDB(key, storetypes.StoreTypeIAVL, nil)
	}
	require.NoError(t, cms.LoadLatestVersion())
	ctx := sdk.NewContext(cms, cmtproto.Header{}, false, log.NewNopLogger()).WithBlockTime(genesisTime).WithBlockHeight(height)
	enc := moduletestutil.MakeTestEncodingConfig(compute.AppModule{}, stakinggpu.AppModule{})
	codec := addresscodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix())
	authority := authtypes.NewModuleAddress("gov").String()
	sg := sgkeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[sgtypes.StoreKey]), codec, authority, bank, bank, keepertest.Validators{})
	accounts := fakeAccounts{}
	k := keeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[types.StoreKey]), codec, authority, bank, sg, accounts)
	sg.SetWorkTracker(k)
	committee := &fakeCommittee{}
	k.SetCommittee(committee)
	f := &fixture{
		t: t, ctx: ctx, cms: cms, k: k, sg: sg, msgs: keeper.NewMsgServer(k), queries: keeper.NewQueryServer(k),
		bank: bank, committee: committee, authority: authority, accounts: accounts,
	}
	for i := 0; i < 3; i++ {
		f.committee.members = append(f.committee.members, f.addr("validator", i).String())
	}
	f.client = f.addr("client", 0)
	for i := 0; i < 3; i++ {
		f.providers = append(f.providers, f.addr("provider", i))
	}
	if sgGenesis != nil {
		require.NoError(t, sg.InitGenesis(ctx, *sgGenesis))
		require.NoError(t, k.InitGenesis(ctx, *gs))
		return f
	}
	require.NoError(t, sg.InitGenesis(ctx, *sgtypes.DefaultGenesis()))
	require.NoError(t, k.InitGenesis(ctx, *types.DefaultGenesis()))
	bank.Set(f.client, denom, ogpu(1_000_000))
	sgMsgs := sgkeeper.NewMsgServer(sg)
	for i, p := range f.providers {
		bank.Set(p, denom, ogpu(20_000))
		_, err := sgMsgs.RegisterProvider(ctx, &sgtypes.MsgRegisterProvider{
			Operator: p.String(), Moniker: fmt.Sprintf("p%d", i), Endpoint: "https://p.example",
			Gpus:      []sgtypes.GPU{{Uuid: fmt.Sprintf("GPU-%d", i), Model: "NVIDIA H100 80GB HBM3", VramMib: 81920, ComputeCapability: "9.0"}},
			Workloads: []string{"gemm-int8/v1"},
		})
		require.NoError(t, err)
		_, err = sgMsgs.Bond(ctx, &sgtypes.MsgBond{Operator: p.String(), Amount: sdk.NewCoin(denom, ogpu(10_000))})
		require.NoError(t, err)
	}
	return f
}

func (f *fixture) addr(role string, i int) sdk.AccAddress {
	return sdk.AccAddress(fmt.Appendf(nil, "%-12s%08d", role, i))
}

// gemmTask is a 256³ seeded gemm task at max price 100 OGPU with a 20-block deadline.
func (f *fixture) gemmTask() *types.MsgCreateTask {
	return &types.MsgCreateTask{
		Creator: f.client.String(),
		Workload: types.Workload{Name: "gemm-int8/v1", Params: &types.Workload_GemmInt8{
			GemmInt8: &types.GemmInt8Params{M: 256, N: 256, K: 256, SeedA: 1, SeedB: 2},
		}},
		Requirements: sgtypes.Requirements{Workload: "gemm-int8/v1"},
		MaxPrice:     sdk.NewCoin(denom, ogpu(100)),
		Deadline:     20,
		Payment:      types.PaymentFunction{Kind: types.PAYMENT_KIND_FIXED},
	}
}

func (f *fixture) create(msg *types.MsgCreateTask) uint64 {
	f.t.Helper()
	res, err := f.msgs.CreateTask(f.ctx, msg)
	require.NoError(f.t, err)
	return res.TaskId
}

func (f *fixture) bid(p sdk.AccAddress, id uint64, price math.Int) error {
	_, err := f.msgs.Bid(f.ctx, &types.MsgBid{Provider: p.String(), TaskId: id, Price: price})
	return err
}

// nextBlock ends the current block (compute, then staking-gpu), commits it, and starts the next.
func (f *fixture) nextBlock() {
	f.t.Helper()
	require.NoError(f.t, f.k.EndBlocker(f.ctx))
	require.NoError(f.t, f.sg.EndBlocker(f.ctx))
	f.cms.Commit()
	f.ctx = f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1).WithBlockTime(f.ctx.BlockTime().Add(time.Second))
}

// untilHeight ends blocks until the current height is h.
func (f *fixture) untilHeight(h int64) {
	for f.ctx.BlockHeight() < h {
		f.nextBlock()
	}
}

func (f *fixture) task(id uint64) types.Task {
	f.t.Helper()
	t, err := f.k.GetTask(f.ctx, id)
	require.NoError(f.t, err)
	return t
}

func (f *fixture) balance(a sdk.AccAddress) math.Int {
	return f.bank.GetBalance(f.ctx, a, denom).Amount
}

func (f *fixture) submit(p sdk.AccAddress, id uint64, size uint64) error {
	_, err := f.msgs.SubmitResult(f.ctx, &types.MsgSubmitResult{
		Provider: p.String(), TaskId: id, Sha256: strings.Repeat("ab", 32), Size_: size, Uri: "https://p.example/v1/blobs/abab",
	})
	return err
}

// assigned creates the default task, has provider 0 bid price and runs it to ASSIGNED.
func (f *fixture) assigned(price math.Int) uint64 {
	f.t.Helper()
	id := f.create(f.gemmTask())
	require.NoError(f.t, f.bid(f.providers[0], id, price))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	require.Equal(f.t, types.TASK_STATE_ASSIGNED, f.task(id).State)
	return id
}

const resultSize = 32 + 4*256*256

func (f *fixture) snapshot() string {
	f.t.Helper()
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(f.t, err)
	sg, err := f.sg.ExportGenesis(f.ctx)
	require.NoError(f.t, err)
	return fmt.Sprintf("%s|%s|%v", gs.String(), sg.String(), f.bank.Snapshot())
}

func (f *fixture) requireInvariants() {
	f.t.Helper()
	require.NoError(f.t, f.k.EscrowInvariant(f.ctx))
	require.NoError(f.t, f.sg.StakeInvariant(f.ctx))
}

// verdict is a committee settlement paying the given members (each at most 1,000 OGPU).
func verdict(v types.Verdict, paid ...sdk.AccAddress) types.Settlement {
	s := types.Settlement{Verdict: v, MaxShare: ogpu(1_000)}
	for _, a := range paid {
		s.Paid = append(s.Paid, a.String())
	}
	return s
}
