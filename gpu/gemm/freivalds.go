package gemm

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	mrand "math/rand/v2"
	"runtime"
)

// P is the Mersenne prime 2^61 − 1, the field of the check.
const P = 1<<61 - 1

func reduce(x uint64) uint64 {
	x = (x & P) + (x >> 61)
	if x >= P {
		x -= P
	}
	return x
}

// mulmod is a·b mod P for a, b < P: with a·b = q·2^61 + r, and 2^61 ≡ 1, a·b ≡ q + r.
func mulmod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q := hi<<3 | lo>>61
	return reduce(q + lo&P)
}

// reduce128 is hi·2^64 + lo mod P, for hi < 2^58: 2^64 ≡ 2^3.
func reduce128(hi, lo uint64) uint64 { return reduce(reduce(lo) + hi<<3) }

func submod(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + P - b
}

func sum(v []uint64) uint64 {
	var s uint64
	for _, x := range v {
		s = reduce(s + x)
	}
	return s
}

// dotInt8 is Σ v_j·x_j mod P for int8 v and x_j < P. It adds 128 to every v_j so that all
// products are non-negative and below 2^69, sums them exactly in 128 bits without reducing, and
// takes 128·Σx back off at the end.
func dotInt8(v []int8, x []uint64, sumX uint64) uint64 {
	var hi, lo uint64
	x = x[:len(v)]
	for j, e := range v {
		ph, pl := bits.Mul64(uint64(int64(e)+128), x[j])
		var c uint64
		lo, c = bits.Add64(lo, pl, 0)
		hi += ph + c
	}
	return submod(reduce128(hi, lo), mulmod(128, sumX))
}

// dotInt32LE is Σ c_j·x_j mod P for the little-endian int32 values c in row, biased by 2^31 the
// same way; the sums stay below 2^107.
func dotInt32LE(row []byte, x []uint64, sumX uint64) uint64 {
	var hi, lo uint64
	row = row[:4*len(x)] // one bounds check, not one a value
	for j, xj := range x {
		// e + 2^31 for an int32 e is its bits xor 2^31, as e + 128 is for a byte in dotBytes
		e := binary.LittleEndian.Uint32(row[4*j:4*j+4:4*j+4]) ^ 1<<31
		ph, pl := bits.Mul64(uint64(e), xj)
		var c uint64
		lo, c = bits.Add64(lo, pl, 0)
		hi += ph + c
	}
	return submod(reduce128(hi, lo), mulmod(1<<31, sumX))
}

// ErrWrongResult is a result that is not A·B.
var ErrWrongResult = errors.New("gemm result is wrong")

// Verify checks that the result read from r is A·B with one round of Freivalds' algorithm over
// GF(2^61 − 1): for a fresh random vector x it compares C·x with A·(B·x). A wrong C passes with
// probability at most 1/(2^61 − 1) < 2^-60. It reads the result once, row by row, and costs
// O(m·k + k·n + m·n) multiplications instead of the O(m·n·k) of computing C.
func Verify(r io.Reader, s Shape, a, b []int8) error {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	_, err := Check(r, s, a, b, Challenge(seed, s.N))
	return err
}

// Challenge is the challenge vector of n elements of GF(2^61 − 1) drawn from seed with ChaCha8:
// the same seed gives the same vector everywhere, so a committee member's challenge, derived
// from chain data, can be recomputed by anyone.
func Challenge(seed [32]byte, n int) []uint64 {
	src := mrand.NewChaCha8(seed)
	x := make([]uint64, n)
	for j := range x {
		x[j] = reduce(src.Uint64() >> 3)
	}
	return x
}

// Digest is sha256 of z = A·(B·x) mod 2^61 − 1 (m values, little-endian): what a member
// attests to prove it did the check for its own challenge x. It needs only the inputs.
func Digest(s Shape, a, b []int8, x []uint64) [32]byte {
	return digestOf(product(s, a, b, x))
}

// product is z = A·(B·x).
func product(s Shape, a, b []int8, x []uint64) []uint64 {
	sumX := sum(x)
	y := make([]uint64, s.K)
	for p := 0; p < s.K; p++ {
		y[p] = dotInt8(b[p*s.N:(p+1)*s.N], x, sumX)
	}
	sumY := sum(y)
	z := make([]uint64, s.M)
	for i := range z {
		z[i] = dotInt8(a[i*s.K:(i+1)*s.K], y, sumY)
	}
	return z
}

func digestOf(z []uint64) [32]byte {
	h := sha256.New()
	var buf [8]byte
	for _, v := range z {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Check compares C·x, C read from r row by row, with z = A·(B·x) for the given challenge x
// (n elements), and returns the digest of z. The digest comes back whatever the verdict, so a
// member that finds a result wrong still proves it did the check; err wraps ErrWrongResult when
// C is not A·B, or says why the result could not be read.
func Check(r io.Reader, s Shape, a, b []int8, x []uint64) ([32]byte, error) {
	if len(x) != s.N {
		return [32]byte{}, fmt.Errorf("challenge of %d elements for n = %d", len(x), s.N)
	}
	z := product(s, a, b, x)
	return digestOf(z), checkRows(r, s, x, z)
}

// checkRows reads a result from r, its header and then one row at a time, and compares each
// row's C_i·x with z_i.
func checkRows(r io.Reader, s Shape, x, z []uint64) error {
	br := bufio.NewReaderSize(r, 1<<16)
	h := make([]byte, HeaderSize)
	if _, err := io.ReadFull(br, h); err != nil {
		return fmt.Errorf("read result header: %w", err)
	}
	got, err := ParseHeader(h)
	if err != nil {
		return err
	}
	if got != s {
		return fmt.Errorf("%w: header says %dx%dx%d, the task %dx%dx%d", ErrWrongResult, got.M, got.N, got.K, s.M, s.N, s.K)
	}
	sumX := sum(x)
	rowBytes := 4 * s.N
	perBlock := max(1, min(s.M, bandBytes/rowBytes))
	block := make([]byte, perBlock*rowBytes)
	workers := runtime.GOMAXPROCS(0)
	for i := 0; i < s.M; i += perBlock {
		n := min(perBlock, s.M-i)
		got, rerr := readRows(br, block[:n*rowBytes])
		whole := got / rowBytes
		// The rows read in full are checked before the read error: a wrong row comes first.
		if bad := firstBadRow(block[:whole*rowBytes], rowBytes, x, z[i:i+whole], sumX, workers); bad >= 0 {
			return fmt.Errorf("%w: row %d fails the check", ErrWrongResult, i+bad)
		}
		if rerr != nil {
			// What io.ReadFull of the one row would say: EOF is unexpected once it has bytes.
			if rerr == io.EOF && got%rowBytes > 0 {
				rerr = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("%w: row %d: %v", ErrWrongResult, i+whole, rerr)
		}
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(br, 1)); n != 0 {
		return fmt.Errorf("%w: bytes after the last row", ErrWrongResult)
	}
	return nil
}

// readRows fills buf from r as io.ReadFull does, but returns r's error as it is: the caller says
// which row it cut short.
func readRows(r io.Reader, buf []byte) (int, error) {
	got := 0
	var err error
	for got < len(buf) && err == nil {
		var k int
		k, err = r.Read(buf[got:])
		got += k
	}
	if got == len(buf) {
		err = nil
	}
	return got, err
}

// firstBadRow is the index of the first row of rows (int32 little-endian, rowBytes each) whose
// C_i·x is not z_i, or −1; the rows are split among workers goroutines, and the answer is the
// lowest failing index whatever the scheduling.
func firstBadRow(rows []byte, rowBytes int, x, z []uint64, sumX uint64, workers int) int {
	n := len(z)
	chunks := min(n, workers, max(1, n*rowBytes/minParallelBytes))
	bad := make([]int, chunks)
	parallel(chunks, chunks, func(c int) {
		bad[c] = -1
		for i := c * n / chunks; i < (c+1)*n/chunks; i++ {
			if dotInt32LE(rows[i*rowBytes:(i+1)*rowBytes], x, sumX) != z[i] {
				bad[c] = i
				return
			}
		}
	})
	for _, b := range bad {
		if b >= 0 {
			return b
		}
	}
	return -1
}

// minParallelBytes is the least input one goroutine of a check takes: below it, starting one
// costs more than it saves.
const minParallelBytes = 32 << 10

// bandBytes is how much of an input matrix a streaming check holds at a time.
const bandBytes = 256 << 10

// Freivalds is the check of a result against inputs read as streams, for several challenges
// x_j at once: B's rows give y_j = B·x_j, then A's rows give z_j = A·y_j, and a result's rows are
// compared with z_j. It holds three vectors per challenge (8·(n + k + m) bytes) and one band of
// at most 256 KiB, never A, B or C, which a task of the largest shape (m = n = k = 16384) makes
// 256 MiB, 256 MiB and 1 GiB. Inputs are read once each, B before A, in any chunking: a
// generated matrix through NewGenerator, a downloaded one straight from its response body.
type Freivalds struct {
	s       Shape
	x, y, z [][]uint64
}

// NewFreivalds prepares the check of shape s for the challenges xs (n elements each).
func NewFreivalds(s Shape, xs ...[]uint64) (*Freivalds, error) {
	if s.M < 1 || s.N < 1 || s.K < 1 {
		return nil, fmt.Errorf("shape %dx%dx%d: m, n and k must be at least 1", s.M, s.N, s.K)
	}
	if len(xs) == 0 {
		return nil, errors.New("freivalds: at least one challenge is needed")
	}
	for j, x := range xs {
		if len(x) != s.N {
			return nil, fmt.Errorf("challenge %d: %d elements for n = %d", j, len(x), s.N)
		}
	}
	return &Freivalds{s: s, x: xs}, nil
}

// ReadB reads B (k rows of n int8 values, one byte each) from r, exactly k·n bytes, and computes
// y_j = B·x_j. Reading B again starts over.
func (f *Freivalds) ReadB(r io.Reader) error {
	f.y, f.z = nil, nil
	y, err := mulRows(r, f.s.K, f.s.N, f.x, "B")
	if err != nil {
		return err
	}
	f.y = y
	return nil
}

// ReadA reads A (m rows of k int8 values) from r, exactly m·k bytes, after B, and computes
// z_j = A·y_j.
func (f *Freivalds) ReadA(r io.Reader) error {
	if f.y == nil {
		return errors.New("freivalds: read B before A")
	}
	z, err := mulRows(r, f.s.M, f.s.K, f.y, "A")
	if err != nil {
		return err
	}
	f.z = z
	return nil
}

// Digest is sha256 of z_j (see Digest); ok is false until A and B are read.
func (f *Freivalds) Digest(j int) (d [32]byte, ok bool) {
	if f.z == nil || j < 0 || j >= len(f.z) {
		return d, false
	}
	return digestOf(f.z[j]), true
}

// Check reads a result from r, row by row, and compares C·x_j with z_j; err wraps
// ErrWrongResult when C is not A·B, as the package's Check.
func (f *Freivalds) Check(r io.Reader, j int) error {
	if f.z == nil || j < 0 || j >= len(f.z) {
		return fmt.Errorf("freivalds: no product for challenge %d: read B and A first", j)
	}
	return checkRows(r, f.s, f.x[j], f.z[j])
}

// mulRows reads a rows×cols int8 matrix M from r a band at a time and returns M·v for each v.
func mulRows(r io.Reader, rows, cols int, vs [][]uint64, name string) ([][]uint64, error) {
	sums := make([]uint64, len(vs))
	hs := make([]halves, len(vs))
	out := make([][]uint64, len(vs))
	for j, v := range vs {
		sums[j] = sum(v)
		hs[j] = halvesOf(v)
		out[j] = make([]uint64, rows)
	}
	perBand := max(1, min(rows, bandBytes/cols))
	workers := runtime.GOMAXPROCS(0)
	band := make([]byte, perBand*cols)
	for i := 0; i < rows; i += perBand {
		n := min(perBand, rows-i)
		buf := band[:n*cols]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("read %s rows %d..%d of %d: %w", name, i, i+n-1, rows, err)
		}
		chunks := min(n, workers, max(1, n*cols/minParallelBytes))
		parallel(chunks, chunks, func(c int) {
			for row := c * n / chunks; row < (c+1)*n/chunks; row++ {
				line := buf[row*cols : (row+1)*cols]
				for j, h := range hs {
					out[j][i+row] = dotBytes(line, h, sums[j])
				}
			}
		})
	}
	return out, nil
}

// halves is a vector of elements of GF(2^61 − 1) as their low and high 32 bits, for dotBytes.
type halves struct{ lo, hi []uint32 }

func halvesOf(x []uint64) halves {
	h := halves{make([]uint32, len(x)), make([]uint32, len(x))}
	for j, v := range x {
		h.lo[j], h.hi[j] = uint32(v), uint32(v>>32)
	}
	return h
}

// dotBytes is dotInt8 over int8 values held as bytes (int8(e) + 128 is e xor 0x80) for x in
// halves: a byte times a half is below 2^40, so 2^20 of them add up in 64 bits with plain
// multiplies, which cost less than 128-bit ones.
func dotBytes(v []byte, x halves, sumX uint64) uint64 {
	var s uint64
	for off := 0; off < len(v); off += 1 << 20 {
		n := min(len(v)-off, 1<<20)
		e, lo, hi := v[off:off+n], x.lo[off:off+n], x.hi[off:off+n]
		var sl, sh uint64
		for j, b := range e {
			u := uint64(b ^ 0x80)
			sl += u * uint64(lo[j])
			sh += u * uint64(hi[j])
		}
		s = reduce(s + reduce(reduce(sl)+mulmod(reduce(sh), 1<<32)))
	}
	return submod(s, mulmod(128, sumX))
}
