// Package workload is the registry of the workloads the market runs: their names, kinds, typed
// parameters, work units, result size bounds and verifiers. x/compute validates tasks against
// it, x/staking-gpu checks what providers offer, and the sidecar's executors implement what it
// names. It depends on nothing in the chain, so every side can import it.
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

// Input is a content-addressed blob a task reads.
type Input struct {
	URI    string
	SHA256 string
	Size   uint64
}

// Params are a workload's typed parameters.
type Params interface {
	// Workload is the name of the workload these parameters belong to.
	Workload() string
	// Validate checks the parameters and the task's inputs against the workload's rules.
	Validate(inputs []Input) error
	// WorkUnits is the amount of work a run takes, the unit providers are rewarded by.
	WorkUnits() uint64
	// ResultSize is the exact size in bytes of a correct result.
	ResultSize() uint64
}

// Spec describes one registered workload.
type Spec struct {
	// Name is "family/version", e.g. "gemm-int8/v1"; it never changes meaning once registered.
	Name string
	Kind Kind
	// Verifier names the check committee members run on a result.
	Verifier string
	// Summary says what the workload computes.
	Summary string
}

var registry = []Spec{
	{
		Name: GemmInt8V1, Kind: Batch, Verifier: "freivalds-p61",
		Summary: "C (m×n, int32) = A (m×k, int8) · B (k×n, int8), inputs from seeds or uploaded blobs",
	},
	{
		Name: InferMlpInt8V1, Kind: Batch, Verifier: "freivalds-layers-p61",
		Summary: "an integer MLP (int8 weights, int32 biases, fixed-point requantization) over a batch of int8 rows: every layer's accumulators, the logits and each row's argmax",
	},
	{
		Name: TrainMlpInt8V1, Kind: Batch, Verifier: "sampled-steps",
		Summary: "integer-only training of an MLP on a labelled int8 dataset: the trained model and the hash of the state after every step",
	},
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
		family, _, _ := strings.Cut(name, "/")
		for _, known := range Names() {
			if strings.HasPrefix(known, family+"/") {
				return fmt.Errorf("unknown workload version %q: registered versions are %s", name, strings.Join(Names(), ", "))
			}
		}
		return fmt.Errorf("unknown workload %q: must be one of %s", name, strings.Join(Names(), ", "))
	}
	return nil
}

// ValidateParams checks that p are parameters of the workload called name and that they and
// the inputs follow its rules.
func ValidateParams(name string, p Params, inputs []Input) error {
	if err := Validate(name); err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("workload %s: parameters missing", name)
	}
	if p.Workload() != name {
		return fmt.Errorf("workload %s: parameters are for %s", name, p.Workload())
	}
	return p.Validate(inputs)
}
