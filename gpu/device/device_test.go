package device_test

import (
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/device"
)

// withUtilization gives every mock device a utilization reading; the mock sets none.
func withUtilization(s *server.Server, gpu, mem uint32) *server.Server {
	for _, d := range s.Devices {
		d.(*server.Device).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: gpu, Memory: mem}, nvml.SUCCESS
		}
	}
	return s
}

func TestDiscoverH100(t *testing.T) {
	inv, err := device.NewNVMLWith(withUtilization(dgxh100.New(), 37, 12)).Discover()
	require.NoError(t, err)
	require.True(t, inv.HasGPU())
	require.Empty(t, inv.NoGPU)
	require.Equal(t, "550.54.15", inv.DriverVersion)
	require.Len(t, inv.Devices, 8)
	seen := map[string]bool{}
	for i, d := range inv.Devices {
		require.Equal(t, i, d.Index)
		require.Contains(t, d.Name, "H100")
		require.Equal(t, "9.0", d.ComputeCapability)
		require.EqualValues(t, 80*1024, d.MemoryMiB)
		require.EqualValues(t, 37, d.UtilizationGPU)
		require.EqualValues(t, 12, d.UtilizationMemory)
		require.True(t, strings.HasPrefix(d.UUID, "GPU-"), d.UUID)
		require.False(t, seen[d.UUID], "UUIDs are unique")
		seen[d.UUID] = true
	}
}

func TestDiscoverA100(t *testing.T) {
	inv, err := device.NewNVMLWith(withUtilization(dgxa100.New(), 0, 0)).Discover()
	require.NoError(t, err)
	require.Len(t, inv.Devices, 8)
	require.Equal(t, "8.0", inv.Devices[0].ComputeCapability)
	require.Contains(t, inv.Devices[0].Name, "A100")
}

func TestUtilizationNotSupportedIsZero(t *testing.T) {
	s := dgxh100.New()
	for _, d := range s.Devices {
		d.(*server.Device).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED
		}
	}
	inv, err := device.NewNVMLWith(s).Discover()
	require.NoError(t, err)
	require.Zero(t, inv.Devices[0].UtilizationGPU)
}

func TestNoDriverIsNoGPU(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED} {
		lib := &mock.Interface{InitFunc: func() nvml.Return { return ret }}
		inv, err := device.NewNVMLWith(lib).Discover()
		require.NoError(t, err, ret.Error())
		require.False(t, inv.HasGPU())
		require.NotEmpty(t, inv.NoGPU)
	}
}

func TestZeroDevicesIsNoGPU(t *testing.T) {
	lib := &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "560.1", nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return 0, nvml.SUCCESS },
	}
	inv, err := device.NewNVMLWith(lib).Discover()
	require.NoError(t, err)
	require.False(t, inv.HasGPU())
	require.Contains(t, inv.NoGPU, "no devices")
}

func TestDeviceErrorNamesTheDevice(t *testing.T) {
	s := dgxh100.New()
	s.Devices[3].(*server.Device).GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
		return nvml.Memory{}, nvml.ERROR_UNKNOWN
	}
	withUtilization(s, 0, 0)
	_, err := device.NewNVMLWith(s).Discover()
	require.ErrorContains(t, err, "gpu 3: memory")
}

// On the build machines there is no driver: the real library must answer "no GPU", not fail.
func TestSystemNVML(t *testing.T) {
	inv, err := device.NewNVML().Discover()
	require.NoError(t, err)
	if !inv.HasGPU() {
		require.NotEmpty(t, inv.NoGPU)
		t.Logf("no GPU here: %s", inv.NoGPU)
	}
}
