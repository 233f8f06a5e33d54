package mlp

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// served is the provider's side of verification: it serves a copy of the States it kept.
func served(states []*State) func(step int) (*State, error) {
	return func(step int) (*State, error) {
		if step < 0 || step >= len(states) {
			return nil, fmt.Errorf("no state %d", step)
		}
		return states[step].Clone(), nil
	}
}

func TestSampleSteps(t *testing.T) {
	seed := sha256.Sum256([]byte("draw"))
	got := SampleSteps(seed, 1000, 10)
	require.Len(t, got, 10)
	for i := range got {
		require.True(t, got[i] >= 0 && got[i] < 1000)
		if i > 0 {
			require.Less(t, got[i-1], got[i], "distinct and ascending")
		}
	}
	require.Equal(t, got, SampleSteps(seed, 1000, 10))
	require.NotEqual(t, got, SampleSteps(sha256.Sum256([]byte("other")), 1000, 10))
	require.Equal(t, []int{0, 1, 2, 3, 4}, SampleSteps(seed, 5, 10), "every step when there are fewer")
	require.Empty(t, SampleSteps(seed, 5, 0))
	// every step is drawn about as often: 2000 draws of 10 from 50 give each step 400 ± 4σ (σ ≈ 18)
	counts := make([]int, 50)
	for i := range 2000 {
		for _, s := range SampleSteps(sha256.Sum256(fmt.Appendf(nil, "%d", i)), 50, 10) {
			counts[s]++
		}
	}
	for s, c := range counts {
		require.InDelta(t, 400, c, 75, "step %d", s)
	}
}

func TestVerifySteps(t *testing.T) {
	p := tinyParams(7)
	ds := syntheticDataset(3, 40, 12, 3)
	e := gemm.CPU{}
	seed := sha256.Sum256([]byte("committee member"))
	sampled := SampleSteps(seed, p.Steps, DefaultSamples)
	bad := sampled[3] // the step a dishonest provider gets wrong

	honest, states := trainStates(t, p, ds, nil)
	digest, err := VerifySteps(e, p, ds, honest, served(states), seed, DefaultSamples)
	require.NoError(t, err)
	again, err := VerifySteps(e, p, ds, honest, served(states), seed, DefaultSamples)
	require.NoError(t, err)
	require.Equal(t, digest, again, "the digest depends only on the result and the seed")
	other, err := VerifySteps(e, p, ds, honest, served(states), sha256.Sum256([]byte("another member")), DefaultSamples)
	require.NoError(t, err)
	require.NotEqual(t, digest, other)

	// a provider that changed one weight in the State after step bad and went on from there
	tampered, tamperedStates := trainStates(t, p, ds, func(s *State) {
		if s.Step == bad+1 {
			s.Weights[1][5]++
		}
	})
	// a provider that skipped step bad: State bad+1 is State bad (its step counted), and training
	// went on from it
	s := InitState(p)
	skippedStates := []*State{s.Clone()}
	skipped := &Result{StateHashes: [][32]byte{s.Hash()}}
	for s.Step < p.Steps {
		if s.Step == bad {
			s.Step++
		} else {
			require.NoError(t, TrainStep(e, p, ds, s))
		}
		skippedStates = append(skippedStates, s.Clone())
		skipped.StateHashes = append(skipped.StateHashes, s.Hash())
	}
	skipped.Model = s.Model()
	// a result of another seed's run
	replayed, replayedStates := trainStates(t, tinyParams(8), ds, nil)
	// H_0 changed
	wrongH0 := &Result{Model: honest.Model, StateHashes: append([][32]byte(nil), honest.StateHashes...)}
	wrongH0.StateHashes[0][0] ^= 1
	// a model that is not the final State's
	wrongModel := &Result{Model: states[p.Steps-1].Model(), StateHashes: honest.StateHashes}
	// the provider serves a State that is not the one it hashed
	lying := func(step int) (*State, error) {
		s := states[step].Clone()
		if step == bad {
			s.Biases[0][0]++
		}
		return s, nil
	}

	for _, tc := range []struct {
		name   string
		res    *Result
		states func(int) (*State, error)
		want   string
	}{
		{"one weight changed", tampered, served(tamperedStates), fmt.Sprintf("step %d: re-executed state", bad)},
		{"a skipped step", skipped, served(skippedStates), fmt.Sprintf("step %d: re-executed state", bad)},
		{"another seed's run", replayed, served(replayedStates), "step 0: H_0"},
		{"wrong H_0", wrongH0, served(states), "step 0: H_0"},
		{"wrong model", wrongModel, served(states), fmt.Sprintf("step %d: the model is not the final state's", p.Steps)},
		{"a served state off its hash", honest, lying, fmt.Sprintf("state %d: hash", bad)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifySteps(e, p, ds, tc.res, tc.states, seed, DefaultSamples)
			require.ErrorIs(t, err, ErrStepMismatch)
			require.ErrorContains(t, err, tc.want)
		})
	}

	// a State the provider cannot serve is its failure, not a mismatch
	_, err = VerifySteps(e, p, ds, honest, func(int) (*State, error) { return nil, errors.New("gone") }, seed, DefaultSamples)
	require.ErrorContains(t, err, "gone")
	require.NotErrorIs(t, err, ErrStepMismatch)
	_, err = VerifySteps(e, p, ds, honest, func(int) (*State, error) { return nil, nil }, seed, DefaultSamples)
	require.ErrorContains(t, err, "none served")
}

func TestCatchProbability(t *testing.T) {
	for _, tc := range []struct {
		steps, skipped, samples int
		want                    *big.Rat
	}{
		{100, 0, 10, new(big.Rat)},
		{100, 1, 1, big.NewRat(1, 100)},
		{100, 1, 10, big.NewRat(10, 100)},
		{10, 1, 10, big.NewRat(1, 1)},
		{10, 10, 1, big.NewRat(1, 1)},
		{4, 2, 2, big.NewRat(5, 6)}, // 1 − C(2,2)/C(4,2) = 1 − 1/6
		{100, 95, 10, big.NewRat(1, 1)},
	} {
		require.Zero(t, tc.want.Cmp(CatchProbability(tc.steps, tc.skipped, tc.samples)), "%+v: got %v", tc, CatchProbability(tc.steps, tc.skipped, tc.samples))
	}
	// skipping half of the steps is caught by DefaultSamples with probability ≥ 1 − 2^−10
	for _, steps := range []int{20, 100, 2000, 1 << 20} {
		got := CatchProbability(steps, steps/2, DefaultSamples)
		require.GreaterOrEqual(t, got.Cmp(big.NewRat(1023, 1024)), 0, "steps %d: %v", steps, got.FloatString(6))
	}
	// and a tenth with probability ≥ 1 − 0.9^10 ≈ 0.651
	bound := new(big.Rat).Sub(big.NewRat(1, 1), new(big.Rat).SetFrac(big.NewInt(3486784401), big.NewInt(10000000000)))
	require.GreaterOrEqual(t, CatchProbability(2000, 200, DefaultSamples).Cmp(bound), 0)
}

// BenchmarkVerifySteps is a member's check of a 784-128-10 MNIST run (DefaultSamples steps
// re-executed, the final State checked) against the provider's full training.
func BenchmarkVerifySteps(b *testing.B) {
	train, _ := loadMNIST(b)
	p := MNISTParams(1)
	seed := sha256.Sum256([]byte("member"))
	keep := map[int]*State{}
	for _, s := range SampleSteps(seed, p.Steps, DefaultSamples) {
		keep[s] = nil
	}
	keep[p.Steps] = nil
	start := time.Now()
	res, err := Train(gemm.CPU{}, p, train, func(step int, s *State) error {
		if _, ok := keep[step]; ok {
			keep[step] = s.Clone()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	trainTime := time.Since(start)
	state := func(step int) (*State, error) { return keep[step], nil }
	b.ResetTimer()
	for b.Loop() {
		if _, err := VerifySteps(gemm.CPU{}, p, train, res, state, seed, DefaultSamples); err != nil {
			b.Fatal(err)
		}
	}
	verify := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(trainTime.Seconds()*1000, "train-ms")
	b.ReportMetric(float64(verify)/float64(trainTime), "verify/train")
}

func FuzzDecodeTrainBlobs(f *testing.F) {
	p := TrainParams{Widths: []int{3, 2}, Steps: 2, Batch: 2, LRShift: 1, Seed: 1}
	ds := &Dataset{Rows: 4, Cols: 3, Classes: 2, Features: []int8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Labels: []uint8{0, 1, 1, 0}}
	res, err := Train(gemm.CPU{}, p, ds, nil)
	require.NoError(f, err)
	f.Add(res.Encode(p))
	f.Add(InitState(p).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := DecodeState(p, b); err == nil {
			require.Equal(t, b, s.Encode())
		}
		if r, err := DecodeResult(p, b); err == nil {
			require.Equal(t, b, r.Encode(p))
		}
	})
}
