package mlp

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// Training (train-mlp-int8/v1) is integer arithmetic only, so every honest provider and every
// verifier reaches the same bytes. A step reads the State (master weights and biases, int32
// fixed point) and the dataset, and writes the next State:
//
//  1. The batch is Batch rows drawn with replacement from SplitMix64 seeded from (Seed, step).
//  2. Forward: each layer's int8 weights are its master weights rounded to 16 fewer fraction
//     bits; acc = x·W on the executor (int8×int8→int32); hidden layers pass on
//     Requant(acc, bias, 1, shift, true), exactly as infer-mlp-int8/v1 does, and the last layer
//     gives the int32 logits acc + bias.
//  3. Output error: an integer softmax of the logits (2^x from a fixed polynomial) minus the
//     one-hot label, in Q15: the gradient of the cross-entropy with respect to the logits.
//  4. Backward, layer by layer from the last: the error is quantized to int8 with a per-tensor
//     shift from its largest magnitude and stochastic rounding; dW = xᵀ·δ on the executor;
//     the error passed down is δ·Wᵀ on the executor, zero where the layer's input was zero
//     (the ReLU was off).
//  5. Update: master −= dW·2^−LRShift / Batch in master units, stochastically rounded, then
//     clamped to the int8 range; biases likewise.
//
// Every random draw is SplitMix64 keyed by (Seed, step, tensor), so a step can be re-executed
// alone from its State: that is what the committee does (train_verify.go).

// Fixed-point formats: a value v with f fraction bits stands for v/2^f.
const (
	// inputFrac: a feature x stands for x/128 (MNIST pixels as pixel/2, in [0, 1)).
	inputFrac = 7
	// hiddenFrac: a hidden activation h stands for h/16, so the int8 range covers [0, 8).
	hiddenFrac = 4
	// masterExtra: master weights carry 16 more fraction bits than the int8 weights, so small
	// updates accumulate instead of vanishing.
	masterExtra = 16
	// biasExtra: master biases carry 8 more fraction bits than the accumulators they are added to.
	biasExtra = 8
	// errFrac: output errors p − y are Q15.
	errFrac = 15
	// masterLimit bounds a master weight to the int8 range [−127, 127] of its rounded weight.
	masterLimit = 127 << masterExtra
	// biasLimit bounds a master bias, so the bias it rounds to stays far within MaxBias.
	biasLimit = 1 << 30
)

// weightFrac is the fraction bits of a layer's int8 weights: more for a wider fan-in, whose
// weights are smaller (He initialisation: a spread of √(2/fanIn)). 784 → 8, 128 → 7.
func weightFrac(fanIn int) int { return 4 + (bits.Len(uint(fanIn))-1)/2 }

// inFrac is the fraction bits of layer l's inputs.
func inFrac(l int) int {
	if l == 0 {
		return inputFrac
	}
	return hiddenFrac
}

// accFrac is the fraction bits of layer l's accumulators (and of its biases).
func accFrac(widths []int, l int) int { return inFrac(l) + weightFrac(widths[l]) }

// Bounds of a training run, the chain's (x/compute/workload).
const (
	// MaxSteps bounds the steps: the result holds one hash per step.
	MaxSteps = workload.MlpMaxSteps
	// MaxBatch bounds the rows of a step.
	MaxBatch = workload.MlpMaxBatch
	// MaxLRShift bounds the learning-rate shift.
	MaxLRShift = workload.MlpMaxLRShift
	// MaxTrainWeights bounds the weights of a trained model, so a State stays small to fetch.
	MaxTrainWeights = workload.MlpMaxTrainWeights
	// MaxClasses bounds the classes: labels are one byte.
	MaxClasses = workload.MlpMaxClasses
)

// TrainParams are the parameters of a train-mlp-int8/v1 run.
type TrainParams struct {
	Widths  []int  // the input width (the dataset's columns), then each layer's output; the last is the classes
	Steps   int    // SGD steps
	Batch   int    // rows per step
	LRShift uint8  // the learning rate is 2^−LRShift
	Seed    uint64 // initial weights and every random draw
}

// Validate checks the parameters against the bounds, naming the field and its range.
func (p TrainParams) Validate() error {
	if err := ValidateWidths(p.Widths); err != nil {
		return err
	}
	last := len(p.Widths) - 1
	if c := p.Widths[last]; c < 2 || c > MaxClasses {
		return fmt.Errorf("widths[%d] %d: the classes must be in 2..%d", last, c, MaxClasses)
	}
	var weights int
	for l := 0; l < last; l++ {
		weights += p.Widths[l] * p.Widths[l+1]
	}
	if weights > MaxTrainWeights {
		return fmt.Errorf("widths: %d weights, must be at most %d for training", weights, MaxTrainWeights)
	}
	if p.Steps < 1 || p.Steps > MaxSteps {
		return fmt.Errorf("steps %d: must be in 1..%d", p.Steps, MaxSteps)
	}
	if p.Batch < 1 || p.Batch > MaxBatch {
		return fmt.Errorf("batch %d: must be in 1..%d", p.Batch, MaxBatch)
	}
	if p.LRShift > MaxLRShift {
		return fmt.Errorf("lr_shift %d: must be in 0..%d", p.LRShift, MaxLRShift)
	}
	return nil
}

// MNISTParams are the parameters that train 784-128-10 on MNIST to over 95 % test accuracy.
func MNISTParams(seed uint64) TrainParams {
	return TrainParams{Widths: []int{784, 128, 10}, Steps: 2000, Batch: 64, LRShift: 1, Seed: seed}
}

// State is everything a training step reads and writes besides the dataset.
type State struct {
	// Step is the number of steps taken.
	Step int
	// Weights[l] is layer l's master weights, In×Out row-major, with weightFrac+16 fraction
	// bits, each within ±127·2^16.
	Weights [][]int32
	// Biases[l] is layer l's master biases, with 8 more fraction bits than its accumulators,
	// each within ±2^30.
	Biases [][]int32
}

// Random streams: every draw of a step is SplitMix64 output q of the stream (Seed, step, tag).
const (
	tagBatch = 0
	// layer l's tags are tagLayer·(l+1) + kind
	tagLayer   = 4
	kindError  = 0
	kindWeight = 1
	kindBias   = 2
	// initStep keys the initial weights' stream; no step reaches it.
	initStep = ^uint64(0)
)

func stream(seed, step, tag uint64) uint64 { return splitmix(splitmix(seed, step), tag) }

func layerTag(l, kind int) uint64 { return uint64(tagLayer*(l+1) + kind) }

// InitState is the state before the first step: master weights uniform in ±√(6/fanIn) (He),
// drawn from the seed; biases zero.
func InitState(p TrainParams) *State {
	s := &State{}
	for l := 0; l+1 < len(p.Widths); l++ {
		in, out := p.Widths[l], p.Widths[l+1]
		// the limit in master units: √(6/in)·2^(weightFrac+16)
		f := uint(weightFrac(in) + masterExtra)
		lim := min(sqrtU64((6<<(2*f))/uint64(in)), masterLimit)
		rs := stream(p.Seed, initStep, layerTag(l, kindWeight))
		w := make([]int32, in*out)
		for i := range w {
			hi, _ := bits.Mul64(splitmix(rs, uint64(i)), 2*lim+1)
			w[i] = int32(int64(hi) - int64(lim))
		}
		s.Weights = append(s.Weights, w)
		s.Biases = append(s.Biases, make([]int32, out))
	}
	return s
}

// sqrtU64 is ⌊√n⌋.
func sqrtU64(n uint64) uint64 {
	if n < 2 {
		return n
	}
	x := uint64(1) << ((bits.Len64(n) + 1) / 2) // ≥ √n
	for {
		y := (x + n/x) / 2
		if y >= x {
			return x
		}
		x = y
	}
}

// stateMagic starts every encoded State.
var stateMagic = [8]byte{'O', 'G', 'P', 'U', 'S', 'T', 'A', 'T'}

const stateHeaderSize = 16 // magic, version, step

// StateSize is the exact size of an encoded State for these widths.
func StateSize(widths []int) uint64 {
	size := uint64(stateHeaderSize)
	for l := 0; l+1 < len(widths); l++ {
		size += 4 * uint64(widths[l]+1) * uint64(widths[l+1])
	}
	return size
}

// Encode is the State's bytes: magic "OGPUSTAT", version, step (uint32), then for each layer its
// master weights and master biases, little-endian int32.
func (s *State) Encode() []byte {
	size := stateHeaderSize
	for l := range s.Weights {
		size += 4 * (len(s.Weights[l]) + len(s.Biases[l]))
	}
	out := make([]byte, 0, size)
	out = append(out, stateMagic[:]...)
	out = binary.LittleEndian.AppendUint32(out, Version)
	out = binary.LittleEndian.AppendUint32(out, uint32(s.Step))
	for l := range s.Weights {
		for _, v := range s.Weights[l] {
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		}
		for _, v := range s.Biases[l] {
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		}
	}
	return out
}

// Hash is the sha256 of the State's bytes.
func (s *State) Hash() [32]byte { return sha256.Sum256(s.Encode()) }

// Clone is a deep copy of the State.
func (s *State) Clone() *State {
	c := &State{Step: s.Step}
	for l := range s.Weights {
		c.Weights = append(c.Weights, append([]int32(nil), s.Weights[l]...))
		c.Biases = append(c.Biases, append([]int32(nil), s.Biases[l]...))
	}
	return c
}

// DecodeState reads a State of a run with these parameters, strictly: the magic, version, a step
// in 0..Steps, the exact size, and every master weight and bias within its bound.
func DecodeState(p TrainParams, b []byte) (*State, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if want := StateSize(p.Widths); uint64(len(b)) != want {
		return nil, fmt.Errorf("state: size %d bytes: widths %v need %d", len(b), p.Widths, want)
	}
	if [8]byte(b[:8]) != stateMagic {
		return nil, errors.New("state: magic: not an OGPUSTAT blob")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("state: version %d: must be %d", v, Version)
	}
	step := binary.LittleEndian.Uint32(b[12:])
	if uint64(step) > uint64(p.Steps) {
		return nil, fmt.Errorf("state: step %d: must be in 0..%d", step, p.Steps)
	}
	s := &State{Step: int(step)}
	off := stateHeaderSize
	for l := 0; l+1 < len(p.Widths); l++ {
		in, out := p.Widths[l], p.Widths[l+1]
		w := make([]int32, in*out)
		for i := range w {
			w[i] = int32(binary.LittleEndian.Uint32(b[off+4*i:]))
			if w[i] < -masterLimit || w[i] > masterLimit {
				return nil, fmt.Errorf("state: weights[%d][%d] %d: must be in ±%d", l, i, w[i], masterLimit)
			}
		}
		off += 4 * len(w)
		bias := make([]int32, out)
		for j := range bias {
			bias[j] = int32(binary.LittleEndian.Uint32(b[off+4*j:]))
			if bias[j] < -biasLimit || bias[j] > biasLimit {
				return nil, fmt.Errorf("state: biases[%d][%d] %d: must be in ±%d", l, j, bias[j], biasLimit)
			}
		}
		off += 4 * len(bias)
		s.Weights, s.Biases = append(s.Weights, w), append(s.Biases, bias)
	}
	return s, nil
}

// checkShape checks that the State has the parameters' layers.
func (s *State) checkShape(p TrainParams) error {
	if len(s.Weights) != len(p.Widths)-1 || len(s.Biases) != len(p.Widths)-1 {
		return fmt.Errorf("state: %d layers, want %d", len(s.Weights), len(p.Widths)-1)
	}
	for l := range s.Weights {
		in, out := p.Widths[l], p.Widths[l+1]
		if len(s.Weights[l]) != in*out || len(s.Biases[l]) != out {
			return fmt.Errorf("state: layer %d has %d weights and %d biases, want %d×%d and %d", l, len(s.Weights[l]), len(s.Biases[l]), in, out, out)
		}
	}
	return nil
}

// weightsInt8 is a layer's int8 weights: its master weights rounded (half up) to 16 fewer bits.
func weightsInt8(master []int32) []int8 {
	w := make([]int8, len(master))
	for i, v := range master {
		w[i] = int8((v + 1<<(masterExtra-1)) >> masterExtra)
	}
	return w
}

// biasesInt32 is a layer's biases in accumulator units: its master biases rounded to 8 fewer bits.
func biasesInt32(master []int32) []int32 {
	b := make([]int32, len(master))
	for j, v := range master {
		b[j] = (v + 1<<(biasExtra-1)) >> biasExtra
	}
	return b
}

// Model is the int8 inference model of the State: with infer-mlp-int8/v1 it computes exactly the
// training forward pass (hidden layers requantize with Mult 1 and Shift accFrac − hiddenFrac).
func (s *State) Model() *Model {
	m := &Model{Layers: make([]Layer, len(s.Weights))}
	widths := make([]int, 0, len(s.Weights)+1)
	for l := range s.Weights {
		widths = append(widths, len(s.Weights[l])/len(s.Biases[l]))
	}
	widths = append(widths, len(s.Biases[len(s.Biases)-1]))
	for l := range m.Layers {
		ly := Layer{In: widths[l], Out: widths[l+1], W: weightsInt8(s.Weights[l]), Bias: biasesInt32(s.Biases[l])}
		if l < len(m.Layers)-1 {
			ly.Mult, ly.Shift, ly.ReLU = 1, uint8(accFrac(widths, l)-hiddenFrac), true
		}
		m.Layers[l] = ly
	}
	return m
}

// batchRows is the dataset rows of step step: Batch draws with replacement.
func batchRows(p TrainParams, rows, step int) []int {
	rs := stream(p.Seed, uint64(step), tagBatch)
	idx := make([]int, p.Batch)
	for b := range idx {
		hi, _ := bits.Mul64(splitmix(rs, uint64(b)), uint64(rows))
		idx[b] = int(hi)
	}
	return idx
}

// checkDataset checks that the dataset fits the parameters.
func checkDataset(p TrainParams, ds *Dataset) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	if ds.Cols != p.Widths[0] {
		return fmt.Errorf("dataset: cols %d: must be widths[0] %d", ds.Cols, p.Widths[0])
	}
	if last := len(p.Widths) - 1; ds.Classes != p.Widths[last] {
		return fmt.Errorf("dataset: classes %d: must be widths[%d] %d", ds.Classes, last, p.Widths[last])
	}
	return nil
}

// TrainStep advances s by one step, in place.
func TrainStep(e gemm.Executor, p TrainParams, ds *Dataset, s *State) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := checkDataset(p, ds); err != nil {
		return err
	}
	if err := s.checkShape(p); err != nil {
		return err
	}
	if s.Step < 0 || s.Step >= p.Steps {
		return fmt.Errorf("state: step %d: must be in 0..%d to take a step", s.Step, p.Steps-1)
	}
	return step(e, p, ds, s)
}

func step(e gemm.Executor, p TrainParams, ds *Dataset, s *State) error {
	n, layers, batch := uint64(s.Step), len(s.Weights), p.Batch
	idx := batchRows(p, ds.Rows, s.Step)

	// forward
	x := make([]int8, 0, batch*ds.Cols)
	labels := make([]uint8, batch)
	for b, r := range idx {
		x = append(x, ds.Features[r*ds.Cols:(r+1)*ds.Cols]...)
		labels[b] = ds.Labels[r]
	}
	ws := make([][]int8, layers)
	biases := make([][]int32, layers)
	for l := range layers {
		ws[l], biases[l] = weightsInt8(s.Weights[l]), biasesInt32(s.Biases[l])
	}
	acts, logits, err := forwardBatch(e, p.Widths, ws, biases, x, batch)
	if err != nil {
		return fmt.Errorf("step %d: %w", n, err)
	}

	// backward
	classes := p.Widths[layers]
	delta := softmaxError(logits, accFrac(p.Widths, layers-1), labels, classes)
	frac := errFrac
	for l := layers - 1; l >= 0; l-- {
		in, out := p.Widths[l], p.Widths[l+1]
		dq, shift := quantizeError(delta, stream(p.Seed, n, layerTag(l, kindError)))
		frac -= shift // dq has frac fraction bits

		// gradients
		dw := make([]int32, in*out)
		if err := e.GemmInt8(gemm.Shape{M: in, N: out, K: batch}, transpose(acts[l], batch, in), dq, dw); err != nil {
			return fmt.Errorf("step %d: layer %d weight gradient on %s: %w", n, l, e.Name(), err)
		}
		db := make([]int32, out)
		for i, d := range dq {
			db[i%out] += int32(d)
		}
		// the error passed down, with the weights of the forward pass
		if l > 0 {
			down := make([]int32, batch*in)
			if err := e.GemmInt8(gemm.Shape{M: batch, N: in, K: out}, dq, transpose(ws[l], in, out), down); err != nil {
				return fmt.Errorf("step %d: layer %d error on %s: %w", n, l, e.Name(), err)
			}
			for i, a := range acts[l] {
				if a == 0 {
					down[i] = 0
				}
			}
			delta = down
		}

		// update: master −= grad · 2^−LRShift / batch, in master units
		wShift := weightFrac(in) + masterExtra - inFrac(l) - frac - int(p.LRShift)
		update(s.Weights[l], dw, wShift, int64(batch), masterLimit, stream(p.Seed, n, layerTag(l, kindWeight)))
		bShift := accFrac(p.Widths, l) + biasExtra - frac - int(p.LRShift)
		update(s.Biases[l], db, bShift, int64(batch), biasLimit, stream(p.Seed, n, layerTag(l, kindBias)))
		if l > 0 {
			frac += weightFrac(in)
		}
	}
	s.Step++
	return nil
}

// forwardBatch is the training forward pass over x (rows×widths[0]): every layer's inputs
// (acts[0] is x) and the logits. Hidden layers requantize as infer-mlp-int8/v1 does with Mult 1
// and Shift accFrac − hiddenFrac, so State.Model computes the same logits.
func forwardBatch(e gemm.Executor, widths []int, ws [][]int8, biases [][]int32, x []int8, rows int) (acts [][]int8, logits []int32, err error) {
	layers := len(ws)
	acts = make([][]int8, layers)
	acts[0] = x
	for l := range layers {
		in, out, bias := widths[l], widths[l+1], biases[l]
		acc := make([]int32, rows*out)
		if err := e.GemmInt8(gemm.Shape{M: rows, N: out, K: in}, acts[l], ws[l], acc); err != nil {
			return nil, nil, fmt.Errorf("layer %d forward on %s: %w", l, e.Name(), err)
		}
		if l == layers-1 {
			for i := range acc {
				acc[i] += bias[i%out]
			}
			return acts, acc, nil
		}
		shift := uint8(accFrac(widths, l) - hiddenFrac)
		next := make([]int8, len(acc))
		for i, a := range acc {
			next[i] = Requant(a, bias[i%out], 1, shift, true)
		}
		acts[l+1] = next
	}
	return nil, nil, errors.New("no layers")
}

// transpose is the cols×rows transpose of a rows×cols matrix.
func transpose(a []int8, rows, cols int) []int8 {
	t := make([]int8, len(a))
	for i := range rows {
		for j, v := range a[i*cols : (i+1)*cols] {
			t[j*rows+i] = v
		}
	}
	return t
}

// exp2Poly is 2^f for f in [0, 1): Taylor coefficients (ln 2)^k/k! in Q30, accurate to 2·10⁻⁵.
var exp2Poly = [...]int64{165394, 1431680, 10327387, 59597083, 257941248, 744261118, 1073741824}

// exp2Q30 is 2^(u/2^16) in Q30 for u ≤ 0 (Q16).
func exp2Q30(u int64) int64 {
	ip, f := u>>16, u&0xFFFF // u = ip + f/2^16, ip ≤ 0, f in [0, 2^16)
	if ip <= -31 {
		return 0
	}
	r := exp2Poly[0]
	for _, c := range exp2Poly[1:] {
		r = (r*f)>>16 + c
	}
	return r >> -ip
}

// log2eQ16 is log2(e) in Q16.
const log2eQ16 = 94548

// softmaxError is, for each row of logits (frac fraction bits), softmax(logits) − onehot(label)
// in Q15: the gradient of the cross-entropy loss with respect to the logits.
func softmaxError(logits []int32, frac int, labels []uint8, classes int) []int32 {
	out := make([]int32, len(logits))
	e := make([]int64, classes)
	for b := range labels {
		row := logits[b*classes : (b+1)*classes]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum int64
		for j, v := range row {
			d := int64(v) - int64(m) // ≤ 0, with frac fraction bits
			if frac > 16 {
				d >>= frac - 16
			} else {
				d <<= 16 - frac
			}
			if d < -(64 << 16) { // e^−64 is 0 in Q30
				e[j] = 0
				continue
			}
			e[j] = exp2Q30(d * log2eQ16 >> 16)
			sum += e[j]
		}
		// the largest logit gives 2^30, so sum > 0
		for j := range row {
			out[b*classes+j] = int32((e[j]<<errFrac + sum/2) / sum)
		}
		out[b*classes+int(labels[b])] -= 1 << errFrac
	}
	return out
}

// quantizeError is v as int8 times 2^shift: shift from the largest magnitude (negative when it
// is below 64, so small errors keep their precision), stochastic rounding from the stream rs.
func quantizeError(v []int32, rs uint64) ([]int8, int) {
	var m uint32
	for _, x := range v {
		if x < 0 {
			m = max(m, uint32(-int64(x)))
		} else {
			m = max(m, uint32(x))
		}
	}
	q := make([]int8, len(v))
	if m == 0 {
		return q, 0
	}
	shift := bits.Len32(m) - 7 // m < 2^(7+shift)
	if shift <= 0 {
		for i, x := range v {
			q[i] = int8(x << -shift)
		}
		return q, shift
	}
	mask := int64(1)<<shift - 1
	for i, x := range v {
		r := int64(x) >> shift
		if int64(x)&mask > int64(splitmix(rs, uint64(i)))&mask {
			r++
		}
		q[i] = int8(min(r, 127))
	}
	return q, shift
}

// update subtracts g·2^shift/den from master, each stochastically rounded from the stream rs,
// and clamps to ±limit. An update of 2^62 or more saturates the master value at once.
func update(master, g []int32, shift int, den int64, limit int32, rs uint64) {
	if shift < -40 { // keeps den·2^−shift within int64; the bits dropped are below any update
		for i := range g {
			g[i] >>= min(-40-shift, 31)
		}
		shift = -40
	}
	if shift < 0 {
		den <<= -shift
		shift = 0
	}
	for i, v := range g {
		if v == 0 {
			continue
		}
		if bits.Len64(uint64(max(int64(v), -int64(v))))+shift > 62 {
			// beyond any master value: the clamp below decides
			master[i] = -limit
			if v < 0 {
				master[i] = limit
			}
			continue
		}
		num := int64(v) << shift
		q := num / den
		if num%den < 0 {
			q-- // floor
		}
		rem := num - q*den // in [0, den)
		if hi, _ := bits.Mul64(splitmix(rs, uint64(i)), uint64(den)); int64(hi) < rem {
			q++
		}
		w := int64(master[i]) - q
		master[i] = int32(max(min(w, int64(limit)), -int64(limit)))
	}
}

// Result is what a train-mlp-int8/v1 provider returns: the hash of every State, from before the
// first step to after the last, and the trained model.
type Result struct {
	Model       *Model
	StateHashes [][32]byte // H_0..H_Steps
}

// Root is the sha256 over the State hashes in order.
func (r *Result) Root() [32]byte {
	h := sha256.New()
	for _, sh := range r.StateHashes {
		h.Write(sh[:])
	}
	return [32]byte(h.Sum(nil))
}

// Train runs every step from InitState and returns the result. keep is called with every State,
// 0..Steps, before the next step changes it (a provider stores them to serve the committee); it
// must copy what it keeps.
func Train(e gemm.Executor, p TrainParams, ds *Dataset, keep func(step int, s *State) error) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := checkDataset(p, ds); err != nil {
		return nil, err
	}
	s := InitState(p)
	res := &Result{StateHashes: make([][32]byte, 0, p.Steps+1)}
	for {
		res.StateHashes = append(res.StateHashes, s.Hash())
		if keep != nil {
			if err := keep(s.Step, s); err != nil {
				return nil, fmt.Errorf("keep state %d: %w", s.Step, err)
			}
		}
		if s.Step == p.Steps {
			break
		}
		if err := step(e, p, ds, s); err != nil {
			return nil, err
		}
	}
	res.Model = s.Model()
	return res, nil
}

// trainMagic starts every train-mlp-int8/v1 result.
var trainMagic = [8]byte{'O', 'G', 'P', 'U', 'T', 'R', 'A', 'N'}

// trainHeaderSize is the result's header for these widths: magic, version, steps, layer count,
// then the widths.
func trainHeaderSize(widths []int) int { return 20 + 4*len(widths) }

// TrainResultSize is the exact size of a result of a run with these parameters: the header, the
// Steps+1 State hashes, their root and the model blob.
func TrainResultSize(p TrainParams) uint64 {
	return uint64(trainHeaderSize(p.Widths)) + 32*uint64(p.Steps+1) + 32 + ModelSize(p.Widths)
}

// Encode is the result's bytes: magic "OGPUTRAN", version, steps, layer count, widths (uint32
// each), H_0..H_Steps, the root, then the model blob.
func (r *Result) Encode(p TrainParams) []byte {
	out := make([]byte, 0, TrainResultSize(p))
	out = append(out, trainMagic[:]...)
	out = binary.LittleEndian.AppendUint32(out, Version)
	out = binary.LittleEndian.AppendUint32(out, uint32(p.Steps))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(p.Widths)-1))
	for _, w := range p.Widths {
		out = binary.LittleEndian.AppendUint32(out, uint32(w))
	}
	for _, h := range r.StateHashes {
		out = append(out, h[:]...)
	}
	root := r.Root()
	out = append(out, root[:]...)
	return append(out, r.Model.Encode()...)
}

// DecodeResult reads the result of a run with these parameters, strictly: the header must
// repeat the parameters, the root must be the hashes' root, and the model must decode with the
// parameters' widths.
func DecodeResult(p TrainParams, b []byte) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("train result: %w", err)
	}
	if want := TrainResultSize(p); uint64(len(b)) != want {
		return nil, fmt.Errorf("train result: size %d bytes: want %d for %d steps of widths %v", len(b), want, p.Steps, p.Widths)
	}
	if [8]byte(b[:8]) != trainMagic {
		return nil, errors.New("train result: magic: not an OGPUTRAN blob")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("train result: version %d: must be %d", v, Version)
	}
	if v := binary.LittleEndian.Uint32(b[12:]); uint64(v) != uint64(p.Steps) {
		return nil, fmt.Errorf("train result: steps %d: must be %d", v, p.Steps)
	}
	if v := binary.LittleEndian.Uint32(b[16:]); uint64(v) != uint64(len(p.Widths)-1) {
		return nil, fmt.Errorf("train result: layer count %d: must be %d", v, len(p.Widths)-1)
	}
	for i, w := range p.Widths {
		if v := binary.LittleEndian.Uint32(b[20+4*i:]); uint64(v) != uint64(w) {
			return nil, fmt.Errorf("train result: widths[%d] %d: must be %d", i, v, w)
		}
	}
	off := trainHeaderSize(p.Widths)
	r := &Result{StateHashes: make([][32]byte, p.Steps+1)}
	for i := range r.StateHashes {
		r.StateHashes[i] = [32]byte(b[off : off+32])
		off += 32
	}
	if root := r.Root(); [32]byte(b[off:off+32]) != root {
		return nil, fmt.Errorf("train result: root %x: the hashes' root is %x", b[off:off+32], root)
	}
	off += 32
	m, err := DecodeModel(b[off:])
	if err != nil {
		return nil, fmt.Errorf("train result: %w", err)
	}
	r.Model = m
	return r, nil
}

// Accuracy runs the model over the dataset with infer-mlp-int8/v1's Forward and counts the rows
// whose argmax is their label.
func Accuracy(e gemm.Executor, m *Model, ds *Dataset) (correct, total int, err error) {
	if err := ds.Validate(); err != nil {
		return 0, 0, err
	}
	const chunk = 4096
	for r0 := 0; r0 < ds.Rows; r0 += chunk {
		r1 := min(ds.Rows, r0+chunk)
		_, _, argmax, err := Forward(e, m, ds.Features[r0*ds.Cols:r1*ds.Cols], r1-r0)
		if err != nil {
			return 0, 0, fmt.Errorf("rows %d..%d: %w", r0, r1, err)
		}
		for i, a := range argmax {
			if a == uint32(ds.Labels[r0+i]) {
				correct++
			}
		}
	}
	return correct, ds.Rows, nil
}
