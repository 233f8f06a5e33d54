package precompile_test

import (
	"math/big"
	"strings"
	"testing"

	"cosmossdk.io/math"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	computekeeper "github.com/opengpu/ogpu/x/compute/keeper"
	"github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

var streamWidths = []uint32{4, 3, 2}

func mlpParams(t *testing.T, widths []uint32, rows uint32) []byte {
	t.Helper()
	u32s, _ := abi.NewType("uint32[]", "", nil)
	u32, _ := abi.NewType("uint32", "", nil)
	bz, err := abi.Arguments{{Type: u32s}, {Type: u32}}.Pack(widths, rows)
	require.NoError(t, err)
	return bz
}

// openStreamData is a valid openStream call: a 4-3-2 MLP of 8 rows a request, 2 replicas at
// most 1 OGPU a request, 30 blocks, a deposit of 100 OGPU.
func openStreamData(t *testing.T, mutate func(*precompile.OpenStreamArgs)) []byte {
	t.Helper()
	a := precompile.OpenStreamArgs{
		Workload:           workload.InferMlpInt8V1,
		Params:             mlpParams(t, streamWidths, 8),
		Model:              precompile.BlobArg{Uri: "https://client.example/model", Sha256: strings.Repeat("ab", 32), Size: workload.MlpModelSize(streamWidths)},
		Requirements:       precompile.RequirementsArg{},
		Replicas:           2,
		MaxPricePerRequest: aogpu(1).BigInt(),
		Duration:           30,
		Deposit:            aogpu(100).BigInt(),
	}
	if mutate != nil {
		mutate(&a)
	}
	return pack(t, precompile.OpenStreamMethod, a.Workload, a.Params, a.Model, a.Requirements, a.Replicas, a.MaxPricePerRequest, a.Duration, a.Deposit)
}

func streamID(t *testing.T, r result) uint64 {
	t.Helper()
	require.NoError(t, r.err)
	out, err := precompile.ABI.Unpack(precompile.OpenStreamMethod, r.ret)
	require.NoError(t, err)
	return out[0].(uint64)
}

// escrowOf100OGPU is the deposit + committee fee (2%) + security deposit (10%) under the default params.
func escrowOf100OGPU() math.Int { return aogpu(112) }

func (c *chain) getStream(id uint64) precompile.StreamInfo {
	c.t.Helper()
	r := c.call(bob, precompileAddr, pack(c.t, precompile.GetStreamMethod, id), gasLimit)
	require.NoError(c.t, r.err)
	out, err := precompile.ABI.Unpack(precompile.GetStreamMethod, r.ret)
	require.NoError(c.t, err)
	return *abi.ConvertType(out[0], new(precompile.StreamInfo)).(*precompile.StreamInfo)
}

func TestOpenStreamEscrowsAndLogs(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(200))

	r := c.call(alice, precompileAddr, openStreamData(t, func(a *precompile.OpenStreamArgs) {
		a.Requirements = precompile.RequirementsArg{MinVramMib: 8192, GpuModel: "H100", GpuCount: 1, MinComputeCapability: "8.0"}
	}), gasLimit)
	id := streamID(t, r)
	require.Equal(t, uint64(1), id)

	s, err := c.app.ComputeKeeper.GetStream(c.ctx, id)
	require.NoError(t, err)
	creator, err := c.app.AccountKeeper.AddressCodec().BytesToString(alice.Bytes())
	require.NoError(t, err)
	require.Equal(t, creator, s.Creator, "the creator is msg.sender")
	require.Equal(t, computetypes.STREAM_STATE_OPEN, s.State)
	require.Equal(t, stakinggputypes.Requirements{Workload: workload.InferMlpInt8V1, MinVramMib: 8192, GpuModel: "H100", GpuCount: 1, MinComputeCapability: "8.0"}, s.Requirements)
	require.Equal(t, []uint32{4, 3, 2}, s.Workload.GetInferMlpInt8().Widths)
	require.Equal(t, escrowOf100OGPU().String(), s.Escrow.String())
	require.Equal(t, aogpu(200).Sub(escrowOf100OGPU()).String(), c.balance(alice).String(), "escrow left the caller's balance, in bank and EVM alike")
	mod := c.app.AccountKeeper.GetModuleAddress(computetypes.ModuleName)
	require.Equal(t, escrowOf100OGPU().String(), c.app.BankKeeper.GetBalance(c.ctx, mod, "aogpu").Amount.String())

	require.Len(t, r.logs, 1)
	log := r.logs[0]
	require.Equal(t, precompileAddr, log.Address)
	event := precompile.ABI.Events[precompile.StreamOpenedEvent]
	require.Equal(t, []common.Hash{event.ID, common.BigToHash(new(big.Int).SetUint64(id)), common.BytesToHash(alice.Bytes())}, log.Topics)
	data, err := event.Inputs.NonIndexed().Unpack(log.Data)
	require.NoError(t, err)
	require.Equal(t, []interface{}{workload.InferMlpInt8V1, uint32(2), aogpu(1).BigInt(), escrowOf100OGPU().BigInt(), uint64(c.ctx.BlockHeight() + 3)}, data)

	info := c.getStream(id)
	require.Equal(t, precompile.StreamInfo{
		Id: id, Creator: alice, Workload: workload.InferMlpInt8V1, State: uint8(computetypes.STREAM_STATE_OPEN),
		Replicas: 2, Providers: []common.Address{}, MaxPricePerRequest: aogpu(1).BigInt(),
		Budget: aogpu(100).BigInt(), Unclaimed: aogpu(100).BigInt(), Escrow: escrowOf100OGPU().BigInt(),
		CreatedHeight: uint64(c.ctx.BlockHeight()), SubscribeEnd: uint64(c.ctx.BlockHeight() + 3),
	}, info)
}

func TestFundAndCloseStreamOnlyByCreator(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(200))
	c.fund(bob, aogpu(200))
	id := streamID(t, c.call(alice, precompileAddr, openStreamData(t, nil), gasLimit))

	r := c.call(bob, precompileAddr, pack(t, precompile.FundStreamMethod, id, aogpu(10).BigInt()), gasLimit)
	require.Contains(t, revertReason(t, r), "was opened by")
	r = c.call(bob, precompileAddr, pack(t, precompile.CloseStreamMethod, id), gasLimit)
	require.Contains(t, revertReason(t, r), "was opened by")
	require.Equal(t, aogpu(200).String(), c.balance(bob).String())

	// funding 10 OGPU locks 11.2 (with the fee and the deposit)
	r = c.call(alice, precompileAddr, pack(t, precompile.FundStreamMethod, id, aogpu(10).BigInt()), gasLimit)
	require.NoError(t, r.err)
	locked := aogpu(112).QuoRaw(10)
	require.Equal(t, aogpu(200).Sub(escrowOf100OGPU()).Sub(locked).String(), c.balance(alice).String())
	require.Len(t, r.logs, 1)
	event := precompile.ABI.Events[precompile.StreamFundedEvent]
	require.Equal(t, []common.Hash{event.ID, common.BigToHash(new(big.Int).SetUint64(id)), common.BytesToHash(alice.Bytes())}, r.logs[0].Topics)
	data, err := event.Inputs.NonIndexed().Unpack(r.logs[0].Data)
	require.NoError(t, err)
	require.Equal(t, []interface{}{aogpu(10).BigInt(), locked.BigInt(), aogpu(110).BigInt()}, data)
	info := c.getStream(id)
	require.Equal(t, aogpu(110).BigInt(), info.Budget)
	require.Equal(t, escrowOf100OGPU().Add(locked).BigInt(), info.Escrow)

	// a stream that never went live settles at once: everything comes back
	r = c.call(alice, precompileAddr, pack(t, precompile.CloseStreamMethod, id), gasLimit)
	require.NoError(t, r.err)
	require.Equal(t, aogpu(200).String(), c.balance(alice).String(), "the whole escrow came back")
	require.Len(t, r.logs, 1)
	event = precompile.ABI.Events[precompile.StreamClosedEvent]
	require.Equal(t, []common.Hash{event.ID, common.BigToHash(new(big.Int).SetUint64(id)), common.BytesToHash(alice.Bytes())}, r.logs[0].Topics)
	data, err = event.Inputs.NonIndexed().Unpack(r.logs[0].Data)
	require.NoError(t, err)
	require.Equal(t, []interface{}{escrowOf100OGPU().Add(locked).BigInt(), uint64(c.ctx.BlockHeight())}, data)

	info = c.getStream(id)
	require.Equal(t, uint8(computetypes.STREAM_STATE_CLOSED), info.State)
	require.True(t, info.Settled)
	require.Equal(t, uint64(c.ctx.BlockHeight()), info.ClosedHeight)
	require.Zero(t, info.Escrow.Sign())

	r = c.call(alice, precompileAddr, pack(t, precompile.FundStreamMethod, id, aogpu(10).BigInt()), gasLimit)
	require.Contains(t, revertReason(t, r), "CLOSED")
	r = c.call(alice, precompileAddr, pack(t, precompile.CloseStreamMethod, id), gasLimit)
	require.Contains(t, revertReason(t, r), "already CLOSED")
}

func TestStreamFromContractAndStaticCall(t *testing.T) {
	c := newChain(t)
	consumer := common.HexToAddress("0x00000000000000000000000000000000000C0C0A")
	reader := common.HexToAddress("0x00000000000000000000000000000000000C0C0B")
	c.deploy(consumer, proxy(opCall, false))
	c.deploy(reader, proxy(opStaticCall, false))
	c.fund(consumer, aogpu(200))
	c.fund(alice, aogpu(200))

	// a stream's requests and vouchers are checked against its creator's key on chain: a
	// contract has none, so it cannot open one (its stream could pay nobody)
	r := c.call(alice, consumer, openStreamData(t, nil), gasLimit)
	require.Contains(t, revertReason(t, r), "has no public key on chain")
	require.Equal(t, aogpu(200).String(), c.balance(consumer).String())
	_, err := c.app.ComputeKeeper.GetStream(c.ctx, 1)
	require.Error(t, err, "no stream")

	// nor can an account that has only sent EVM transactions, until it signs a Cosmos one
	fresh := testKey(3)
	freshAddr := common.BytesToAddress(fresh.PubKey().Address())
	c.fund(freshAddr, aogpu(200))
	r = c.call(freshAddr, precompileAddr, openStreamData(t, nil), gasLimit)
	require.Contains(t, revertReason(t, r), "must sign a Cosmos transaction first")
	c.setPubKey(fresh)
	r = c.call(freshAddr, precompileAddr, openStreamData(t, nil), gasLimit)
	require.NoError(t, r.err)

	// an account that delegates to code (EIP-7702) keeps its key, and may
	delegator := testKey(4)
	delegatorAddr := common.BytesToAddress(delegator.PubKey().Address())
	c.deploy(delegatorAddr, append([]byte{0xef, 0x01, 0x00}, consumer.Bytes()...))
	c.setPubKey(delegator)
	c.fund(delegatorAddr, aogpu(200))
	r = c.call(delegatorAddr, precompileAddr, openStreamData(t, nil), gasLimit)
	require.NoError(t, r.err)
	require.Equal(t, delegatorAddr, c.getStream(streamID(t, r)).Creator)

	id := streamID(t, c.call(alice, precompileAddr, openStreamData(t, nil), gasLimit))
	require.Equal(t, aogpu(200).Sub(escrowOf100OGPU()).String(), c.balance(alice).String())

	// every write under STATICCALL is refused; the view passes
	for _, data := range [][]byte{
		openStreamData(t, nil),
		pack(t, precompile.FundStreamMethod, id, aogpu(1).BigInt()),
		pack(t, precompile.CloseStreamMethod, id),
	} {
		r = c.call(alice, reader, data, gasLimit)
		require.Contains(t, revertReason(t, r), "write protection")
	}
	r = c.call(alice, reader, pack(t, precompile.GetStreamMethod, id), gasLimit)
	require.NoError(t, r.err)
	require.Equal(t, aogpu(200).Sub(escrowOf100OGPU()).String(), c.balance(alice).String())
	require.Equal(t, uint8(computetypes.STREAM_STATE_OPEN), c.getStream(id).State)

	// another account is not the creator
	r = c.call(bob, precompileAddr, pack(t, precompile.CloseStreamMethod, id), gasLimit)
	require.Contains(t, revertReason(t, r), "was opened by")
}

func TestRevertAfterOpenStreamUndoesIt(t *testing.T) {
	c := newChain(t)
	reverter := common.HexToAddress("0x00000000000000000000000000000000000C0C0C")
	c.deploy(reverter, proxy(opCall, true))
	c.fund(reverter, aogpu(200))

	r := c.call(alice, reverter, openStreamData(t, nil), gasLimit)
	require.Error(t, r.err)
	_, err := c.app.ComputeKeeper.GetStream(c.ctx, 1)
	require.ErrorIs(t, err, computetypes.ErrStreamNotFound)
	require.Equal(t, aogpu(200).String(), c.balance(reverter).String(), "the escrow is back")
	mod := c.app.AccountKeeper.GetModuleAddress(computetypes.ModuleName)
	require.True(t, c.app.BankKeeper.GetBalance(c.ctx, mod, "aogpu").IsZero())
}

func TestStreamBadInputNamesTheField(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(200))
	for _, tc := range []struct {
		name   string
		mutate func(*precompile.OpenStreamArgs)
		want   string
	}{
		{"not a stream workload", func(a *precompile.OpenStreamArgs) { a.Workload = workload.GemmInt8V1 }, `workload "gemm-int8/v1": streams serve [infer-mlp-int8/v1]`},
		{"short params", func(a *precompile.OpenStreamArgs) { a.Params = a.Params[:40] }, "params: infer-mlp-int8/v1 expects abi.encode(uint32[] widths, uint32 rows)"},
		{"too many rows", func(a *precompile.OpenStreamArgs) { a.Params = mlpParams(t, streamWidths, 2000) }, "rows 2000: must be at most max_request_rows = 1024"},
		{"model of other widths", func(a *precompile.OpenStreamArgs) { a.Model.Size = 7 }, "(model) size 7"},
		{"model digest", func(a *precompile.OpenStreamArgs) { a.Model.Sha256 = "AB" }, `model: sha256 "AB": must be 64 lowercase hex characters`},
		{"compute capability", func(a *precompile.OpenStreamArgs) { a.Requirements.MinComputeCapability = "eight" }, "requirements: min_compute_capability"},
		{"no replicas", func(a *precompile.OpenStreamArgs) { a.Replicas = 0 }, "replicas 0: must be at least 1"},
		{"too many replicas", func(a *precompile.OpenStreamArgs) { a.Replicas = 17 }, "replicas 17: must be in [1, max_replicas = 16]"},
		{"zero price", func(a *precompile.OpenStreamArgs) { a.MaxPricePerRequest = big.NewInt(0) }, "maxPricePerRequest 0: must be a positive amount of aogpu"},
		{"price above the supply", func(a *precompile.OpenStreamArgs) {
			a.MaxPricePerRequest = new(big.Int).Lsh(big.NewInt(1), 255)
		}, "maxPricePerRequest 5789604461865809771178549250434395392663499233282028201972879200395656481996" + "8: must be at most the whole supply"},
		{"zero deposit", func(a *precompile.OpenStreamArgs) { a.Deposit = big.NewInt(0) }, "deposit 0: must be a positive amount of aogpu"},
		{"deposit pays no period", func(a *precompile.OpenStreamArgs) { a.Deposit = aogpu(3).BigInt() }, "stream_samples × max_price_per_request"},
		{"shorter than a period", func(a *precompile.OpenStreamArgs) { a.Duration = 9 }, "duration 9 blocks: must be in [receipt_period = 10"},
		{"more than the balance", func(a *precompile.OpenStreamArgs) { a.Deposit = aogpu(1000).BigInt() }, "lock escrow of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.call(alice, precompileAddr, openStreamData(t, tc.mutate), gasLimit)
			require.Contains(t, revertReason(t, r), tc.want)
			require.Equal(t, aogpu(200).String(), c.balance(alice).String())
		})
	}
	id := streamID(t, c.call(alice, precompileAddr, openStreamData(t, nil), gasLimit))
	r := c.call(alice, precompileAddr, pack(t, precompile.FundStreamMethod, id, big.NewInt(0)), gasLimit)
	require.Contains(t, revertReason(t, r), "fundStream: amount 0: must be a positive amount of aogpu")
	r = c.call(alice, precompileAddr, pack(t, precompile.FundStreamMethod, id, aogpu(1000).BigInt()), gasLimit)
	require.Contains(t, revertReason(t, r), "fundStream: lock")
	r = c.call(alice, precompileAddr, pack(t, precompile.FundStreamMethod, uint64(42), aogpu(1).BigInt()), gasLimit)
	require.Contains(t, revertReason(t, r), "fundStream: stream 42")
	r = c.call(alice, precompileAddr, pack(t, precompile.CloseStreamMethod, uint64(42)), gasLimit)
	require.Contains(t, revertReason(t, r), "closeStream: stream 42")
	r = c.call(alice, precompileAddr, pack(t, precompile.GetStreamMethod, uint64(42)), gasLimit)
	require.Contains(t, revertReason(t, r), "getStream: stream 42")
}

// TestStreamWritesCostAtLeastTheCosmosTx compares each stream write's gas with the same Msg on
// the Msg service: the EVM call must not be the cheaper way in.
func TestStreamWritesCostAtLeastTheCosmosTx(t *testing.T) {
	c := newChain(t)
	c.fund(alice, aogpu(200))
	c.fund(bob, aogpu(200))
	bobAddr, err := c.app.AccountKeeper.AddressCodec().BytesToString(bob.Bytes())
	require.NoError(t, err)
	msgs := computekeeper.NewMsgServer(c.app.ComputeKeeper)
	// handler runs the Msg on a fresh gas meter and returns the gas it used
	handler := func(run func(ctx sdk.Context) error) uint64 {
		ctx := c.ctx.WithGasMeter(storetypes.NewInfiniteGasMeter())
		require.NoError(t, run(ctx))
		return ctx.GasMeter().GasConsumed()
	}

	open := c.call(alice, precompileAddr, openStreamData(t, nil), gasLimit)
	id := streamID(t, open)
	var bobID uint64
	openHandler := handler(func(ctx sdk.Context) error {
		res, err := msgs.OpenStream(ctx, &computetypes.MsgOpenStream{
			Creator: bobAddr,
			Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
				InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: streamWidths, Rows: 8},
			}},
			Model:              computetypes.Blob{Uri: "https://client.example/model", Sha256: strings.Repeat("ab", 32), Size_: workload.MlpModelSize(streamWidths)},
			Requirements:       stakinggputypes.Requirements{Workload: workload.InferMlpInt8V1},
			Replicas:           2,
			MaxPricePerRequest: sdk.NewCoin("aogpu", aogpu(1)),
			Duration:           30,
			Deposit:            sdk.NewCoin("aogpu", aogpu(100)),
		})
		if res != nil {
			bobID = res.StreamId
		}
		return err
	})

	fund := c.call(alice, precompileAddr, pack(t, precompile.FundStreamMethod, id, aogpu(10).BigInt()), gasLimit)
	require.NoError(t, fund.err)
	fundHandler := handler(func(ctx sdk.Context) error {
		_, err := msgs.FundStream(ctx, &computetypes.MsgFundStream{Creator: bobAddr, StreamId: bobID, Amount: sdk.NewCoin("aogpu", aogpu(10))})
		return err
	})

	closing := c.call(alice, precompileAddr, pack(t, precompile.CloseStreamMethod, id), gasLimit)
	require.NoError(t, closing.err)
	closeHandler := handler(func(ctx sdk.Context) error {
		_, err := msgs.CloseStream(ctx, &computetypes.MsgCloseStream{Creator: bobAddr, StreamId: bobID})
		return err
	})

	for _, w := range []struct {
		method  string
		evm     result
		handler uint64
		txBytes uint64
	}{
		{precompile.OpenStreamMethod, open, openHandler, 500},
		{precompile.FundStreamMethod, fund, fundHandler, 300},
		{precompile.CloseStreamMethod, closing, closeHandler, 250},
	} {
		// a Cosmos tx adds its signature check and 10 gas per byte of the tx to the handler
		cosmosTx := w.handler + 1_000 + 10*w.txBytes
		t.Logf("%s: precompile %d gas (21000 intrinsic included), Cosmos handler %d gas", w.method, w.evm.gasUsed, w.handler)
		require.GreaterOrEqual(t, w.evm.gasUsed-21_000, cosmosTx, w.method)
	}
}
