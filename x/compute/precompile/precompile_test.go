package precompile_test

import (
	"math/big"
	"testing"

	"cosmossdk.io/math"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/evm/crypto/ethsecp256k1"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	computekeeper "github.com/opengpu/ogpu/x/compute/keeper"
	"github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

const gasLimit = 3_000_000

// alice and bob are accounts with keys: newChain records their public keys on chain, as their
// first Cosmos transaction would (a stream's creator needs one).
var (
	aliceKey, bobKey = testKey(1), testKey(2)
	alice, bob       = common.BytesToAddress(aliceKey.PubKey().Address()), common.BytesToAddress(bobKey.PubKey().Address())
)

func testKey(seed byte) *ethsecp256k1.PrivKey {
	k := make([]byte, 32)
	k[31] = seed
	return &ethsecp256k1.PrivKey{Key: k}
}

func gemmParams(t *testing.T, m, n, k uint32, seedA, seedB uint64) []byte {
	t.Helper()
	u32, _ := abi.NewType("uint32", "", nil)
	u64, _ := abi.NewType("uint64", "", nil)
	bz, err := abi.Arguments{{Type: u32}, {Type: u32}, {Type: u32}, {Type: u64}, {Type: u64}}.Pack(m, n, k, seedA, seedB)
	require.NoError(t, err)
	return bz
}

// createTaskData is a valid createTask call: a seeded 64×64×64 gemm for 1 OGPU.
func createTaskData(t *testing.T, mutate func(*precompile.CreateTaskArgs)) []byte {
	t.Helper()
	a := precompile.CreateTaskArgs{
		Workload:        "gemm-int8/v1",
		Params:          gemmParams(t, 64, 64, 64, 1, 2),
		Inputs:          []precompile.BlobArg{},
		MaxPrice:        aogpu(1).BigInt(),
		Deadline:        20,
		PaymentFunction: precompile.PaymentFunctionArg{Kind: 1},
	}
	if mutate != nil {
		mutate(&a)
	}
	bz, err := precompile.ABI.Pack(precompile.CreateTaskMethod, a.Workload, a.Params, a.Inputs, a.MaxPrice, a.Deadline, a.PaymentFunction)
	require.NoError(t, err)
	return bz
}

func pack(t *testing.T, method string, args ...interface{}) []byte {
	t.Helper()
	bz, err := precompile.ABI.Pack(method, args...)
	require.NoError(t, err)
	return bz
}

func taskID(t *testing.T, r result) uint64 {
	t.Helper()
	require.NoError(t, r.err)
	out, err := precompile.ABI.Unpack(precompile.CreateTaskMethod, r.ret)
	require.NoError(t, err)
	return out[0].(uint64)
}

// escrowOf1OGPU is max_price + committee fee (2%) + security deposit (10%) under the default params.
func escrowOf1OGPU() *big.Int { return aogpu(112).QuoRaw(100).BigInt() }

func TestCreateTaskEscrowsAndLogs(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(10))

	r := c.call(alice, precompileAddr, createTaskData(t, nil), gasLimit)
	id := taskID(t, r)
	require.Equal(t, uint64(1), id)

	task, err := c.app.ComputeKeeper.GetTask(c.ctx, id)
	require.NoError(t, err)
	require.Equal(t, computetypes.TASK_STATE_OPEN, task.State)
	require.Equal(t, escrowOf1OGPU().String(), task.Escrow.String())
	creator, err := c.app.AccountKeeper.AddressCodec().BytesToString(alice.Bytes())
	require.NoError(t, err)
	require.Equal(t, creator, task.Creator, "the creator is msg.sender")
	require.Equal(t, aogpu(10).Sub(task.Escrow).String(), c.balance(alice).String(), "escrow left the caller's balance, in bank and EVM alike")

	require.Len(t, r.logs, 1)
	log := r.logs[0]
	require.Equal(t, precompileAddr, log.Address)
	event := precompile.ABI.Events[precompile.TaskCreatedEvent]
	require.Equal(t, []common.Hash{event.ID, common.BigToHash(new(big.Int).SetUint64(id)), common.BytesToHash(alice.Bytes())}, log.Topics)
	data, err := event.Inputs.NonIndexed().Unpack(log.Data)
	require.NoError(t, err)
	require.Equal(t, "gemm-int8/v1", data[0])
	require.Equal(t, aogpu(1).BigInt(), data[1])
	require.Equal(t, escrowOf1OGPU(), data[2])
	require.Equal(t, uint64(c.ctx.BlockHeight()+20), data[3])

	// the view reports it
	r = c.call(bob, precompileAddr, pack(t, precompile.GetTaskMethod, id), gasLimit)
	require.NoError(t, r.err)
	out, err := precompile.ABI.Unpack(precompile.GetTaskMethod, r.ret)
	require.NoError(t, err)
	info := *abi.ConvertType(out[0], new(precompile.TaskInfo)).(*precompile.TaskInfo)
	require.Equal(t, alice, info.Creator)
	require.Equal(t, uint8(computetypes.TASK_STATE_OPEN), info.State)
	require.Equal(t, common.Address{}, info.Provider)
	require.Equal(t, uint64(c.ctx.BlockHeight()), info.CreatedHeight)

	r = c.call(bob, precompileAddr, pack(t, precompile.TasksOfMethod, alice, uint64(0), uint64(10)), gasLimit)
	require.NoError(t, r.err)
	out, err = precompile.ABI.Unpack(precompile.TasksOfMethod, r.ret)
	require.NoError(t, err)
	require.Equal(t, []uint64{id}, out[0])
}

func TestCancelOnlyByCreator(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(10))
	c.fund(bob, aogpu(10))
	id := taskID(t, c.call(alice, precompileAddr, createTaskData(t, nil), gasLimit))

	r := c.call(bob, precompileAddr, pack(t, precompile.CancelTaskMethod, id), gasLimit)
	require.Contains(t, revertReason(t, r), "not the task's creator")

	r = c.call(alice, precompileAddr, pack(t, precompile.CancelTaskMethod, id), gasLimit)
	require.NoError(t, r.err)
	task, err := c.app.ComputeKeeper.GetTask(c.ctx, id)
	require.NoError(t, err)
	require.Equal(t, computetypes.TASK_STATE_CANCELLED, task.State)
	require.Equal(t, aogpu(10).String(), c.balance(alice).String(), "the whole escrow came back")
	require.Len(t, r.logs, 1)
	require.Equal(t, precompile.ABI.Events[precompile.TaskCancelledEvent].ID, r.logs[0].Topics[0])
}

func TestContractCreatorAndStaticCall(t *testing.T) {
	c := newChain(t)
	consumer := common.HexToAddress("0x00000000000000000000000000000000000C0C0A")
	reader := common.HexToAddress("0x00000000000000000000000000000000000C0C0B")
	c.deploy(consumer, proxy(opCall, false))
	c.deploy(reader, proxy(opStaticCall, false))
	c.fund(consumer, aogpu(10))
	c.fund(alice, aogpu(10))

	// the contract is the creator and pays, not the account that called it
	id := taskID(t, c.call(alice, consumer, createTaskData(t, nil), gasLimit))
	task, err := c.app.ComputeKeeper.GetTask(c.ctx, id)
	require.NoError(t, err)
	creator, err := c.app.AccountKeeper.AddressCodec().BytesToString(consumer.Bytes())
	require.NoError(t, err)
	require.Equal(t, creator, task.Creator)
	require.Equal(t, aogpu(10).Sub(task.Escrow).String(), c.balance(consumer).String())
	require.Equal(t, aogpu(10).String(), c.balance(alice).String())

	// tx.origin is not the creator: alice cannot cancel the contract's task directly
	r := c.call(alice, precompileAddr, pack(t, precompile.CancelTaskMethod, id), gasLimit)
	require.Contains(t, revertReason(t, r), "not the task's creator")

	// a write under STATICCALL is refused; a view passes
	r = c.call(alice, reader, pack(t, precompile.CancelTaskMethod, id), gasLimit)
	require.Contains(t, revertReason(t, r), "write protection")
	r = c.call(alice, reader, pack(t, precompile.GetTaskMethod, id), gasLimit)
	require.NoError(t, r.err)

	// the contract itself can cancel
	r = c.call(alice, consumer, pack(t, precompile.CancelTaskMethod, id), gasLimit)
	require.NoError(t, r.err)
	require.Equal(t, aogpu(10).String(), c.balance(consumer).String())
}

func TestRevertAfterCallUndoesTask(t *testing.T) {
	c := newChain(t)
	reverter := common.HexToAddress("0x00000000000000000000000000000000000C0C0C")
	c.deploy(reverter, proxy(opCall, true))
	c.fund(reverter, aogpu(10))

	r := c.call(alice, reverter, createTaskData(t, nil), gasLimit)
	require.Error(t, r.err)
	_, err := c.app.ComputeKeeper.GetTask(c.ctx, 1)
	require.ErrorIs(t, err, computetypes.ErrTaskNotFound)
	require.Equal(t, aogpu(10).String(), c.balance(reverter).String(), "the escrow is back")
	mod := c.app.AccountKeeper.GetModuleAddress(computetypes.ModuleName)
	require.True(t, c.app.BankKeeper.GetBalance(c.ctx, mod, "aogpu").IsZero())
}

func TestOutOfGasLeavesNoState(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(10))
	data := createTaskData(t, nil)
	// the gas a successful call uses, measured on a copy of the state
	cache, _ := c.ctx.CacheContext()
	probe := &chain{t: t, app: c.app, ctx: cache}
	ok := probe.call(alice, precompileAddr, data, gasLimit)
	require.NoError(t, ok.err)

	// short by a little: the call runs out in the middle of the precompile's store writes
	r := c.call(alice, precompileAddr, data, ok.gasUsed-2_000)
	require.ErrorContains(t, r.err, "out of gas")
	_, err := c.app.ComputeKeeper.GetTask(c.ctx, 1)
	require.ErrorIs(t, err, computetypes.ErrTaskNotFound)
	require.Equal(t, aogpu(10).String(), c.balance(alice).String())
}

func TestBadInputNamesTheField(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(10))
	for _, tc := range []struct {
		name   string
		mutate func(*precompile.CreateTaskArgs)
		want   string
	}{
		{"unknown workload", func(a *precompile.CreateTaskArgs) { a.Workload = "sha-grind/v9" }, `workload "sha-grind/v9": must be one of`},
		{"short params", func(a *precompile.CreateTaskArgs) { a.Params = a.Params[:40] }, "params: gemm-int8/v1 expects abi.encode(uint32 m, uint32 n, uint32 k, uint64 seedA, uint64 seedB)"},
		{"zero dimension", func(a *precompile.CreateTaskArgs) { a.Params = gemmParams(t, 0, 64, 64, 1, 2) }, "m 0: must be in 1..16384"},
		{"zero price", func(a *precompile.CreateTaskArgs) { a.MaxPrice = big.NewInt(0) }, "maxPrice 0: must be a positive amount of aogpu"},
		{"deadline too short", func(a *precompile.CreateTaskArgs) { a.Deadline = 2 }, "deadline 2 blocks: must be in"},
		{"payment kind", func(a *precompile.CreateTaskArgs) { a.PaymentFunction.Kind = 7 }, "paymentFunction.kind 7: must be 1 (FIXED) or 2 (LINEAR_DECAY)"},
		{"min fraction", func(a *precompile.CreateTaskArgs) {
			a.PaymentFunction = precompile.PaymentFunctionArg{Kind: 2, FullUntilBlocks: 5, MinFraction: "half"}
		}, `paymentFunction.minFraction "half": must be a decimal in [0, 1]`},
		{"bad input blob", func(a *precompile.CreateTaskArgs) {
			a.Inputs = []precompile.BlobArg{{Uri: "ftp://x", Sha256: "00", Size: 1}, {Uri: "ftp://x", Sha256: "00", Size: 1}}
			a.Params = gemmParams(t, 1, 1, 1, 0, 0)
		}, "inputs[0]"},
		{"more than the balance", func(a *precompile.CreateTaskArgs) { a.MaxPrice = aogpu(100).BigInt() }, "lock escrow of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.call(alice, precompileAddr, createTaskData(t, tc.mutate), gasLimit)
			require.Contains(t, revertReason(t, r), tc.want)
			require.Equal(t, aogpu(10).String(), c.balance(alice).String())
		})
	}
	r := c.call(alice, precompileAddr, pack(t, precompile.TasksOfMethod, alice, uint64(0), uint64(101)), gasLimit)
	require.Contains(t, revertReason(t, r), "tasksOf: limit 101: must be in 1..100")
	r = c.call(alice, precompileAddr, pack(t, precompile.GetTaskMethod, uint64(42)), gasLimit)
	require.Contains(t, revertReason(t, r), "task 42")
}

// TestWriteCostsAtLeastTheCosmosTx compares createTask's gas with the same task created by the
// Msg service: the EVM call must not be the cheaper way in.
func TestWriteCostsAtLeastTheCosmosTx(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(10))
	c.fund(bob, aogpu(10))
	data := createTaskData(t, nil)
	r := c.call(alice, precompileAddr, data, gasLimit)
	require.NoError(t, r.err)

	creator, err := c.app.AccountKeeper.AddressCodec().BytesToString(bob.Bytes())
	require.NoError(t, err)
	msg := &computetypes.MsgCreateTask{
		Creator: creator, Workload: computetypes.Workload{Name: "gemm-int8/v1", Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: 64, N: 64, K: 64, SeedA: 1, SeedB: 2},
		}},
		MaxPrice: sdk.NewCoin("aogpu", aogpu(1)), Deadline: 20,
		Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: math.LegacyZeroDec()},
		Requirements: stakinggputypes.Requirements{Workload: "gemm-int8/v1"},
	}
	ctx := c.ctx.WithGasMeter(storetypes.NewInfiniteGasMeter())
	_, err = computekeeper.NewMsgServer(c.app.ComputeKeeper).CreateTask(ctx, msg)
	require.NoError(t, err)
	handler := ctx.GasMeter().GasConsumed()
	// a Cosmos tx adds its signature check and 10 gas per byte of a ~400-byte tx to the handler
	cosmosTx := handler + 1_000 + 10*400
	t.Logf("createTask: precompile %d gas (21000 intrinsic included), Cosmos handler %d gas", r.gasUsed, handler)
	require.GreaterOrEqual(t, r.gasUsed-21_000, cosmosTx)
}

// TestAcceptAndDisputeNeedAVerifiedTaskOfTheCaller checks the rules the module applies to both:
// only the creator, and only once the committee found the result valid.
func TestAcceptAndDisputeNeedAVerifiedTaskOfTheCaller(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(10))
	id := taskID(t, c.call(alice, precompileAddr, createTaskData(t, nil), gasLimit))
	for _, method := range []string{precompile.AcceptResultMethod, precompile.DisputeResultMethod} {
		r := c.call(bob, precompileAddr, pack(t, method, id), gasLimit)
		require.Contains(t, revertReason(t, r), "not the task's creator", method)
		r = c.call(alice, precompileAddr, pack(t, method, id), gasLimit)
		require.Contains(t, revertReason(t, r), "TASK_STATE_OPEN", method)
	}
}

func TestBlockedForBankTransfers(t *testing.T) {
	c := newChain(t)
	require.True(t, c.app.BankKeeper.BlockedAddr(precompileAddr.Bytes()))
}
