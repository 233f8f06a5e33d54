package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestParseComputeCapability(t *testing.T) {
	for in, want := range map[string][2]uint32{"9.0": {9, 0}, "8.6": {8, 6}, "10.12": {10, 12}} {
		maj, min, err := types.ParseComputeCapability(in)
		require.NoError(t, err, in)
		require.Equal(t, want, [2]uint32{maj, min})
	}
	for _, bad := range []string{"", "9", "9.", ".0", "a.b", "9.0.1", "-1.0", "300.0"} {
		_, _, err := types.ParseComputeCapability(bad)
		require.ErrorIs(t, err, types.ErrInvalidGPU, bad)
	}
}

func TestRequirementsMatches(t *testing.T) {
	g := types.GPU{Uuid: "GPU-1", Model: "NVIDIA H100 80GB HBM3", VramMib: 81920, ComputeCapability: "9.0"}
	require.True(t, types.Requirements{}.Matches(g))
	require.True(t, types.Requirements{GpuModel: "h100 80gb"}.Matches(g))
	require.False(t, types.Requirements{GpuModel: "H200"}.Matches(g))
	require.True(t, types.Requirements{MinComputeCapability: "9.0"}.Matches(g))
	require.False(t, types.Requirements{MinComputeCapability: "9.1"}.Matches(g))
	require.Equal(t, 0, types.Requirements{}.GPUsNeeded())
	require.Equal(t, 1, types.Requirements{MinVramMib: 1}.GPUsNeeded())
	require.Equal(t, 4, types.Requirements{GpuCount: 4}.GPUsNeeded())
}

// FuzzMsgRegisterProvider decodes arbitrary bytes as the message and validates it: neither may
// panic, and a message that validates has a usable spec.
func FuzzMsgRegisterProvider(f *testing.F) {
	valid := &types.MsgRegisterProvider{
		Operator: sdk.AccAddress(make([]byte, 20)).String(), Moniker: "box", Endpoint: "https://p.example",
		Gpus:      []types.GPU{{Uuid: "GPU-1", Model: "NVIDIA H100", VramMib: 81920, ComputeCapability: "9.0"}},
		Workloads: []string{"gemm-int8/v1"},
	}
	bz, err := valid.Marshal()
	require.NoError(f, err)
	f.Add(bz)
	f.Add([]byte{})
	f.Add([]byte{0x22, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, bz []byte) {
		var m types.MsgRegisterProvider
		if err := m.Unmarshal(bz); err != nil {
			return
		}
		if m.ValidateBasic() != nil {
			return
		}
		require.NotEmpty(t, m.Workloads)
		for _, g := range m.Gpus {
			require.NoError(t, g.Validate())
		}
	})
}

func FuzzParseComputeCapability(f *testing.F) {
	for _, s := range []string{"9.0", "", "1.2.3", "99999999999.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		maj, min, err := types.ParseComputeCapability(s)
		if err == nil {
			require.LessOrEqual(t, maj, uint32(255))
			require.LessOrEqual(t, min, uint32(255))
		}
	})
}
