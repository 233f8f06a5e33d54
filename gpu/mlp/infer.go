package mlp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// resultHeaderSize is the size of a result's header for a model of these widths: magic,
// version, rows, layer count, then the widths.
func resultHeaderSize(widths []int) int { return 20 + 4*len(widths) }

// ResultSize is the exact size of the result of a model with these widths over rows rows: the
// header, every layer's accumulators, the logits and the argmax; 0 if out of bounds.
func ResultSize(widths []int, rows int) uint64 {
	if ValidateWidths(widths) != nil || rows < 1 || rows > MaxRows {
		return 0
	}
	r := uint64(rows)
	size := uint64(resultHeaderSize(widths))
	for _, w := range widths[1:] {
		size += 4 * r * uint64(w)
	}
	return size + 4*r*uint64(widths[len(widths)-1]) + 4*r
}

// resultHeader is the header of the result of a model with these widths over rows rows.
func resultHeader(widths []int, rows int) []byte {
	h := make([]byte, 0, resultHeaderSize(widths))
	h = append(h, resultMagic[:]...)
	h = binary.LittleEndian.AppendUint32(h, Version)
	h = binary.LittleEndian.AppendUint32(h, uint32(rows))
	h = binary.LittleEndian.AppendUint32(h, uint32(len(widths)-1))
	for _, w := range widths {
		h = binary.LittleEndian.AppendUint32(h, uint32(w))
	}
	return h
}

// checkTask checks a model and its inputs, the arguments shared by Infer, Forward and Verify.
func checkTask(m *Model, x []int8, rows int) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if rows < 1 || rows > MaxRows {
		return fmt.Errorf("rows %d: must be in 1..%d", rows, MaxRows)
	}
	if in := m.Layers[0].In; len(x) != rows*in {
		return fmt.Errorf("inputs: %d values, want %d rows × %d", len(x), rows, in)
	}
	return nil
}

// forward runs the model over x layer by layer, handing each layer's accumulators to emit before
// they are requantized into the next layer's inputs, and returns the logits.
func forward(e gemm.Executor, m *Model, x []int8, rows int, emit func(l int, acc []int32) error) ([]int32, error) {
	if err := checkTask(m, x, rows); err != nil {
		return nil, err
	}
	var logits []int32
	for l, ly := range m.Layers {
		acc := make([]int32, rows*ly.Out)
		if err := e.GemmInt8(gemm.Shape{M: rows, N: ly.Out, K: ly.In}, x, ly.W, acc); err != nil {
			return nil, fmt.Errorf("layer %d on %s: %w", l, e.Name(), err)
		}
		if err := emit(l, acc); err != nil {
			return nil, err
		}
		if l < len(m.Layers)-1 {
			x = requantAll(ly, acc)
		} else {
			logits = logitsOf(ly, acc)
		}
	}
	return logits, nil
}

// requantAll is the next layer's inputs from a hidden layer's accumulators.
func requantAll(ly Layer, acc []int32) []int8 {
	rq := newRequantizer(ly)
	x := make([]int8, len(acc))
	for i := 0; i < len(acc); i += ly.Out {
		row, out := acc[i:i+ly.Out], x[i:i+ly.Out]
		for j, b := range ly.Bias {
			out[j] = rq.apply(row[j], b)
		}
	}
	return x
}

// requantizer is Requant for the multiplier and shift of a valid hidden layer (0 < mult < 2^31,
// shift ≤ 62), the same values without Requant's general cases, for the hot loops: the product
// fits int64 even with 2^(shift−1) added, and rounding half away from zero is an arithmetic shift
// of p + 2^(shift−1), less one when p < 0 (unless shift is 0: nothing to round).
type requantizer struct {
	mult, half, lo int64
	neg            int64 // −1 when shift > 0: masks p's sign into the "less one"
	shift          uint
}

func newRequantizer(ly Layer) requantizer {
	rq := requantizer{mult: int64(ly.Mult), shift: uint(ly.Shift), lo: -128}
	if ly.Shift > 0 {
		rq.half, rq.neg = 1<<(ly.Shift-1), -1
	}
	if ly.ReLU {
		rq.lo = 0
	}
	return rq
}

func (rq requantizer) apply(acc, bias int32) int8 {
	p := (int64(acc) + int64(bias)) * rq.mult
	q := (p + rq.half + p>>63&rq.neg) >> (rq.shift & 63)
	return int8(max(min(q, 127), rq.lo))
}

// logitsOf is the last layer's accumulators plus its biases; the bounds keep them within int32.
func logitsOf(ly Layer, acc []int32) []int32 {
	out := make([]int32, len(acc))
	for i := 0; i < len(acc); i += ly.Out {
		row, o := acc[i:i+ly.Out], out[i:i+ly.Out]
		for j, b := range ly.Bias {
			o[j] = row[j] + b
		}
	}
	return out
}

// argmaxOf is the index of each row's largest logit, the lowest on ties.
func argmaxOf(logits []int32, cols int) []uint32 {
	out := make([]uint32, len(logits)/cols)
	for i := range out {
		row := logits[i*cols : (i+1)*cols]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = uint32(best)
	}
	return out
}

// Forward runs the model over x (rows×In of layer 0, row-major) on e and returns every layer's
// accumulators x_l·W_l (before bias), the logits and each row's argmax: the values of a result.
func Forward(e gemm.Executor, m *Model, x []int8, rows int) (accs [][]int32, logits []int32, argmax []uint32, err error) {
	logits, err = forward(e, m, x, rows, func(_ int, acc []int32) error {
		accs = append(accs, acc)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return accs, logits, argmaxOf(logits, m.Layers[len(m.Layers)-1].Out), nil
}

// Infer runs the model over x on e and writes the result (see docs/workloads.md) to w, each
// layer's accumulators as soon as they are computed, so it holds one layer at a time.
func Infer(e gemm.Executor, m *Model, x []int8, rows int, w io.Writer) error {
	if err := checkTask(m, x, rows); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(resultHeader(m.Widths(), rows)); err != nil {
		return err
	}
	logits, err := forward(e, m, x, rows, func(_ int, acc []int32) error { return writeInt32s(bw, acc) })
	if err != nil {
		return err
	}
	if err := writeInt32s(bw, logits); err != nil {
		return err
	}
	argmax := argmaxOf(logits, m.Layers[len(m.Layers)-1].Out)
	buf := make([]byte, 4*len(argmax))
	for i, a := range argmax {
		binary.LittleEndian.PutUint32(buf[4*i:], a)
	}
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// writeInt32s writes v as little-endian int32, 64 KiB at a time.
func writeInt32s(w io.Writer, v []int32) error {
	buf := make([]byte, 0, 1<<16)
	for len(v) > 0 {
		n := min(len(v), cap(buf)/4)
		buf = buf[:4*n]
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(x))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}
