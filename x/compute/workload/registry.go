// Package workload is the registry of the workloads the market runs: their names, kinds and
// verifiers. x/compute validates tasks against it, x/staking-gpu checks what providers offer,
// and the sidecar's executors implement what it names.
package workload

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is how a workload is run and paid.
type Kind string

const (
	// Batch workloads run once and deliver one result.
	Batch Kind = "batch"
	// Stream workloads keep replicas serving requests for a duration.
	Stream Kind = "stream"
)

// Spec describes one registered workload.
type Spec struct {
	// Name is "family/version", e.g. "gemm-int8/v1"; it never changes meaning once registered.
	Name string
	Kind Kind
	// Verifier names the check committee members run on a result.
	Verifier string
}

// GemmInt8V1 multiplies two int8 matrices into an int32 matrix, checked with Freivalds.
const GemmInt8V1 = "gemm-int8/v1"

var registry = []Spec{
	{Name: GemmInt8V1, Kind: Batch, Verifier: "freivalds-p61"},
}

// Lookup returns the spec registered under name.
func Lookup(name string) (Spec, bool) {
	i := slices.IndexFunc(registry, func(s Spec) bool { return s.Name == name })
	if i < 0 {
		return Spec{}, false
	}
	return registry[i], true
}

// Names returns the registered workload names in registration order.
func Names() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name
	}
	return names
}

// Validate returns an error naming the registered workloads when name is not one of them.
func Validate(name string) error {
	if _, ok := Lookup(name); !ok {
		return fmt.Errorf("unknown workload %q: must be one of %s", name, strings.Join(Names(), ", "))
	}
	return nil
}
