package keeper_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/core/header"
	corestore "cosmossdk.io/core/store"
	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
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

// fakeStaking is x/staking's validator set, power in whole OGPU; it records slashes.
type fakeStaking struct {
	vals       map[string]stakingtypes.Validator
	slashed    map[string]math.LegacyDec // by operator address bytes
	infraction map[string][2]int64       // height and power of the infraction, by operator
}

// The fake charges what x/staking's store would for a validator read and for a step of an
// iterator (the flat costs of the SDK's KV gas config), so that a test measuring a draw's gas
// sees the staking work too.
const (
	stakingReadGas = 1_000
	stakingIterGas = 30
)

func (s *fakeStaking) GetValidator(ctx context.Context, addr sdk.ValAddress) (stakingtypes.Validator, error) {
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(stakingReadGas, "fake staking: validator")
	if v, ok := s.vals[string(addr)]; ok {
		return v, nil
	}
	return stakingtypes.Validator{}, stakingtypes.ErrNoValidatorFound
}

// LastValidatorsIterator walks the bonded validators in address order, as x/staking's last
// validator set holds them.
func (s *fakeStaking) LastValidatorsIterator(ctx context.Context) (corestore.Iterator, error) {
	db := dbm.NewMemDB()
	for op, v := range s.vals {
		if !v.IsBonded() {
			continue // not in the last validator set: x/staking would not walk it
		}
		sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(stakingIterGas, "fake staking: last validator power")
		if err := db.Set(stakingtypes.GetLastValidatorPowerKey(sdk.ValAddress(op)), []byte{}); err != nil {
			return nil, err
		}
	}
	return db.Iterator(stakingtypes.LastValidatorPowerKey, storetypes.PrefixEndBytes(stakingtypes.LastValidatorPowerKey))
}

func (s *fakeStaking) GetValidatorByConsAddr(context.Context, sdk.ConsAddress) (stakingtypes.Validator, error) {
	return stakingtypes.Validator{}, stakingtypes.ErrNoValidatorFound
}

func (*fakeStaking) PowerReduction(context.Context) math.Int { return ogpu(1) }

func (s *fakeStaking) Slash(_ context.Context, consAddr sdk.ConsAddress, height, power int64, fraction math.LegacyDec) (math.Int, error) {
	for op, v := range s.vals {
		ca, err := v.GetConsAddr()
		if err != nil || !sdk.ConsAddress(ca).Equals(consAddr) {
			continue
		}
		amount := fraction.MulInt(ogpu(power)).TruncateInt()
		v.Tokens = v.Tokens.Sub(amount)
		s.vals[op] = v
		s.slashed[op] = fraction
		s.infraction[op] = [2]int64{height, power}
		return amount, nil
	}
	return math.ZeroInt(), stakingtypes.ErrNoValidatorFound
}

type fixture struct {
	t        *testing.T
	ctx      sdk.Context
	cms      storetypes.CommitMultiStore
	k        keeper.Keeper
	compute  computekeeper.Keeper
	sg       sgkeeper.Keeper
	staking  *fakeStaking
	bank     *keepertest.Bank
	vals     []sdk.ValAddress
	client   sdk.AccAddress
	provider sdk.AccAddress
}

// newFixture has six validators of 50, 30, 20, 10, 10 and 10 thousand OGPU registered as
// verifiers, a client, and a bonded provider that runs none of them. Audits are off.
func newFixture(t *testing.T) *fixture {
	keys := storetypes.NewKVStoreKeys(sgtypes.StoreKey, computetypes.StoreKey, types.StoreKey)
	cms := store.NewCommitMultiStore(dbm.NewMemDB(), log.NewNopLogger())
	for _, key := range keys {
		cms.MountStoreWithDB(key, storetypes.StoreTypeIAVL, nil)
	}
	require.NoError(t, cms.LoadLatestVersion())
	ctx := sdk.NewContext(cms, cmtproto.Header{}, false, log.NewNopLogger()).
		WithBlockHeight(1).WithBlockTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).
		WithHeaderInfo(header.Info{Height: 1, AppHash: []byte("previous app hash")}).
		WithExecMode(sdk.ExecModeFinalize)
	enc := moduletestutil.MakeTestEncodingConfig(committee.AppModule{}, compute.AppModule{}, stakinggpu.AppModule{})
	accCodec := addresscodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix())
	valCodec := addresscodec.NewBech32Codec(sdk.GetConfig().GetBech32ValidatorAddrPrefix())
	authority := authtypes.NewModuleAddress("gov").String()
	bank := keepertest.NewBank()
	sg := sgkeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[sgtypes.StoreKey]), accCodec, authority, bank, bank, keepertest.Validators{})
	ck := computekeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[computetypes.StoreKey]), accCodec, authority, bank, sg, nil)
	staking := &fakeStaking{vals: map[string]stakingtypes.Validator{}, slashed: map[string]math.LegacyDec{}, infraction: map[string][2]int64{}}
	k := keeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[types.StoreKey]), accCodec, valCodec, authority, staking)
	sg.SetWorkTracker(ck)
	ck.SetCommittee(k)
	k.SetCompute(ck)
	require.NoError(t, sg.InitGenesis(ctx, *sgtypes.DefaultGenesis()))
	require.NoError(t, ck.InitGenesis(ctx, *computetypes.DefaultGenesis()))
	require.NoError(t, k.InitGenesis(ctx, *types.DefaultGenesis()))
	params := types.DefaultParams()
	params.AuditProbability = math.LegacyZeroDec() // tests that want audits turn them on
	params.MinVerifierStake = ogpu(5_000)
	require.NoError(t, k.Params.Set(ctx, params))

	f := &fixture{t: t, ctx: ctx, cms: cms, k: k, compute: ck, sg: sg, staking: staking, bank: bank}
	for i, power := range []int64{50_000, 30_000, 20_000, 10_000, 10_000, 10_000} {
		val := sdk.ValAddress(fmt.Appendf(nil, "validator-%010d", i))
		pk, err := codectypes.NewAnyWithValue(ed25519.GenPrivKeyFromSecret([]byte(val)).PubKey())
		require.NoError(t, err)
		staking.vals[string(val)] = stakingtypes.Validator{Status: stakingtypes.Bonded, Tokens: ogpu(power), ConsensusPubkey: pk}
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

// nextBlock ends the block and starts the next. The test's own calls within a block stand for
// its transactions, which the eligible-verifier cache does not serve, so the cache is started
// only here, for the end of the block (the chain starts it in BeginBlock and skips it in txs).
func (f *fixture) nextBlock() {
	require.NoError(f.t, f.k.BeginBlocker(f.ctx))
	require.NoError(f.t, f.compute.EndBlocker(f.ctx))
	require.NoError(f.t, f.k.EndBlocker(f.ctx))
	f.cms.Commit()
	h := f.ctx.BlockHeight() + 1
	f.ctx = f.ctx.WithBlockHeight(h).WithBlockTime(f.ctx.BlockTime().Add(time.Second)).
		WithHeaderInfo(header.Info{Height: h, Hash: fmt.Appendf(nil, "block hash %d", h), AppHash: fmt.Appendf(nil, "app hash %d", h)})
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
	require.Empty(f.t, f.task(id).Committee, "no committee before the block after the submission")
	f.nextBlock()
	require.Empty(f.t, f.task(id).Committee, "the draw happens in the block after the submission")
	f.nextBlock()
	require.NotEmpty(f.t, f.task(id).Committee)
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

// commit records val's commitment to verdict (with a digest of its own) on the current round
// of task id and returns the reveal that opens it.
func (f *fixture) commit(val sdk.ValAddress, id uint64, v types.AttestedVerdict) types.Attestation {
	f.t.Helper()
	c := f.committee(id)
	salt := make([]byte, types.SaltSize)
	copy(salt, val)
	digest := sha256.Sum256(append([]byte("digest"), val...))
	reveal := types.Attestation{TaskId: id, Verdict: v, Digest: digest[:], Salt: salt}
	var result []byte
	if !f.task(id).InputUnavailable {
		result, _ = hex.DecodeString(f.task(id).Result.Sha256)
	}
	commitment := types.Commitment(id, c.Round, result, v, reveal.Digest, 0, salt, val)
	ok, err := f.k.RecordAttestation(f.ctx, val, types.Attestation{TaskId: id, Commitment: commitment})
	require.NoError(f.t, err)
	require.True(f.t, ok, "commitment of %s", val)
	return reveal
}

func (f *fixture) record(val sdk.ValAddress, a types.Attestation) bool {
	ok, err := f.k.RecordAttestation(f.ctx, val, a)
	require.NoError(f.t, err)
	return ok
}

// vote has the given members commit to their verdicts, then reveal once reveals open, and
// tallies.
func (f *fixture) vote(id uint64, verdicts map[string]types.AttestedVerdict) {
	f.t.Helper()
	reveals := map[string]types.Attestation{}
	for _, m := range f.committee(id).Members {
		if v, ok := verdicts[m.Validator]; ok {
			reveals[m.Validator] = f.commit(f.valByStr(m.Validator), id, v)
		}
	}
	f.openReveals(id)
	for _, m := range f.committee(id).Members {
		if r, ok := reveals[m.Validator]; ok {
			require.True(f.t, f.record(f.valByStr(m.Validator), r), "reveal of %s", m.Validator)
		}
	}
	require.NoError(f.t, f.k.Tally(f.ctx, id))
}

// openReveals moves on until reveals of task id's committee count.
func (f *fixture) openReveals(id uint64) {
	c := f.committee(id)
	for !((c.RevealHeight != 0 && f.ctx.BlockHeight() >= c.RevealHeight) || f.ctx.BlockHeight() > c.CommitEnd) {
		f.nextBlock()
	}
}

func (f *fixture) members(id uint64) []sdk.ValAddress {
	var out []sdk.ValAddress
	for _, m := range f.committee(id).Members {
		out = append(out, f.valByStr(m.Validator))
	}
	return out
}

func (f *fixture) setParams(edit func(*types.Params)) {
	p, err := f.k.Params.Get(f.ctx)
	require.NoError(f.t, err)
	edit(&p)
	require.NoError(f.t, f.k.Params.Set(f.ctx, p))
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
