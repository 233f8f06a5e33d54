// Package device discovers the local GPUs through NVML. NVML is reached through go-nvml's
// Interface, so tests run on go-nvml's mock device sets; a machine without the NVIDIA driver is a
// normal "no GPU" answer, not an error.
package device

import (
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Device is one GPU as NVML reports it.
type Device struct {
	Index int
	UUID  string
	// Name is the model name, e.g. "NVIDIA H100 80GB HBM3".
	Name      string
	MemoryMiB uint64
	// ComputeCapability is "major.minor", e.g. "9.0".
	ComputeCapability string
	// UtilizationGPU and UtilizationMemory are percentages over NVML's last sample period;
	// both are 0 where the device does not report them (e.g. MIG mode).
	UtilizationGPU    uint32
	UtilizationMemory uint32
}

// Inventory is what discovery found. Devices is empty on a machine without GPUs, and NoGPU
// then says why.
type Inventory struct {
	DriverVersion string
	Devices       []Device
	NoGPU         string
}

// HasGPU reports whether any device was found.
func (inv Inventory) HasGPU() bool { return len(inv.Devices) > 0 }

// Discoverer lists the local GPUs.
type Discoverer interface {
	Discover() (Inventory, error)
}

// NVML discovers devices through an NVML library.
type NVML struct{ lib nvml.Interface }

// NewNVML uses the system's libnvidia-ml, loaded at run time.
func NewNVML() *NVML { return &NVML{lib: nvml.New()} }

// NewNVMLWith uses lib, e.g. one of go-nvml's mock servers.
func NewNVMLWith(lib nvml.Interface) *NVML { return &NVML{lib: lib} }

var _ Discoverer = (*NVML)(nil)

// noGPUReturns are the answers of nvml.Init that mean "this machine has no usable NVIDIA GPU".
var noGPUReturns = map[nvml.Return]string{
	nvml.ERROR_LIBRARY_NOT_FOUND:  "the NVIDIA driver library (libnvidia-ml.so.1) is not installed",
	nvml.ERROR_DRIVER_NOT_LOADED:  "the NVIDIA kernel driver is not loaded",
	nvml.ERROR_NO_PERMISSION:      "no permission to open the NVIDIA devices",
	nvml.ERROR_GPU_IS_LOST:        "the GPU has fallen off the bus",
	nvml.ERROR_NOT_FOUND:          "no NVIDIA device found",
	nvml.ERROR_FUNCTION_NOT_FOUND: "the NVIDIA driver library is too old",
}

// Discover lists every device. A machine without the driver or without devices returns an empty
// inventory and no error.
func (n *NVML) Discover() (inv Inventory, err error) {
	ret := n.lib.Init()
	if reason, ok := noGPUReturns[ret]; ok {
		return Inventory{NoGPU: reason}, nil
	}
	if ret != nvml.SUCCESS {
		return Inventory{}, fmt.Errorf("nvml init: %w", ret)
	}
	defer func() {
		if ret := n.lib.Shutdown(); ret != nvml.SUCCESS && err == nil {
			err = fmt.Errorf("nvml shutdown: %w", ret)
		}
	}()

	if v, ret := n.lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		inv.DriverVersion = v
	}
	count, ret := n.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return Inventory{}, fmt.Errorf("nvml device count: %w", ret)
	}
	for i := 0; i < count; i++ {
		d, err := describe(n.lib, i)
		if err != nil {
			return Inventory{}, fmt.Errorf("gpu %d: %w", i, err)
		}
		inv.Devices = append(inv.Devices, d)
	}
	if len(inv.Devices) == 0 {
		inv.NoGPU = "the NVIDIA driver reports no devices"
	}
	return inv, nil
}

func describe(lib nvml.Interface, index int) (Device, error) {
	h, ret := lib.DeviceGetHandleByIndex(index)
	if ret != nvml.SUCCESS {
		return Device{}, fmt.Errorf("handle: %w", ret)
	}
	d := Device{Index: index}
	if d.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
		return Device{}, fmt.Errorf("uuid: %w", ret)
	}
	if d.Name, ret = h.GetName(); ret != nvml.SUCCESS {
		return Device{}, fmt.Errorf("name: %w", ret)
	}
	mem, ret := h.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return Device{}, fmt.Errorf("memory: %w", ret)
	}
	d.MemoryMiB = mem.Total / (1 << 20)
	major, minor, ret := h.GetCudaComputeCapability()
	if ret != nvml.SUCCESS {
		return Device{}, fmt.Errorf("compute capability: %w", ret)
	}
	d.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
	util, ret := h.GetUtilizationRates()
	switch {
	case ret == nvml.SUCCESS:
		d.UtilizationGPU, d.UtilizationMemory = util.Gpu, util.Memory
	case errors.Is(ret, nvml.ERROR_NOT_SUPPORTED):
	default:
		return Device{}, fmt.Errorf("utilization: %w", ret)
	}
	return d, nil
}
