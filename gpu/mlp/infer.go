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
	x := make([]int8, len(acc))
	for i, a := range acc {
		x[i] = Requant(a, ly.Bias[i%ly.Out], ly.Mult, ly.Shift, ly.ReLU)
	}
	return x
}

// logitsOf is the last layer's accumulators plus its biases; the bounds keep them within int32.
func logitsOf(ly Layer, acc []int32) []int32 {
	out := make([]int32, len(acc))
	for i, a := range acc {
		out[i] = a + ly.Bias[i%ly.Out]
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
	var buf [4]byte
	for _, a := range argmax {
		binary.LittleEndian.PutUint32(buf[:], a)
		if _, err := bw.Write(buf[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeInt32s writes v as little-endian int32.
func writeInt32s(w *bufio.Writer, v []int32) error {
	var buf [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(buf[:], uint32(x))
		if _, err := w.Write(buf[:]); err != nil {
			return err
		}
	}
	return nil
}
