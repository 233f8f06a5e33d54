package keeper_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/core/header"
	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/store/v2"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	keepertest "github.com/opengpu/ogpu/testutil/keeper"
	"github.com/opengpu/ogpu/x/committee"
	"github.com/opengpu/ogpu/x/committee/keeper"
	"github.com/opengpu/ogpu/x/committee/types"
	"github.com/opengpu/ogpu/x/compute"
	computekeeper "github.com/opengpu/ogpu/x/compute/keeper"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggpu "github.com/opengpu/ogpu/x/staking-gpu"
	sgkeeper "github.com/opengpu/ogpu/x/staking-gpu/keeper"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

const denom = "aogpu"

func ogpu(n int64) math.Int { return math.NewIntWithDecimal(n, 18) }

// fakeStaking is x/staking's validator set: power in whole units (power reduction 1).
type fakeStaking map[string]stakingtypes.Validator

func (s fakeStaking) GetValidator(_ context.Context, addr sdk.ValAddress) (stakingtypes.Validator, error) {
	if v, ok := s[string(addr)]; ok {
		return v, nil
	}
	return stakingtypes.Validator{}, stakingtypes.ErrNoValidatorFound
}

func (s fakeStaking) GetValidatorByConsAddr(context.Context, sdk.ConsAddress) (stakingtypes.Validator, error) {
	return stakingtypes.Validator{}, stakingtypes.ErrNoValidatorFound
}

func (fakeStaking) PowerReduction(context.Context) math.Int { return math.OneInt() }

type fixture struct {
	t        *testing.T
	ctx      sdk.Context
	cms      storetypes.CommitMultiStore
	k        keeper.Keeper
	compute  computekeeper.Keeper
	sg       sgkeeper.Keeper
	staking  fakeStaking
	bank     *keepertest.Bank
	vals     []sdk.ValAddress
	client   sdk.AccAddress
	provider sdk.AccAddress
}

// newFixture has six validators of power 50, 30, 20, 10, 10, 10 registered as verifiers, a
// client, and a bonded provider that runs none of them.
func newFixture(t *testing.T) *fixture {
	keys := storetypes.NewKVStoreKeys(sgtypes.StoreKey, computetypes.StoreKey, types.StoreKey)
	cms := store.NewCommitMultiStore(dbm.NewMemDB(), log.NewNopLogger())
	for _, key := range keys {
		cms.MountStoreWithDB(key, storetypes.StoreTypeIAVL, nil)
	}
	require.NoError(t, cms.LoadLatestVersion())
	ctx := sdk.NewContext(cms, cmtproto.Header{}, false, log.NewNopLogger()).
		WithBlockHeight(1).WithBlockTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).
		WithHeaderInfo(header.Info{Height: 1, AppHash: []byte("previous app hash")})
	enc := moduletestutil.MakeTestEncodingConfig(committee.AppModule{}, compute.AppModule{}, stakinggpu.AppModule{})
	accCodec := addresscodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix())
	valCodec := addresscodec.NewBech32Codec(sdk.GetConfig().GetBech32ValidatorAddrPrefix())
	authority := authtypes.NewModuleAddress("gov").String()
	bank := keepertest.NewBank()
	sg := sgkeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[sgtypes.StoreKey]), accCodec, authority, bank, bank, keepertest.Validators{})
	ck := computekeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[computetypes.StoreKey]), accCodec, authority, bank, sg)
	staking := fakeStaking{}
	k := keeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[types.StoreKey]), accCodec, valCodec, authority, staking)
	sg.SetWorkTracker(ck)
	ck.SetCommittee(k)
	k.SetCompute(ck)
	require.NoError(t, sg.InitGenesis(ctx, *sgtypes.DefaultGenesis()))
	require.NoError(t, ck.InitGenesis(ctx, *computetypes.DefaultGenesis()))
	require.NoError(t, k.InitGenesis(ctx, *types.DefaultGenesis()))

	f := &fixture{t: t, ctx: ctx, cms: cms, k: k, compute: ck, sg: sg, staking: staking, bank: bank}
	for i, power := range []int64{50, 30, 20, 10, 10, 10} {
		val := sdk.ValAddress(fmt.Appendf(nil, "validator-%010d", i))
		staking[string(val)] = stakingtypes.Validator{Status: stakingtypes.Bonded, Tokens: math.NewInt(power)}
		require.NoError(t, k.RegisterVerifier(ctx, sdk.AccAddress(val)))
		f.vals = append(f.vals, val)
	}
	f.client = sdk.AccAddress("client______________")
	f.provider = sdk.AccAddress("provider____________")
	bank.Set(f.client, denom, ogpu(1_000_000))
	bank.Set(f.provider, denom, ogpu(20_000))
	sgMsgs := sgkeeper.NewMsgServer(sg)
	_, err := sgMsgs.RegisterProvider(ctx, &sgtypes.MsgRegisterProvider{Operator: f.provider.String(), Moniker: "p", Endpoint: "http://p", Workloads: []string{"gemm-int8/v1"}})
	require.NoError(t, err)
	_, err = sgMsgs.Bond(ctx, &sgtypes.MsgBond{Operator: f.provider.String(), Amount: sdk.NewCoin(denom, ogpu(10_000))})
	require.NoError(t, err)
	return f
}

func (f *fixture) nextBlock() {
	require.NoError(f.t, f.compute.EndBlocker(f.ctx))
	f.cms.Commit()
	h := f.ctx.BlockHeight() + 1
	f.ctx = f.ctx.WithBlockHeight(h).WithBlockTime(f.ctx.BlockTime().Add(time.Second)).
		WithHeaderInfo(header.Info{Height: h, AppHash: fmt.Appendf(nil, "app hash %d", h)})
}

var resultSha = strings.Repeat("cd", 32)

// submitted runs a gemm task to SUBMITTED with the provider's result; its committee is drawn.
func (f *fixture) submitted() uint64 {
	msgs := computekeeper.NewMsgServer(f.compute)
	res, err := msgs.CreateTask(f.ctx, &computetypes.MsgCreateTask{
		Creator: f.client.String(),
		Workload: computetypes.Workload{Name: "gemm-int8/v1", Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: 8, N: 8, K: 8, SeedA: 1, SeedB: 2},
		}},
		Requirements: sgtypes.Requirements{Workload: "gemm-int8/v1"},
		MaxPrice:     sdk.NewCoin(denom, ogpu(100)),
		Deadline:     20,
		Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: math.LegacyZeroDec()},
	})
	require.NoError(f.t, err)
	id := res.TaskId
	_, err = msgs.Bid(f.ctx, &computetypes.MsgBid{Provider: f.provider.String(), TaskId: id, Price: ogpu(50)})
	require.NoError(f.t, err)
	for f.task(id).State == computetypes.TASK_STATE_OPEN {
		f.nextBlock()
	}
	require.Equal(f.t, computetypes.TASK_STATE_ASSIGNED, f.task(id).State)
	_, err = msgs.SubmitResult(f.ctx, &computetypes.MsgSubmitResult{Provider: f.provider.String(), TaskId: id, Sha256: resultSha, Size_: 32 + 4*64, Uri: "http://p/r"})
	require.NoError(f.t, err)
	return id
}

func (f *fixture) task(id uint64) computetypes.Task {
	t, err := f.compute.GetTask(f.ctx, id)
	require.NoError(f.t, err)
	return t
}

func (f *fixture) committee(id uint64) types.Committee {
	c, err := f.k.Committees.Get(f.ctx, id)
	require.NoError(f.t, err)
	return c
}

func (f *fixture) attest(val sdk.ValAddress, id uint64, v types.AttestedVerdict) bool {
	sha, _ := hex.DecodeString(resultSha)
	ok, err := f.k.RecordAttestation(f.ctx, val, types.Attestation{TaskId: id, ResultSha256: sha, Verdict: v})
	require.NoError(f.t, err)
	return ok
}

func (f *fixture) verifier(val sdk.ValAddress) types.Verifier {
	v, err := f.k.Verifiers.Get(f.ctx, val)
	require.NoError(f.t, err)
	return v
}

func (f *fixture) valByStr(s string) sdk.ValAddress {
	for _, v := range f.vals {
		if v.String() == s {
			return v
		}
	}
	f.t.Fatalf("unknown validator %s", s)
	return nil
}
