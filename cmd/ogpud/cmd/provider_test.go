package cmd

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/device"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestParseGPUFlag(t *testing.T) {
	g, err := ParseGPUFlag("GPU-1, NVIDIA H100 80GB HBM3 ,81920,9.0")
	require.NoError(t, err)
	require.Equal(t, stakinggputypes.GPU{Uuid: "GPU-1", Model: "NVIDIA H100 80GB HBM3", VramMib: 81920, ComputeCapability: "9.0"}, g)

	for in, want := range map[string]string{
		"GPU-1,H100,81920":      "want UUID,MODEL,VRAM_MIB,COMPUTE_CAPABILITY",
		"GPU-1,H100,lots,9.0":   "VRAM_MIB",
		"GPU-1,H100,0,9.0":      "vram_mib 0",
		"GPU-1,,81920,9.0":      "model",
		"GPU-1,H100,81920,nine": "compute_capability",
		",H100,81920,9.0":       "uuid",
	} {
		_, err := ParseGPUFlag(in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestRegisterProviderAuto(t *testing.T) {
	cmd := providerSpecCmd("register-provider", "test", nil)
	require.NoError(t, cmd.Flags().Parse([]string{"--moniker", "m", "--endpoint", "http://x", "--auto"}))

	s := dgxh100.New()
	for _, d := range s.Devices {
		d.(*server.Device).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.SUCCESS }
	}
	spec, err := readProviderSpec(cmd, device.NewNVMLWith(s))
	require.NoError(t, err)
	require.Len(t, spec.gpus, 8)
	require.NoError(t, stakinggputypes.ValidateProviderSpec(spec.moniker, spec.endpoint, spec.gpus, spec.workloads),
		"what discovery finds is a valid provider record")
	require.Equal(t, uint64(80*1024), spec.gpus[0].VramMib)

	noDriver := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
	spec, err = readProviderSpec(cmd, device.NewNVMLWith(noDriver))
	require.NoError(t, err)
	require.Empty(t, spec.gpus, "no driver: a CPU provider")
}
