package mlp

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"unsafe"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// ErrMismatch is a result that is not the model's output on the inputs: a wrong header or size,
// a layer's accumulators that fail Freivalds' check, or wrong logits or argmax.
var ErrMismatch = errors.New("mlp result is wrong")

// LayerSeed is the seed of layer l's challenge for a member's seed: sha256(seed ‖ l as uint32
// little-endian). The challenge vector is gemm.Challenge(LayerSeed(seed, l), Out of layer l).
func LayerSeed(seed [32]byte, l int) [32]byte {
	var buf [36]byte
	copy(buf[:], seed[:])
	binary.LittleEndian.PutUint32(buf[32:], uint32(l))
	return sha256.Sum256(buf[:])
}

// Verify checks the result read from r for the model m over the inputs x (rows×In of layer 0)
// in O(n²): for every layer l it runs Freivalds' check acc_l·r_l == x_l·(W_l·r_l) over
// GF(2^61 − 1), where x_0 is x and x_{l+1} is requantized from the result's own acc_l, then
// recomputes the logits and argmax from acc_last and compares them exactly. A wrong result
// passes with probability below 2^-60 per layer. The result is streamed, never held.
//
// There is one challenge per seed (at least one); the verdict uses seeds[0]'s. digests[i] is
// sha256 over the gemm digests (sha256 of z_l = x_l·(W_l·r_l), see gemm.Digest) of every layer
// in order for seeds[i], one per band of up to 16384 rows (one band for most batches): what a
// member attests to prove it did the check. It depends only on the model, the inputs and the
// accumulators the result holds (bytes missing read as zero), so it is returned with any
// verdict. err wraps ErrMismatch, naming the layer and row, when the result is wrong; digests
// are nil when the arguments are invalid or r fails with an error other than io.EOF, which is
// returned as it is: a failed download is not the provider's fault.
func Verify(r io.Reader, m *Model, x []int8, rows int, seeds ...[32]byte) (digests [][32]byte, err error) {
	if err := checkTask(m, x, rows); err != nil {
		return nil, err
	}
	if len(seeds) == 0 {
		return nil, errors.New("verify: at least one seed is needed")
	}
	widths := m.Widths()
	src := &failReader{r: r}
	br := bufio.NewReaderSize(src, 1<<16)
	var verdict error
	fail := func(format string, args ...any) {
		if verdict == nil {
			verdict = fmt.Errorf("%w: "+format, append([]any{ErrMismatch}, args...)...)
		}
	}

	want := resultHeader(widths, rows)
	h := make([]byte, len(want))
	if n, _ := io.ReadFull(br, h); n < len(h) {
		fail("header: %d bytes, want %d", n, len(h))
	} else if !bytes.Equal(h, want) {
		fail("header: %s", describeHeader(h, widths, rows))
	}

	hashes := make([][]byte, len(seeds))
	var logits []int32
	xb := int8Bytes(x) // x_l, as the bytes the checks read
	for l, ly := range m.Layers {
		xs := make([][]uint64, len(seeds))
		for i, seed := range seeds {
			xs[i] = gemm.Challenge(LayerSeed(seed, l), ly.Out)
		}
		// Every byte of the layer's accumulators passes once through sink, which requantizes it
		// into the next layer's inputs (or adds the biases of the last layer), whether the check
		// reads it or a drain does.
		sink := newSink(ly, rows, l == len(m.Layers)-1)
		for b0 := 0; b0 < rows; b0 += bandRows {
			n := min(bandRows, rows-b0)
			f, err := layerProducts(ly, xb[b0*ly.In:(b0+n)*ly.In], n, xs)
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", l, err)
			}
			for i := range seeds {
				d, _ := f.Digest(i)
				hashes[i] = append(hashes[i], d[:]...)
			}
			s := gemm.Shape{M: n, N: ly.Out, K: ly.In}
			section := io.TeeReader(io.LimitReader(br, 4*int64(n)*int64(ly.Out)), sink)
			if verdict == nil {
				if err := f.Check(io.MultiReader(bytes.NewReader(gemm.Header(s)), section), 0); err != nil {
					if rows <= bandRows {
						fail("layer %d accumulators: %w", l, err)
					} else {
						fail("layer %d accumulators, the band of rows from %d: %w", l, b0, err)
					}
				}
			}
			if _, err := io.Copy(io.Discard, section); err != nil {
				fail("layer %d accumulators: %v", l, err)
			}
		}
		xb, logits = sink.x, sink.logits
	}

	digests = make([][32]byte, len(seeds))
	for i := range seeds {
		digests[i] = sha256.Sum256(hashes[i])
	}
	if verdict == nil {
		verdict = checkOutputs(br, logits, m.Layers[len(m.Layers)-1].Out)
	}
	if src.err != nil {
		return nil, fmt.Errorf("read result: %w", src.err)
	}
	return digests, verdict
}

// failReader keeps the first error of r other than io.EOF: the checks see a short read either
// way, and Verify tells a failed read from a short result by it.
type failReader struct {
	r   io.Reader
	err error
}

func (f *failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF && f.err == nil {
		f.err = err
	}
	return n, err
}

// bandRows is how many rows one gemm-int8/v1 check takes (its m is at most 16384): a batch of more
// rows is checked a band at a time, each band against the same challenge.
const bandRows = workload.GemmMaxDim

// layerProducts is the Freivalds check of one band of a layer, n rows of x (int8 as bytes), for
// the challenges xs: z = x·(W·r) for each.
func layerProducts(ly Layer, x []byte, n int, xs [][]uint64) (*gemm.Freivalds, error) {
	f, err := gemm.NewFreivalds(gemm.Shape{M: n, N: ly.Out, K: ly.In}, xs...)
	if err != nil {
		return nil, err
	}
	if err := f.ReadB(bytes.NewReader(int8Bytes(ly.W))); err != nil {
		return nil, err
	}
	if err := f.ReadA(bytes.NewReader(x)); err != nil {
		return nil, err
	}
	return f, nil
}

// checkOutputs compares the result's logits and argmax, read from r, with the ones recomputed
// from its verified accumulators, and checks that nothing follows them.
func checkOutputs(r io.Reader, logits []int32, cols int) error {
	row := make([]byte, 4*cols)
	for i := 0; i < len(logits)/cols; i++ {
		if _, err := io.ReadFull(r, row); err != nil {
			return fmt.Errorf("%w: logits row %d: %v", ErrMismatch, i, err)
		}
		for j, v := range logits[i*cols : (i+1)*cols] {
			if got := int32(binary.LittleEndian.Uint32(row[4*j:])); got != v {
				return fmt.Errorf("%w: logits row %d column %d: %d, want %d", ErrMismatch, i, j, got, v)
			}
		}
	}
	var buf [4]byte
	for i, want := range argmaxOf(logits, cols) {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return fmt.Errorf("%w: argmax row %d: %v", ErrMismatch, i, err)
		}
		if got := binary.LittleEndian.Uint32(buf[:]); got != want {
			return fmt.Errorf("%w: argmax row %d: %d, want %d", ErrMismatch, i, got, want)
		}
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(r, 1)); n != 0 {
		return fmt.Errorf("%w: bytes after the argmax", ErrMismatch)
	}
	return nil
}

// describeHeader says which field of a result header differs from the task's.
func describeHeader(h []byte, widths []int, rows int) string {
	want := resultHeader(widths, rows)
	switch {
	case !bytes.Equal(h[:8], want[:8]):
		return "magic: not an OGPUINFR result"
	case !bytes.Equal(h[8:12], want[8:12]):
		return fmt.Sprintf("version %d, want %d", binary.LittleEndian.Uint32(h[8:]), Version)
	case !bytes.Equal(h[12:16], want[12:16]):
		return fmt.Sprintf("rows %d, want %d", binary.LittleEndian.Uint32(h[12:]), rows)
	case !bytes.Equal(h[16:20], want[16:20]):
		return fmt.Sprintf("layer count %d, want %d", binary.LittleEndian.Uint32(h[16:]), len(widths)-1)
	}
	for i, w := range widths {
		if got := binary.LittleEndian.Uint32(h[20+4*i:]); got != uint32(w) {
			return fmt.Sprintf("widths[%d] %d, want %d", i, got, w)
		}
	}
	return "differs"
}

// sink takes a layer's accumulators as little-endian int32 bytes, in any chunking, and keeps
// what follows from them: the next layer's inputs, or the logits of the last layer.
type sink struct {
	ly     Layer
	rq     requantizer
	x      []byte // int8 values
	logits []int32
	n, j   int // values taken, and the column of the next one
	part   [4]byte
	np     int
}

func newSink(ly Layer, rows int, last bool) *sink {
	s := &sink{ly: ly}
	if last {
		s.logits = make([]int32, rows*ly.Out)
	} else {
		s.rq = newRequantizer(ly)
		s.x = make([]byte, rows*ly.Out)
	}
	return s
}

// Write implements io.Writer; the caller never writes more than the layer's values.
func (s *sink) Write(p []byte) (int, error) {
	n := len(p)
	if s.np > 0 {
		k := copy(s.part[s.np:], p)
		s.np += k
		p = p[k:]
		if s.np < 4 {
			return n, nil
		}
		s.take(s.part[:])
		s.np = 0
	}
	whole := len(p) &^ 3
	s.take(p[:whole])
	s.np = copy(s.part[:], p[whole:])
	return n, nil
}

// take adds the values in b, a whole number of them; a long stretch is split among GOMAXPROCS
// goroutines, each value going to the same place whoever takes it.
func (s *sink) take(b []byte) {
	vals := len(b) / 4
	chunks := min(runtime.GOMAXPROCS(0), max(1, vals/minParallelValues))
	if chunks == 1 {
		s.takeAt(s.n, s.j, b)
	} else {
		var wg sync.WaitGroup
		for c := range chunks {
			lo, hi := c*vals/chunks, (c+1)*vals/chunks
			wg.Go(func() { s.takeAt(s.n+lo, (s.j+lo)%s.ly.Out, b[4*lo:4*hi]) })
		}
		wg.Wait()
	}
	s.n, s.j = s.n+vals, (s.j+vals)%s.ly.Out
}

// minParallelValues is the least a goroutine of take is given: below it, starting one costs more
// than it saves.
const minParallelValues = 8 << 10

// takeAt adds the values in b as the ones from the n-th on, the first in column j, a stretch of
// one row at a time.
func (s *sink) takeAt(n, j int, b []byte) {
	for len(b) > 0 {
		k := min(len(b)/4, s.ly.Out-j)
		acc, bias := b[:4*k], s.ly.Bias[j:j+k]
		if s.logits != nil {
			out := s.logits[n : n+k]
			for i, c := range bias {
				out[i] = int32(binary.LittleEndian.Uint32(acc[4*i:4*i+4:4*i+4])) + c
			}
		} else {
			s.rq.applyLE(s.x[n:n+k], acc, bias)
		}
		b, n, j = b[4*k:], n+k, j+k
		if j == s.ly.Out {
			j = 0
		}
	}
}

// applyLE sets out[i] to apply(acc_i, bias[i]) for the little-endian int32 values acc_i in acc,
// with apply's steps written out: the loop is the verifier's hottest after the dot products.
func (rq requantizer) applyLE(out, acc []byte, bias []int32) {
	mult, half, neg, lo, shift := rq.mult, rq.half, rq.neg, rq.lo, rq.shift&63
	out, acc = out[:len(bias)], acc[:4*len(bias)]
	for i, c := range bias {
		p := (int64(int32(binary.LittleEndian.Uint32(acc[4*i:4*i+4:4*i+4]))) + int64(c)) * mult
		q := (p + half + p>>63&neg) >> shift
		out[i] = byte(int8(max(min(q, 127), lo)))
	}
}

// int8Bytes is v's memory as bytes, for reading only: the checks take int8 values as bytes, and
// copying them one at a time cost more than the check of a layer's weights.
func int8Bytes(v []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}
