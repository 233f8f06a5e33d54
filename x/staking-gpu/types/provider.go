package types

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/workload"
)

const (
	maxMonikerLen  = 70
	maxEndpointLen = 256
	maxGPUFieldLen = 128
	maxWorkloads   = 32
)

// ValidateProviderSpec checks the fields a provider declares about itself.
func ValidateProviderSpec(moniker, endpoint string, gpus []GPU, workloads []string) error {
	if moniker == "" || len(moniker) > maxMonikerLen || strings.IndexFunc(moniker, unicode.IsControl) >= 0 {
		return errorsmod.Wrapf(ErrInvalidMoniker, "moniker %q: must be 1 to %d printable characters", moniker, maxMonikerLen)
	}
	if err := ValidateEndpoint(endpoint); err != nil {
		return err
	}
	seen := make(map[string]struct{}, len(gpus))
	for i, g := range gpus {
		if err := g.Validate(); err != nil {
			return errorsmod.Wrapf(err, "gpus[%d]", i)
		}
		if _, dup := seen[g.Uuid]; dup {
			return errorsmod.Wrapf(ErrDuplicateGPU, "gpus[%d].uuid %q: each GPU must be listed once", i, g.Uuid)
		}
		seen[g.Uuid] = struct{}{}
	}
	if len(workloads) == 0 || len(workloads) > maxWorkloads {
		return errorsmod.Wrapf(ErrUnknownWorkload, "workloads: must list 1 to %d of %s", maxWorkloads, strings.Join(workload.Names(), ", "))
	}
	for i, w := range workloads {
		if err := workload.Validate(w); err != nil {
			return errorsmod.Wrapf(ErrUnknownWorkload, "workloads[%d]: %v", i, err)
		}
		if slices.Contains(workloads[:i], w) {
			return errorsmod.Wrapf(ErrUnknownWorkload, "workloads[%d] %q: listed twice", i, w)
		}
	}
	return nil
}

// ValidateEndpoint checks that endpoint is an absolute http or https URL with a host.
func ValidateEndpoint(endpoint string) error {
	if len(endpoint) > maxEndpointLen {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "endpoint: must be at most %d characters", maxEndpointLen)
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "endpoint %q: must be an http:// or https:// URL with a host and no credentials", endpoint)
	}
	return nil
}

// Validate checks one GPU entry.
func (g GPU) Validate() error {
	if g.Uuid == "" || len(g.Uuid) > maxGPUFieldLen {
		return errorsmod.Wrapf(ErrInvalidGPU, "uuid %q: must be 1 to %d characters", g.Uuid, maxGPUFieldLen)
	}
	if strings.TrimSpace(g.Model) == "" || len(g.Model) > maxGPUFieldLen {
		return errorsmod.Wrapf(ErrInvalidGPU, "model %q: must be 1 to %d characters, not blank", g.Model, maxGPUFieldLen)
	}
	if g.VramMib == 0 {
		return errorsmod.Wrap(ErrInvalidGPU, "vram_mib 0: must be positive")
	}
	if _, _, err := ParseComputeCapability(g.ComputeCapability); err != nil {
		return errorsmod.Wrapf(ErrInvalidGPU, "compute_capability: %v", err)
	}
	return nil
}

// ParseComputeCapability parses "major.minor", e.g. "9.0".
func ParseComputeCapability(s string) (major, minor uint32, err error) {
	maj, min, ok := strings.Cut(s, ".")
	if ok {
		var a, b uint64
		a, err = strconv.ParseUint(maj, 10, 8)
		if err == nil {
			b, err = strconv.ParseUint(min, 10, 8)
		}
		if err == nil {
			return uint32(a), uint32(b), nil
		}
	}
	return 0, 0, errorsmod.Wrapf(ErrInvalidGPU, "%q: must be major.minor, e.g. 9.0", s)
}

// capabilityAtLeast reports whether have ≥ want; both must parse.
func capabilityAtLeast(have, want string) bool {
	hMaj, hMin, err := ParseComputeCapability(have)
	if err != nil {
		return false
	}
	wMaj, wMin, err := ParseComputeCapability(want)
	if err != nil {
		return false
	}
	return hMaj > wMaj || (hMaj == wMaj && hMin >= wMin)
}

// Validate checks task requirements.
func (r Requirements) Validate() error {
	if err := workload.Validate(r.Workload); err != nil {
		return errorsmod.Wrapf(ErrInvalidRequirements, "workload: %v", err)
	}
	if len(r.GpuModel) > maxGPUFieldLen {
		return errorsmod.Wrapf(ErrInvalidRequirements, "gpu_model: must be at most %d characters", maxGPUFieldLen)
	}
	if r.GpuCount > maxGPUsLimit {
		return errorsmod.Wrapf(ErrInvalidRequirements, "gpu_count %d: must be at most %d", r.GpuCount, maxGPUsLimit)
	}
	if r.MinComputeCapability != "" {
		if _, _, err := ParseComputeCapability(r.MinComputeCapability); err != nil {
			return errorsmod.Wrapf(ErrInvalidRequirements, "min_compute_capability: %v", err)
		}
	}
	return nil
}

// NeedsGPU is true when the requirements ask for any GPU at all.
func (r Requirements) NeedsGPU() bool {
	return r.GpuCount > 0 || r.MinVramMib > 0 || r.GpuModel != "" || r.MinComputeCapability != ""
}

// GPUsNeeded is how many matching GPUs the requirements ask for.
func (r Requirements) GPUsNeeded() int {
	switch {
	case r.GpuCount > 0:
		return int(r.GpuCount)
	case r.NeedsGPU():
		return 1
	default:
		return 0
	}
}

// Matches reports whether gpu satisfies the per-device requirements.
func (r Requirements) Matches(g GPU) bool {
	if g.VramMib < r.MinVramMib {
		return false
	}
	if r.GpuModel != "" && !strings.Contains(strings.ToLower(g.Model), strings.ToLower(r.GpuModel)) {
		return false
	}
	if r.MinComputeCapability != "" && !capabilityAtLeast(g.ComputeCapability, r.MinComputeCapability) {
		return false
	}
	return true
}

// MeetsHardware reports whether the provider's devices and workloads satisfy r, and if not, why.
// A provider without GPUs is a CPU provider: it can only take requirements that ask for no GPU.
func (p Provider) MeetsHardware(r Requirements) (bool, string) {
	if !slices.Contains(p.Workloads, r.Workload) {
		return false, "workload " + r.Workload + " not supported"
	}
	need := r.GPUsNeeded()
	if need == 0 {
		return true, ""
	}
	have := 0
	for _, g := range p.Gpus {
		if r.Matches(g) {
			have++
		}
	}
	if have < need {
		return false, "has " + strconv.Itoa(have) + " matching GPUs, needs " + strconv.Itoa(need)
	}
	return true, ""
}

// Payee is paid up to Amount out of a provider's slash.
type Payee struct {
	Address sdk.AccAddress
	Amount  math.Int
}
