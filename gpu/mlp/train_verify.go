package mlp

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// A committee member checks a train-mlp-int8/v1 result by re-executing a few steps drawn after
// the result was committed: for each sampled step s it fetches State s from the provider,
// checks it hashes to H_s, runs TrainStep and checks the new State hashes to H_{s+1}. A provider
// that skipped or faked a fraction f of the steps has a wrong transition at each of them, so it
// escapes c samples with probability C((1−f)T, c)/C(T, c) ≤ (1−f)^c (CatchProbability).
// Re-executing a step costs O(Batch·weights), a 1/Steps fraction of the run.

// DefaultSamples is the steps a member re-executes: a provider that skipped half the steps is
// caught with probability at least 1 − 2^−10 > 0.999.
const DefaultSamples = 10

// ErrStepMismatch is a State or a transition that does not match the result's hashes.
var ErrStepMismatch = errors.New("train step mismatch")

// SampleSteps is min(samples, steps) distinct steps in [0, steps), ascending, drawn from seed
// without replacement (Floyd's algorithm over sha256(seed ‖ i) draws).
func SampleSteps(seed [32]byte, steps, samples int) []int {
	samples = min(max(samples, 0), max(steps, 0))
	picked, seen := make([]int, 0, samples), make(map[int]bool, samples)
	var buf [36]byte
	copy(buf[:], seed[:])
	for i, j := 0, steps-samples; j < steps; i, j = i+1, j+1 {
		binary.LittleEndian.PutUint32(buf[32:], uint32(i))
		h := sha256.Sum256(buf[:])
		// uniform in [0, j]: the modulo bias is below 2^−40 for j < 2^24
		t := int(binary.LittleEndian.Uint64(h[:8]) % uint64(j+1))
		if seen[t] {
			t = j
		}
		seen[t] = true
		picked = append(picked, t)
	}
	slices.Sort(picked)
	return picked
}

// VerifySteps checks a result of a run with these parameters on the dataset by re-executing the
// steps sampled from seed, fetching each State it needs through state (the provider serves
// them). It checks that H_0 is InitState's hash, that the final State hashes to H_Steps and
// gives res.Model, and that each sampled step s takes State s (hashing to H_s) to a State
// hashing to H_{s+1}. A mismatch is an error wrapping ErrStepMismatch that names the step.
// digest, the member's proof of work, is sha256(seed ‖ for each sampled step: step (uint32
// little-endian) ‖ the recomputed H_{s+1}).
func VerifySteps(e gemm.Executor, p TrainParams, ds *Dataset, res *Result, state func(step int) (*State, error), seed [32]byte, samples int) (digest [32]byte, err error) {
	if err := p.Validate(); err != nil {
		return digest, err
	}
	if err := checkDataset(p, ds); err != nil {
		return digest, err
	}
	if len(res.StateHashes) != p.Steps+1 {
		return digest, fmt.Errorf("result: %d state hashes, want %d: %w", len(res.StateHashes), p.Steps+1, ErrStepMismatch)
	}
	if h := InitState(p).Hash(); res.StateHashes[0] != h {
		return digest, fmt.Errorf("step 0: H_0 %x is not the initial state's %x: %w", res.StateHashes[0], h, ErrStepMismatch)
	}
	fetch := func(step int) (*State, error) {
		s, err := state(step)
		if err != nil {
			return nil, fmt.Errorf("fetch state %d: %w", step, err)
		}
		if s == nil {
			return nil, fmt.Errorf("fetch state %d: none served", step)
		}
		if err := s.checkShape(p); err != nil {
			return nil, fmt.Errorf("state %d: %v: %w", step, err, ErrStepMismatch)
		}
		if s.Step != step {
			return nil, fmt.Errorf("state %d: its step is %d: %w", step, s.Step, ErrStepMismatch)
		}
		if h := s.Hash(); h != res.StateHashes[step] {
			return nil, fmt.Errorf("state %d: hash %x, want H_%d %x: %w", step, h, step, res.StateHashes[step], ErrStepMismatch)
		}
		return s, nil
	}

	// the model is the final State's
	final, err := fetch(p.Steps)
	if err != nil {
		return digest, err
	}
	if !slices.Equal(final.Model().Encode(), res.Model.Encode()) {
		return digest, fmt.Errorf("step %d: the model is not the final state's: %w", p.Steps, ErrStepMismatch)
	}

	h := sha256.New()
	h.Write(seed[:])
	for _, s := range SampleSteps(seed, p.Steps, samples) {
		st, err := fetch(s)
		if err != nil {
			return digest, err
		}
		st = st.Clone() // the provider's copy stays as served
		if err := step(e, p, ds, st); err != nil {
			return digest, fmt.Errorf("step %d: %w", s, err)
		}
		next := st.Hash()
		if next != res.StateHashes[s+1] {
			return digest, fmt.Errorf("step %d: re-executed state hashes to %x, want H_%d %x: %w", s, next, s+1, res.StateHashes[s+1], ErrStepMismatch)
		}
		h.Write(binary.LittleEndian.AppendUint32(nil, uint32(s)))
		h.Write(next[:])
	}
	return [32]byte(h.Sum(nil)), nil
}

// CatchProbability is the exact probability that samples steps drawn without replacement from
// steps hit at least one of skipped wrong transitions: 1 − C(steps−skipped, samples)/C(steps,
// samples), as a fraction. It is at least 1 − (1 − skipped/steps)^samples.
func CatchProbability(steps, skipped, samples int) *big.Rat {
	if steps <= 0 || skipped <= 0 || samples <= 0 {
		return new(big.Rat)
	}
	skipped, samples = min(skipped, steps), min(samples, steps)
	// escape = ∏_{i<samples} (steps−skipped−i)/(steps−i)
	num, den := big.NewInt(1), big.NewInt(1)
	for i := range samples {
		if steps-skipped-i <= 0 {
			return big.NewRat(1, 1)
		}
		num.Mul(num, big.NewInt(int64(steps-skipped-i)))
		den.Mul(den, big.NewInt(int64(steps-i)))
	}
	escape := new(big.Rat).SetFrac(num, den)
	return escape.Sub(big.NewRat(1, 1), escape)
}
