package mlp_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
)

// task is a small model, its inputs and its correct result.
type task struct {
	m      *mlp.Model
	widths []int
	x      []int8
	rows   int
	result []byte
}

func newTask(t *testing.T, seed uint64, widths []int, rows int) task {
	m := mlp.RandomModel(seed, widths)
	x := gemm.Generate(seed+1, rows, widths[0])
	var out bytes.Buffer
	require.NoError(t, mlp.Infer(gemm.CPU{}, m, x, rows, &out))
	return task{m, widths, x, rows, out.Bytes()}
}

// offsets is where each layer's accumulators, the logits and the argmax start in the result.
func (tk task) offsets() (accs []int, logits, argmax int) {
	off := 20 + 4*len(tk.widths)
	for _, w := range tk.widths[1:] {
		accs = append(accs, off)
		off += 4 * tk.rows * w
	}
	return accs, off, off + 4*tk.rows*tk.widths[len(tk.widths)-1]
}

// addAt returns a copy of bz with d added to the little-endian value at off.
func addAt(bz []byte, off int, d int32) []byte {
	out := bytes.Clone(bz)
	binary.LittleEndian.PutUint32(out[off:], uint32(int32(binary.LittleEndian.Uint32(out[off:]))+d))
	return out
}

func seedOf(i byte) [32]byte { return [32]byte{i} }

func TestVerifyAcceptsACorrectResult(t *testing.T) {
	tk := newTask(t, 11, []int{40, 24, 16, 10}, 12)
	seeds := [][32]byte{seedOf(1), seedOf(2), seedOf(3)}
	digests, err := mlp.Verify(bytes.NewReader(tk.result), tk.m, tk.x, tk.rows, seeds...)
	require.NoError(t, err)
	require.Len(t, digests, 3)
	require.NotEqual(t, digests[0], digests[1], "each seed its own challenge")

	// a digest is sha256 over the gemm digests of z_l = x_l·(W_l·r_l), layer by layer
	accs, _, _, err := mlp.Forward(gemm.CPU{}, tk.m, tk.x, tk.rows)
	require.NoError(t, err)
	for i, seed := range seeds {
		h := sha256.New()
		x := tk.x
		for l, ly := range tk.m.Layers {
			s := gemm.Shape{M: tk.rows, N: ly.Out, K: ly.In}
			d := gemm.Digest(s, x, ly.W, gemm.Challenge(mlp.LayerSeed(seed, l), ly.Out))
			h.Write(d[:])
			next := make([]int8, len(accs[l]))
			for k, a := range accs[l] {
				next[k] = mlp.Requant(a, ly.Bias[k%ly.Out], ly.Mult, ly.Shift, ly.ReLU)
			}
			x = next
		}
		require.Equal(t, h.Sum(nil), digests[i][:], "seed %d", i)
	}

	// a result read a few bytes at a time checks the same
	again, err := mlp.Verify(&trickle{b: tk.result}, tk.m, tk.x, tk.rows, seeds...)
	require.NoError(t, err)
	require.Equal(t, digests, again)
}

// trickle reads out b at most 3 bytes at a time.
type trickle struct{ b []byte }

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 3)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestVerifyRejectsAWrongResult(t *testing.T) {
	tk := newTask(t, 21, []int{40, 24, 16, 10}, 12)
	accs, logits, argmax := tk.offsets()
	row := func(layer, i, j int) int { return accs[layer] + 4*(i*tk.widths[layer+1]+j) }
	other := gemm.Generate(99, tk.rows, tk.widths[0])
	var replayed bytes.Buffer
	require.NoError(t, mlp.Infer(gemm.CPU{}, tk.m, other, tk.rows, &replayed))

	for _, tc := range []struct {
		name   string
		result []byte
		err    string
	}{
		{"layer 0 accumulator", addAt(tk.result, row(0, 3, 5), 1), "mlp result is wrong: layer 0 accumulators: gemm result is wrong: row 3 fails the check"},
		{"last layer accumulator", addAt(tk.result, row(2, 7, 9), -1000), "mlp result is wrong: layer 2 accumulators: gemm result is wrong: row 7 fails the check"},
		{"logit", addAt(tk.result, logits+4*(4*10+2), 1), "mlp result is wrong: logits row 4 column 2"},
		{"argmax", addAt(tk.result, argmax+4*11, 1), "mlp result is wrong: argmax row 11"},
		{"truncated", tk.result[:len(tk.result)-1], "mlp result is wrong: argmax row 11: unexpected EOF"},
		{"truncated in layer 1", tk.result[:row(1, 5, 0)+2], "mlp result is wrong: layer 1 accumulators: gemm result is wrong: row 5: unexpected EOF"},
		{"trailing", append(bytes.Clone(tk.result), 0), "mlp result is wrong: bytes after the argmax"},
		{"other inputs", replayed.Bytes(), "mlp result is wrong: layer 0 accumulators: gemm result is wrong: row 0 fails the check"},
		{"empty", nil, "mlp result is wrong: header: 0 bytes, want 36"},
		{"magic", putByte(tk.result, 0, 'X'), "mlp result is wrong: header: magic: not an OGPUINFR result"},
		{"rows", putU32(tk.result, 12, 11), "mlp result is wrong: header: rows 11, want 12"},
		{"width", putU32(tk.result, 28, 17), "mlp result is wrong: header: widths[2] 17, want 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			digests, err := mlp.Verify(bytes.NewReader(tc.result), tk.m, tk.x, tk.rows, seedOf(1))
			require.ErrorIs(t, err, mlp.ErrMismatch)
			require.ErrorContains(t, err, tc.err)
			require.Len(t, digests, 1, "the digest comes back with any verdict")
		})
	}

	// the digest depends only on x_l: a wrong last layer, logit or argmax leaves it as it is
	good, err := mlp.Verify(bytes.NewReader(tk.result), tk.m, tk.x, tk.rows, seedOf(1))
	require.NoError(t, err)
	for _, bad := range [][]byte{addAt(tk.result, row(2, 0, 0), 1), addAt(tk.result, argmax, 1)} {
		digests, err := mlp.Verify(bytes.NewReader(bad), tk.m, tk.x, tk.rows, seedOf(1))
		require.ErrorIs(t, err, mlp.ErrMismatch)
		require.Equal(t, good, digests)
	}
}

// TestVerifyCatchesAnyChangedAccumulator changes one accumulator at random, in any layer, by any
// amount, and a fresh seed each time must catch it.
func TestVerifyCatchesAnyChangedAccumulator(t *testing.T) {
	tk := newTask(t, 31, []int{24, 16, 12, 6}, 8)
	accs, logits, _ := tk.offsets()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		at := accs[0] + 4*rng.IntN((logits-accs[0])/4)
		d := int32(1+rng.IntN(1000)) * int32(1-2*rng.IntN(2))
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], rng.Uint64())
		_, err := mlp.Verify(bytes.NewReader(addAt(tk.result, at, d)), tk.m, tk.x, tk.rows, seed)
		require.ErrorIs(t, err, mlp.ErrMismatch, "trial %d: byte %d changed by %d", trial, at, d)
	}
}

func TestVerifyTellsAFailedReadFromAWrongResult(t *testing.T) {
	tk := newTask(t, 61, []int{8, 6, 4}, 5)
	failed := io.MultiReader(bytes.NewReader(tk.result[:100]), iotest.ErrReader(errors.New("connection reset")))
	digests, err := mlp.Verify(failed, tk.m, tk.x, tk.rows, seedOf(1))
	require.EqualError(t, err, "read result: connection reset")
	require.NotErrorIs(t, err, mlp.ErrMismatch)
	require.Nil(t, digests)
}

func TestVerifyRefusesBadArguments(t *testing.T) {
	tk := newTask(t, 41, []int{4, 3}, 2)
	_, err := mlp.Verify(bytes.NewReader(tk.result), tk.m, tk.x, tk.rows)
	require.EqualError(t, err, "verify: at least one seed is needed")
	_, err = mlp.Verify(bytes.NewReader(tk.result), tk.m, tk.x[1:], tk.rows, seedOf(1))
	require.EqualError(t, err, "inputs: 7 values, want 2 rows × 4")
	require.NotErrorIs(t, err, mlp.ErrMismatch, "bad arguments are the caller's, not the provider's")
}

// TestVerifyChecksABigBatchByBands runs a batch of more rows than one gemm-int8/v1 check takes.
func TestVerifyChecksABigBatchByBands(t *testing.T) {
	const band = 16384
	tk := newTask(t, 51, []int{3, 4, 2}, band+100)
	digests, err := mlp.Verify(bytes.NewReader(tk.result), tk.m, tk.x, tk.rows, seedOf(7))
	require.NoError(t, err)

	// the digest takes each layer's bands in order
	accs, _, _, err := mlp.Forward(gemm.CPU{}, tk.m, tk.x, tk.rows)
	require.NoError(t, err)
	h := sha256.New()
	x := tk.x
	for l, ly := range tk.m.Layers {
		r := gemm.Challenge(mlp.LayerSeed(seedOf(7), l), ly.Out)
		for b0 := 0; b0 < tk.rows; b0 += band {
			n := min(band, tk.rows-b0)
			d := gemm.Digest(gemm.Shape{M: n, N: ly.Out, K: ly.In}, x[b0*ly.In:(b0+n)*ly.In], ly.W, r)
			h.Write(d[:])
		}
		next := make([]int8, len(accs[l]))
		for k, a := range accs[l] {
			next[k] = mlp.Requant(a, ly.Bias[k%ly.Out], ly.Mult, ly.Shift, ly.ReLU)
		}
		x = next
	}
	require.Equal(t, h.Sum(nil), digests[0][:])

	offs, _, _ := tk.offsets()
	bad := addAt(tk.result, offs[1]+4*((band+5)*2+1), 1)
	_, err = mlp.Verify(bytes.NewReader(bad), tk.m, tk.x, tk.rows, seedOf(7))
	require.ErrorIs(t, err, mlp.ErrMismatch)
	require.ErrorContains(t, err, "layer 1 accumulators, the band of rows from 16384: gemm result is wrong: row 5 fails the check")
}
