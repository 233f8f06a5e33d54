package mlp_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// reference is the definition of the forward pass, one output element at a time.
func reference(m *mlp.Model, x []int8, rows int) (accs [][]int32, logits []int32, argmax []uint32) {
	for l, ly := range m.Layers {
		acc := make([]int32, rows*ly.Out)
		next := make([]int8, rows*ly.Out)
		for i := 0; i < rows; i++ {
			for j := 0; j < ly.Out; j++ {
				var sum int32
				for p := 0; p < ly.In; p++ {
					sum += int32(x[i*ly.In+p]) * int32(ly.W[p*ly.Out+j])
				}
				acc[i*ly.Out+j] = sum
				next[i*ly.Out+j] = mlp.Requant(sum, ly.Bias[j], ly.Mult, ly.Shift, ly.ReLU)
			}
		}
		accs = append(accs, acc)
		if l == len(m.Layers)-1 {
			for i := 0; i < rows; i++ {
				best := 0
				for j := 0; j < ly.Out; j++ {
					logits = append(logits, acc[i*ly.Out+j]+ly.Bias[j])
					if logits[i*ly.Out+j] > logits[i*ly.Out+best] {
						best = j
					}
				}
				argmax = append(argmax, uint32(best))
			}
		}
		x = next
	}
	return accs, logits, argmax
}

// encodeResult is the result layout written out from values, for comparison with Infer.
func encodeResult(widths []int, rows int, accs [][]int32, logits []int32, argmax []uint32) []byte {
	var b []byte
	b = append(b, "OGPUINFR"...)
	for _, v := range []int{1, rows, len(widths) - 1} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, w := range widths {
		b = binary.LittleEndian.AppendUint32(b, uint32(w))
	}
	for _, acc := range append(accs, logits) {
		for _, v := range acc {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	}
	for _, v := range argmax {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func TestForwardEqualsReference(t *testing.T) {
	for _, tc := range []struct {
		widths []int
		rows   int
	}{
		{[]int{1, 1}, 1},
		{[]int{5, 3}, 4},
		{[]int{7, 13, 3}, 9},
		{[]int{64, 48, 32, 10}, 17},
		{[]int{300, 17, 40, 5, 2}, 33},
	} {
		m := mlp.RandomModel(uint64(tc.rows), tc.widths)
		x := gemm.Generate(uint64(100+tc.rows), tc.rows, tc.widths[0])
		wantAccs, wantLogits, wantArgmax := reference(m, x, tc.rows)
		for _, e := range []gemm.Executor{gemm.CPU{}, gemm.CPU{Workers: 1}} {
			accs, logits, argmax, err := mlp.Forward(e, m, x, tc.rows)
			require.NoError(t, err)
			require.Equal(t, wantAccs, accs, "%v", tc.widths)
			require.Equal(t, wantLogits, logits, "%v", tc.widths)
			require.Equal(t, wantArgmax, argmax, "%v", tc.widths)

			var out bytes.Buffer
			require.NoError(t, mlp.Infer(e, m, x, tc.rows, &out))
			require.Equal(t, encodeResult(tc.widths, tc.rows, wantAccs, wantLogits, wantArgmax), out.Bytes())
			require.Len(t, out.Bytes(), int(mlp.ResultSize(tc.widths, tc.rows)))
		}
	}
}

func TestArgmaxTakesTheLowestIndexOnTies(t *testing.T) {
	m := &mlp.Model{Layers: []mlp.Layer{{In: 2, Out: 4, W: make([]int8, 8), Bias: []int32{5, 7, 7, -1}}}}
	_, logits, argmax, err := mlp.Forward(gemm.CPU{}, m, []int8{3, -4, 1, 2}, 2)
	require.NoError(t, err)
	require.Equal(t, []int32{5, 7, 7, -1, 5, 7, 7, -1}, logits)
	require.Equal(t, []uint32{1, 1}, argmax)
}

func TestForwardRefusesBadArguments(t *testing.T) {
	m := mlp.RandomModel(1, []int{4, 3})
	_, _, _, err := mlp.Forward(gemm.CPU{}, m, make([]int8, 7), 2)
	require.EqualError(t, err, "inputs: 7 values, want 2 rows × 4")
	require.EqualError(t, mlp.Infer(gemm.CPU{}, m, nil, 0, &bytes.Buffer{}), "rows 0: must be in 1..1048576")
	m.Layers[0].ReLU = true
	_, _, _, err = mlp.Forward(gemm.CPU{}, m, make([]int8, 8), 2)
	require.EqualError(t, err, "model: layers[0].relu: must be false in the last layer")
	require.Equal(t, uint64(0), mlp.ResultSize([]int{4, 3}, mlp.MaxRows+1))
}

// TestResultIsFixed pins the result bytes of a small seeded model: the layout and the arithmetic
// of infer-mlp-int8/v1 never change.
func TestResultIsFixed(t *testing.T) {
	widths, rows := []int{64, 48, 32, 10}, 16
	var out bytes.Buffer
	require.NoError(t, mlp.Infer(gemm.CPU{}, mlp.RandomModel(1, widths), gemm.Generate(2, rows, widths[0]), rows, &out))
	sum := sha256.Sum256(out.Bytes())
	require.Equal(t, "f516589370c5e4f0d3cf0bbf7b362c9d0082db444a672bea2897e4a0d957041c", hex.EncodeToString(sum[:]))
}

// TestSizesAreTheChains checks the sizes against the ones the chain checks a task's inputs and
// result with.
func TestSizesAreTheChains(t *testing.T) {
	for _, widths := range [][]int{{1, 1}, {784, 128, 10}, {2048, 2048, 2048, 10}} {
		w32 := make([]uint32, len(widths))
		for i, w := range widths {
			w32[i] = uint32(w)
		}
		require.Equal(t, workload.MlpModelSize(w32), mlp.ModelSize(widths))
		for _, rows := range []int{1, 1000, 16385} {
			require.Equal(t, workload.MlpInferResultSize(w32, uint32(rows)), mlp.ResultSize(widths, rows))
			require.Equal(t, workload.MlpRowsSize(uint32(rows), w32[0]), mlp.RowsSize(rows, widths[0]))
		}
	}
}
