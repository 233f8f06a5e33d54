package types_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
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
	bz, err := validCreate().Marshal()
	require.NoError(f, err)
	f.Add(bz)
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
