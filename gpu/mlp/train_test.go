package mlp

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/big"
	"math/bits"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// naiveExecutor multiplies with gemm.Naive, the plain triple loop.
type naiveExecutor struct{}

func (naiveExecutor) Name() string { return "naive" }

func (naiveExecutor) GemmInt8(s gemm.Shape, a, b []int8, c []int32) error {
	copy(c, gemm.Naive(s, a, b))
	return nil
}

// tinyParams is a run small enough to check every step of.
func tinyParams(seed uint64) TrainParams {
	return TrainParams{Widths: []int{12, 8, 3}, Steps: 16, Batch: 5, LRShift: 1, Seed: seed}
}

func TestTrainParamsValidate(t *testing.T) {
	good := TrainParams{Widths: []int{784, 128, 10}, Steps: 100, Batch: 64, LRShift: 1, Seed: 1}
	require.NoError(t, good.Validate())
	for _, tc := range []struct {
		name  string
		edit  func(p *TrainParams)
		field string
	}{
		{"no layers", func(p *TrainParams) { p.Widths = []int{784} }, "layer count 0: must be in 1..16"},
		{"too many layers", func(p *TrainParams) { p.Widths = make([]int, 18) }, "layer count 17: must be in 1..16"},
		{"zero width", func(p *TrainParams) { p.Widths = []int{784, 0, 10} }, "widths[1] 0: must be in 1..16384"},
		{"wide", func(p *TrainParams) { p.Widths = []int{16385, 10} }, "widths[0] 16385: must be in 1..16384"},
		{"one class", func(p *TrainParams) { p.Widths = []int{784, 1} }, "widths[1] 1: the classes must be in 2..256"},
		{"too many classes", func(p *TrainParams) { p.Widths = []int{784, 257} }, "widths[1] 257: the classes must be in 2..256"},
		{"too many weights", func(p *TrainParams) { p.Widths = []int{16384, 2048, 10} }, "widths: 33574912 weights, must be at most 16777216 for training"},
		{"no steps", func(p *TrainParams) { p.Steps = 0 }, "steps 0: must be in 1..1048576"},
		{"too many steps", func(p *TrainParams) { p.Steps = MaxSteps + 1 }, "steps 1048577: must be in 1..1048576"},
		{"no batch", func(p *TrainParams) { p.Batch = 0 }, "batch 0: must be in 1..4096"},
		{"big batch", func(p *TrainParams) { p.Batch = 4097 }, "batch 4097: must be in 1..4096"},
		{"lr shift", func(p *TrainParams) { p.LRShift = 32 }, "lr_shift 32: must be in 0..31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			p.Widths = append([]int(nil), good.Widths...)
			tc.edit(&p)
			require.EqualError(t, p.Validate(), tc.field)
		})
	}
}

// trainStates runs p on ds like Train, keeping a copy of every State; tamper, if set, may
// change the State after each step before it is hashed (a dishonest provider).
func trainStates(t testing.TB, p TrainParams, ds *Dataset, tamper func(s *State)) (*Result, []*State) {
	t.Helper()
	s := InitState(p)
	states := []*State{s.Clone()}
	res := &Result{StateHashes: [][32]byte{s.Hash()}}
	for s.Step < p.Steps {
		require.NoError(t, TrainStep(gemm.CPU{}, p, ds, s))
		if tamper != nil {
			tamper(s)
		}
		states = append(states, s.Clone())
		res.StateHashes = append(res.StateHashes, s.Hash())
	}
	res.Model = s.Model()
	return res, states
}

func TestTrainIsDeterministic(t *testing.T) {
	p := tinyParams(7)
	ds := syntheticDataset(3, 40, 12, 3)
	var kept [][32]byte
	res, err := Train(gemm.CPU{}, p, ds, func(step int, s *State) error {
		require.Equal(t, len(kept), step)
		kept = append(kept, s.Hash())
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, kept, res.StateHashes)
	again, err := Train(gemm.CPU{Workers: 1}, p, ds, nil)
	require.NoError(t, err)
	require.Equal(t, res.StateHashes, again.StateHashes)
	require.Equal(t, res.Model, again.Model)
	// any executor: the same chain
	naive, err := Train(naiveExecutor{}, p, ds, nil)
	require.NoError(t, err)
	require.Equal(t, res.StateHashes, naive.StateHashes)
	// trainStates steps with TrainStep: the same chain
	same, _ := trainStates(t, p, ds, nil)
	require.Equal(t, res.StateHashes, same.StateHashes)

	// pinned: a change to any rule of a step changes this
	root := res.Root()
	require.Equal(t, "676c3876bc534911d3ee1063fe49c5ca90584e88ba25473af7e1b37fa229c1ce", hex.EncodeToString(root[:]))

	other, err := Train(gemm.CPU{}, tinyParams(8), ds, nil)
	require.NoError(t, err)
	require.NotEqual(t, res.StateHashes[0], other.StateHashes[0])
}

// referenceStep is one training step written out with plain loops and big integers, as
// train.go's comment states the rule, independent of step's code paths.
func referenceStep(p TrainParams, ds *Dataset, s *State) *State {
	next := s.Clone()
	next.Step++
	layers, n := len(p.Widths)-1, uint64(s.Step)
	draw := func(tag, q uint64) uint64 { return splitmix(splitmix(splitmix(p.Seed, n), tag), q) }
	// the batch
	x := make([][]int64, p.Batch)
	labels := make([]int, p.Batch)
	for b := range x {
		r, _ := bits.Mul64(draw(0, uint64(b)), uint64(ds.Rows))
		for c := range ds.Cols {
			x[b] = append(x[b], int64(ds.Features[int(r)*ds.Cols+c]))
		}
		labels[b] = int(ds.Labels[r])
	}
	round := func(v int64, sh uint) int64 { return (v + 1<<(sh-1)) >> sh }
	w := make([][][]int64, layers) // int8 weights [l][i][j]
	bias := make([][]int64, layers)
	for l := range layers {
		in, out := p.Widths[l], p.Widths[l+1]
		w[l] = make([][]int64, in)
		for i := range in {
			for j := range out {
				w[l][i] = append(w[l][i], round(int64(s.Weights[l][i*out+j]), 16))
			}
		}
		for j := range out {
			bias[l] = append(bias[l], round(int64(s.Biases[l][j]), 8))
		}
	}
	// forward
	acts := [][][]int64{x}
	var logits []int32
	frac := 7
	for l := range layers {
		in, out := p.Widths[l], p.Widths[l+1]
		wf := 4 + (bits.Len(uint(in))-1)/2
		h := make([][]int64, p.Batch)
		for b := range h {
			for j := range out {
				var acc int64
				for i := range in {
					acc += acts[l][b][i] * w[l][i][j]
				}
				if l == layers-1 {
					logits = append(logits, int32(acc+bias[l][j]))
				} else {
					h[b] = append(h[b], int64(Requant(int32(acc), int32(bias[l][j]), 1, uint8(frac+wf-4), true)))
				}
			}
		}
		acts = append(acts, h)
		frac = 4
	}
	classes := p.Widths[layers]
	labels8 := make([]uint8, len(labels))
	for b, l := range labels {
		labels8[b] = uint8(l)
	}
	lf := 4 + 4 + (bits.Len(uint(p.Widths[layers-1]))-1)/2
	if layers == 1 {
		lf = 7 + 4 + (bits.Len(uint(p.Widths[0]))-1)/2
	}
	d := softmaxError(logits, lf, labels8, classes)
	delta := make([][]int64, p.Batch)
	for b := range delta {
		for j := range classes {
			delta[b] = append(delta[b], int64(d[b*classes+j]))
		}
	}
	dfrac := 15
	for l := layers - 1; l >= 0; l-- {
		in, out := p.Widths[l], p.Widths[l+1]
		// quantize: the least shift that brings the largest magnitude within 127
		var m int64
		for b := range delta {
			for _, v := range delta[b] {
				m = max(m, v, -v)
			}
		}
		sh := 0
		for m > 0 && m>>sh > 127 {
			sh++
		}
		for sh <= 0 && m > 0 && m<<(1-sh) <= 127 {
			sh--
		}
		dq := make([][]int64, p.Batch)
		for b := range dq {
			for j, v := range delta[b] {
				var q int64
				if sh <= 0 {
					q = v << -sh
				} else {
					mask := int64(1)<<sh - 1
					q = v >> sh
					if v&mask > int64(draw(uint64(4*(l+1)), uint64(b*out+j)))&mask {
						q++
					}
					q = min(q, 127)
				}
				dq[b] = append(dq[b], q)
			}
		}
		dfrac -= sh
		inf := 7
		if l > 0 {
			inf = 4
		}
		wf := 4 + (bits.Len(uint(in))-1)/2
		apply := func(master []int32, i int, g int64, k int, limit int64, tag uint64) {
			// master −= g·2^k/batch, stochastically rounded, clamped
			num, den := big.NewInt(g), big.NewInt(int64(p.Batch))
			if k >= 0 {
				num.Lsh(num, uint(k))
			} else {
				den.Lsh(den, uint(-k))
			}
			q, rem := new(big.Int).DivMod(num, den, new(big.Int)) // Euclidean: rem ≥ 0
			// the draw is uniform in [0, den): ⌊r·den/2^64⌋
			r := new(big.Int).Mul(new(big.Int).SetUint64(draw(tag, uint64(i))), den)
			r.Rsh(r, 64)
			if r.Cmp(rem) < 0 {
				q.Add(q, big.NewInt(1))
			}
			v := int64(master[i]) - q.Int64()
			master[i] = int32(max(min(v, limit), -limit))
		}
		for i := range in {
			for j := range out {
				var g int64
				for b := range p.Batch {
					g += acts[l][b][i] * dq[b][j]
				}
				if g != 0 {
					apply(next.Weights[l], i*out+j, g, wf+16-inf-dfrac-int(p.LRShift), 127<<16, uint64(4*(l+1)+1))
				}
			}
		}
		for j := range out {
			var g int64
			for b := range p.Batch {
				g += dq[b][j]
			}
			if g != 0 {
				apply(next.Biases[l], j, g, inf+wf+8-dfrac-int(p.LRShift), 1<<30, uint64(4*(l+1)+2))
			}
		}
		if l == 0 {
			break
		}
		down := make([][]int64, p.Batch)
		for b := range down {
			for i := range in {
				var v int64
				if acts[l][b][i] != 0 {
					for j := range out {
						v += dq[b][j] * w[l][i][j]
					}
				}
				down[b] = append(down[b], v)
			}
		}
		delta = down
		dfrac += wf
	}
	return next
}

func TestTrainStepMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    TrainParams
		ds   *Dataset
	}{
		{"two layers", tinyParams(7), syntheticDataset(3, 40, 12, 3)},
		{"one layer, slow", TrainParams{Widths: []int{20, 4}, Steps: 8, Batch: 3, LRShift: 9, Seed: 2}, syntheticDataset(4, 30, 20, 4)},
		{"three layers, fast", TrainParams{Widths: []int{300, 40, 17, 5}, Steps: 8, Batch: 9, LRShift: 0, Seed: 3}, syntheticDataset(5, 50, 300, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, states := trainStates(t, tc.p, tc.ds, nil)
			for s := 0; s < tc.p.Steps; s += 3 {
				want := referenceStep(tc.p, tc.ds, states[s])
				require.Equal(t, want, states[s+1], "step %d", s)
			}
			// the run moved
			require.NotEqual(t, states[0].Weights, states[tc.p.Steps].Weights)
		})
	}
}

func TestSoftmaxErrorIsNearFloat(t *testing.T) {
	// logits in Q11 (the format of 784-128-10's logits): the error is within 2^−12 of p − y
	logits := []int32{0, 2048, -4096, 100, 30000, -30000, 5, 5, 5, 5}
	labels := []uint8{4}
	got := softmaxError(logits, 11, labels, 10)
	z := make([]float64, 10)
	var sum float64
	for j, v := range logits {
		z[j] = math.Exp(float64(v-30000) / 2048)
		sum += z[j]
	}
	for j := range z {
		want := z[j] / sum
		if j == 4 {
			want--
		}
		require.InDelta(t, want, float64(got[j])/(1<<15), 1.0/(1<<12), "class %d", j)
	}
}

func TestStateEncodeDecode(t *testing.T) {
	p := tinyParams(7)
	_, states := trainStates(t, p, syntheticDataset(3, 40, 12, 3), nil)
	s := states[5]
	b := s.Encode()
	require.Len(t, b, int(StateSize(p.Widths)))
	got, err := DecodeState(p, b)
	require.NoError(t, err)
	require.Equal(t, s, got)

	for _, tc := range []struct {
		name  string
		edit  func(b []byte) []byte
		field string
	}{
		{"size", func(b []byte) []byte { return b[:len(b)-4] }, "size"},
		{"magic", func(b []byte) []byte { b[1] = 'x'; return b }, "magic"},
		{"version", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 9); return b }, "version 9"},
		{"step", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 17); return b }, "step 17: must be in 0..16"},
		{"weight", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16+4*3:], 128<<16); return b }, "weights[0][3] 8388608"},
		{"bias", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[16+4*12*8+4:], 1<<30+1)
			return b
		}, "biases[0][1] 1073741825"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeState(p, tc.edit(append([]byte(nil), b...)))
			require.ErrorContains(t, err, tc.field)
		})
	}
}

func TestResultEncodeDecode(t *testing.T) {
	p := tinyParams(7)
	res, states := trainStates(t, p, syntheticDataset(3, 40, 12, 3), nil)
	require.Equal(t, states[p.Steps].Model(), res.Model)
	b := res.Encode(p)
	require.Len(t, b, int(TrainResultSize(p)))
	require.Equal(t, "OGPUTRAN", string(b[:8]))
	got, err := DecodeResult(p, b)
	require.NoError(t, err)
	require.Equal(t, res, got)

	hashes := trainHeaderSize(p.Widths)
	root := hashes + 32*(p.Steps+1)
	for _, tc := range []struct {
		name  string
		p     func(p TrainParams) TrainParams
		edit  func(b []byte) []byte
		field string
	}{
		{"size", nil, func(b []byte) []byte { return b[:len(b)-1] }, "size"},
		{"magic", nil, func(b []byte) []byte { b[7] = 'X'; return b }, "magic"},
		{"version", nil, func(b []byte) []byte { b[8] = 3; return b }, "version 3"},
		{"steps", nil, func(b []byte) []byte { b[12] = 15; return b }, "steps 15: must be 16"},
		{"layer count", nil, func(b []byte) []byte { b[16] = 3; return b }, "layer count 3: must be 2"},
		{"widths", nil, func(b []byte) []byte { b[24] = 9; return b }, "widths[1] 9: must be 8"},
		{"a hash", nil, func(b []byte) []byte { b[hashes+40] ^= 1; return b }, "root"},
		{"the root", nil, func(b []byte) []byte { b[root] ^= 1; return b }, "root"},
		{"the model", nil, func(b []byte) []byte { b[root+32] = 'X'; return b }, "model: magic"},
		{"other params", func(p TrainParams) TrainParams { p.Steps = 15; return p }, func(b []byte) []byte { return b }, "size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := p
			if tc.p != nil {
				q = tc.p(p)
			}
			_, err := DecodeResult(q, tc.edit(append([]byte(nil), b...)))
			require.ErrorContains(t, err, tc.field)
		})
	}
}

func TestStateModelIsTheTrainingForward(t *testing.T) {
	p := TrainParams{Widths: []int{300, 40, 17, 5}, Steps: 6, Batch: 9, LRShift: 0, Seed: 3}
	ds := syntheticDataset(5, 50, 300, 5)
	_, states := trainStates(t, p, ds, nil)
	s := states[p.Steps]
	m := s.Model()
	require.NoError(t, m.Validate())
	ws, bs := make([][]int8, 3), make([][]int32, 3)
	for l := range ws {
		ws[l], bs[l] = weightsInt8(s.Weights[l]), biasesInt32(s.Biases[l])
	}
	_, logits, err := forwardBatch(gemm.CPU{}, p.Widths, ws, bs, ds.Features, ds.Rows)
	require.NoError(t, err)
	// infer-mlp-int8/v1 over the same rows gives the same logits
	_, got, _, err := Forward(gemm.CPU{}, m, ds.Features, ds.Rows)
	require.NoError(t, err)
	require.Equal(t, logits, got)
	// and so does the model blob, decoded
	decoded, err := DecodeModel(m.Encode())
	require.NoError(t, err)
	_, got, _, err = Forward(gemm.CPU{}, decoded, ds.Features, ds.Rows)
	require.NoError(t, err)
	require.Equal(t, logits, got)
}

// The target of the workload: 784-128-10 on MNIST to at least 95 % test accuracy, integers only.
func TestTrainMNIST(t *testing.T) {
	train, test := loadMNIST(t)
	p := MNISTParams(1)
	start := time.Now()
	res, err := Train(gemm.CPU{}, p, train, nil)
	require.NoError(t, err)
	took := time.Since(start)
	correct, total, err := Accuracy(gemm.CPU{}, res.Model, test)
	require.NoError(t, err)
	t.Logf("integer: %d steps of %d: %d/%d = %.2f%% test accuracy, trained in %v", p.Steps, p.Batch, correct, total, 100*float64(correct)/float64(total), took.Round(time.Millisecond))
	require.GreaterOrEqual(t, correct, total*95/100)
	if testing.Short() {
		return
	}
	start = time.Now()
	fc, ft, err := TrainFloat32(p, train, test)
	require.NoError(t, err)
	t.Logf("float32 reference: %d/%d = %.2f%%, trained in %v", fc, ft, 100*float64(fc)/float64(ft), time.Since(start).Round(time.Millisecond))
}

// BenchmarkTrainStep is the training throughput at 784-128-10, batch 64, on MNIST.
func BenchmarkTrainStep(b *testing.B) {
	train, _ := loadMNIST(b)
	p := MNISTParams(1)
	s := InitState(p)
	b.ResetTimer()
	for b.Loop() {
		if s.Step == p.Steps {
			s = InitState(p)
		}
		if err := TrainStep(gemm.CPU{}, p, train, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

func TestUpdateRoundsStochastically(t *testing.T) {
	// 1/4 per weight: a quarter of the weights move by one
	master, g := make([]int32, 10000), make([]int32, 10000)
	for i := range g {
		g[i] = 1
	}
	update(master, g, 0, 4, masterLimit, 99)
	var moved int
	for _, v := range master {
		require.Contains(t, []int32{0, -1}, v)
		if v == -1 {
			moved++
		}
	}
	require.InDelta(t, 2500, moved, 4*43)
	// −3/2: −1 or −2, half each, so +1 or +2 to the master
	clear(master)
	for i := range g {
		g[i] = -3
	}
	update(master, g, -1, 1, masterLimit, 99)
	var two int
	for _, v := range master {
		require.Contains(t, []int32{1, 2}, v)
		if v == 2 {
			two++
		}
	}
	require.InDelta(t, 5000, two, 4*50)
	// an update past 2^62 saturates; the clamp holds the master within its limit
	m := []int32{5, 5, masterLimit - 1}
	update(m, []int32{1 << 20, -(1 << 20), -7}, 50, 1, masterLimit, 1)
	require.Equal(t, []int32{-masterLimit, masterLimit, masterLimit}, m)
}

// The chain checks a task's dataset and result sizes with x/compute/workload's formulas.
func TestTrainSizesAreTheChains(t *testing.T) {
	for _, widths := range [][]int{{784, 128, 10}, {12, 8, 3}, {300, 40, 17, 5}, {2, 2}} {
		w32 := make([]uint32, len(widths))
		for i, w := range widths {
			w32[i] = uint32(w)
		}
		for _, steps := range []int{1, 16, 2000} {
			p := TrainParams{Widths: widths, Steps: steps, Batch: 4, LRShift: 1, Seed: 1}
			require.Equal(t, workload.MlpTrainResultSize(w32, uint32(steps)), TrainResultSize(p))
		}
		require.Equal(t, workload.MlpDatasetSize(60000, w32[0]), DatasetSize(60000, widths[0]))
	}
	p := tinyParams(1)
	res, _ := trainStates(t, p, syntheticDataset(3, 40, 12, 3), nil)
	require.Len(t, res.Encode(p), int(TrainResultSize(p)))
	require.Len(t, syntheticDataset(3, 40, 12, 3).Encode(), int(workload.MlpDatasetSize(40, 12)))
}
