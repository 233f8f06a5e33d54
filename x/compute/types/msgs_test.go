package types_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

func validCreate() *types.MsgCreateTask {
	return &types.MsgCreateTask{
		Creator: sdk.AccAddress(make([]byte, 20)).String(),
		Workload: types.Workload{Name: "gemm-int8/v1", Params: &types.Workload_GemmInt8{
			GemmInt8: &types.GemmInt8Params{M: 8, N: 8, K: 8, SeedA: 1, SeedB: 2},
		}},
		Requirements: sgtypes.Requirements{Workload: "gemm-int8/v1"},
		MaxPrice:     sdk.NewCoin("aogpu", math.NewInt(100)),
		Deadline:     20,
		Payment:      types.PaymentFunction{Kind: types.PAYMENT_KIND_FIXED, MinFraction: math.LegacyZeroDec()},
	}
}

// mlpCreates are valid create-task messages of the MLP workloads.
func mlpCreates() []*types.MsgCreateTask {
	blob := func(size uint64) types.Blob {
		return types.Blob{Uri: "https://client/b", Sha256: strings.Repeat("ab", 32), Size_: size}
	}
	widths := []uint32{784, 128, 10}
	infer := validCreate()
	infer.Workload = types.Workload{Name: workload.InferMlpInt8V1, Params: &types.Workload_InferMlpInt8{
		InferMlpInt8: &types.InferMlpInt8Params{Widths: widths, Rows: 100},
	}}
	infer.Requirements.Workload = workload.InferMlpInt8V1
	infer.Inputs = []types.Blob{blob(workload.MlpModelSize(widths)), blob(workload.MlpRowsSize(100, 784))}
	train := validCreate()
	train.Workload = types.Workload{Name: workload.TrainMlpInt8V1, Params: &types.Workload_TrainMlpInt8{
		TrainMlpInt8: &types.TrainMlpInt8Params{Widths: widths, DatasetRows: 1000, Steps: 100, Batch: 64, LrShift: 1, Seed: 1},
	}}
	train.Requirements.Workload = workload.TrainMlpInt8V1
	train.Inputs = []types.Blob{blob(workload.MlpDatasetSize(1000, 784))}
	return []*types.MsgCreateTask{infer, train}
}

// TestMLPCreateTask: an MLP task is valid with inputs of the exact sizes its parameters give,
// and refused, naming the field, with any other size or with parameters of another workload.
func TestMLPCreateTask(t *testing.T) {
	for _, m := range mlpCreates() {
		require.NoError(t, m.ValidateBasic(), m.Workload.Name)
		m.Inputs[0].Size_++
		require.ErrorContains(t, m.ValidateBasic(), "inputs[0]", m.Workload.Name)
		m.Inputs[0].Size_--
		m.Workload.Name = workload.GemmInt8V1
		require.ErrorContains(t, m.ValidateBasic(), "parameters are for", m.Workload.Name)
	}
}

func TestMaxPriceBound(t *testing.T) {
	m := validCreate()
	require.NoError(t, m.ValidateBasic())
	m.MaxPrice = sdk.NewCoin("aogpu", types.MaxAmount.AddRaw(1))
	require.ErrorContains(t, m.ValidateBasic(), "at most the whole supply")
	huge, _ := math.NewIntFromString("1" + strings.Repeat("0", 70))
	bid := &types.MsgBid{Provider: m.Creator, TaskId: 1, Price: huge}
	require.ErrorIs(t, bid.ValidateBasic(), types.ErrInvalidPrice)
}

// FuzzMsgCreateTask decodes arbitrary bytes as a create-task message and validates it; neither
// may panic, and a message that passes has work units and a result bound.
func FuzzMsgCreateTask(f *testing.F) {
	for _, m := range append(mlpCreates(), validCreate()) {
		bz, err := m.Marshal()
		require.NoError(f, err)
		f.Add(bz)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, bz []byte) {
		var m types.MsgCreateTask
		if m.Unmarshal(bz) != nil || m.ValidateBasic() != nil {
			return
		}
		p, err := m.Workload.TypedParams()
		require.NoError(t, err)
		require.Positive(t, p.WorkUnits())
		require.Positive(t, p.ResultSize())
	})
}

// FuzzMsgSubmitResult: decoding and validating a result never panics.
func FuzzMsgSubmitResult(f *testing.F) {
	msg := &types.MsgSubmitResult{Provider: sdk.AccAddress(make([]byte, 20)).String(), TaskId: 1, Sha256: strings.Repeat("ab", 32), Size_: 4, Uri: "https://p/x"}
	bz, err := msg.Marshal()
	require.NoError(f, err)
	f.Add(bz)
	f.Fuzz(func(t *testing.T, bz []byte) {
		var m types.MsgSubmitResult
		if m.Unmarshal(bz) != nil || m.ValidateBasic() != nil {
			return
		}
		require.Len(t, m.Sha256, 64)
	})
}

// TestBlobRulesHaveOneError: each rule of a blob gives one error, the same from
// MsgSubmitResult.ValidateBasic and from the keeper's check (Blob.ValidateResult), coded
// ErrInvalidResult for a result and ErrInvalidInput for a task's input.
func TestBlobRulesHaveOneError(t *testing.T) {
	good := types.Blob{Uri: "https://p/x", Sha256: strings.Repeat("ab", 32), Size_: 4}
	for _, tc := range []struct {
		name string
		edit func(*types.Blob)
		rule string
	}{
		{"uri", func(b *types.Blob) { b.Uri = "ipfs://x" }, "must be an http:// or https:// URL"},
		{"long uri", func(b *types.Blob) { b.Uri = "https://p/" + strings.Repeat("x", 600) }, "at most 512 characters"},
		{"sha256", func(b *types.Blob) { b.Sha256 = strings.Repeat("AB", 32) }, "64 lowercase hex characters"},
		{"size", func(b *types.Blob) { b.Size_ = 0 }, "size 0: must be positive"},
	} {
		b := good
		tc.edit(&b)
		msg := &types.MsgSubmitResult{Provider: sdk.AccAddress(make([]byte, 20)).String(), TaskId: 1, Uri: b.Uri, Sha256: b.Sha256, Size_: b.Size_}
		basic, keeper := msg.ValidateBasic(), b.ValidateResult()
		require.ErrorIs(t, basic, types.ErrInvalidResult, tc.name)
		require.ErrorContains(t, basic, tc.rule, tc.name)
		require.Equal(t, keeper.Error(), basic.Error(), tc.name)
		require.NotErrorIs(t, b.Validate(), types.ErrInvalidResult, "%s: the blob's own error has no code", tc.name)
	}
	require.NoError(t, good.ValidateResult())
}
