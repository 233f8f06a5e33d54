// Package gemm implements the gemm-int8/v1 workload: how A and B are generated from seeds, the
// byte layout of a result, the executors that compute C = A·B (int8 × int8 → int32), and
// Freivalds' check that verifies a result in O(n²).
package gemm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/opengpu/ogpu/x/compute/workload"
)

// HeaderSize is the size of a result's header; the int32 values follow it.
const HeaderSize = workload.GemmResultHeaderSize

// magic starts every gemm-int8/v1 result.
var magic = [8]byte{'O', 'G', 'P', 'U', 'G', 'E', 'M', 'M'}

// Version of the result layout.
const Version = 1

// Matrix generation: A (m×k) and B (k×n) are row-major int8 drawn from SplitMix64 seeded with
// seed_a and seed_b. Each 64-bit output gives eight consecutive entries, its bytes in little-endian
// order read as two's-complement int8. SplitMix64 (Steele, Lea, Flood 2014): state advances by
// 0x9E3779B97F4A7C15, output z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
// z = (z ^ z>>27) * 0x94D049BB133111EB; z ^= z>>31.
func Generate(seed uint64, rows, cols int) []int8 {
	out := make([]int8, rows*cols)
	var buf [8]byte
	for i := 0; i < len(out); i += 8 {
		binary.LittleEndian.PutUint64(buf[:], splitmix(seed, uint64(i/8)))
		for j := 0; j < 8 && i+j < len(out); j++ {
			out[i+j] = int8(buf[j])
		}
	}
	return out
}

// SplitMix64 is output q (from 0) of SplitMix64 seeded with seed, the generator of every seeded
// matrix and random draw of the workloads.
func SplitMix64(seed, q uint64) uint64 { return splitmix(seed, q) }

// splitmix is output q (from 0) of SplitMix64 seeded with seed. The state after q+1 steps is
// seed + (q+1)·γ, so any part of a generated matrix can be had without the parts before it.
func splitmix(seed, q uint64) uint64 {
	z := seed + (q+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Generator reads the bytes of Generate(seed, rows, cols) (each byte an int8, row-major), so a
// generated matrix can be streamed a band of rows at a time instead of held whole.
type Generator struct {
	seed      uint64
	off, size uint64
}

// NewGenerator streams the rows×cols matrix generated from seed.
func NewGenerator(seed uint64, rows, cols int) *Generator {
	return &Generator{seed: seed, size: uint64(max(rows, 0)) * uint64(max(cols, 0))}
}

// Read implements io.Reader.
func (g *Generator) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	p = p[:min(uint64(len(p)), g.size-g.off)]
	q, skip := g.off/8, int(g.off%8)
	var buf [8]byte
	for i := 0; i < len(p); q++ {
		if skip == 0 && len(p)-i >= 8 {
			binary.LittleEndian.PutUint64(p[i:], splitmix(g.seed, q))
			i += 8
			continue
		}
		binary.LittleEndian.PutUint64(buf[:], splitmix(g.seed, q))
		i += copy(p[i:], buf[skip:])
		skip = 0
	}
	g.off += uint64(len(p))
	return len(p), nil
}

// Shape is the m×k by k×n product.
type Shape struct{ M, N, K int }

// Validate checks the bounds of the workload.
func (s Shape) Validate() error {
	return workload.GemmInt8{M: uint32(s.M), N: uint32(s.N), K: uint32(s.K)}.Validate(nil)
}

// ResultSize is the size of the encoded result.
func (s Shape) ResultSize() int { return HeaderSize + 4*s.M*s.N }

// Header is the result's header: magic, version, m, n, k, and zero padding to 32 bytes.
func Header(s Shape) []byte {
	h := make([]byte, HeaderSize)
	copy(h, magic[:])
	binary.LittleEndian.PutUint32(h[8:], Version)
	binary.LittleEndian.PutUint32(h[12:], uint32(s.M))
	binary.LittleEndian.PutUint32(h[16:], uint32(s.N))
	binary.LittleEndian.PutUint32(h[20:], uint32(s.K))
	return h
}

// ParseHeader reads a result header.
func ParseHeader(h []byte) (Shape, error) {
	if len(h) < HeaderSize {
		return Shape{}, fmt.Errorf("result header: %d bytes, want %d", len(h), HeaderSize)
	}
	if [8]byte(h[:8]) != magic {
		return Shape{}, errors.New("result header: not a gemm-int8 result")
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != Version {
		return Shape{}, fmt.Errorf("result header: version %d, want %d", v, Version)
	}
	s := Shape{
		M: int(binary.LittleEndian.Uint32(h[12:])),
		N: int(binary.LittleEndian.Uint32(h[16:])),
		K: int(binary.LittleEndian.Uint32(h[20:])),
	}
	for _, b := range h[24:HeaderSize] {
		if b != 0 {
			return Shape{}, errors.New("result header: padding not zero")
		}
	}
	return s, s.Validate()
}

// Encode is the result bytes: the header, then C row-major as little-endian int32.
func Encode(s Shape, c []int32) []byte {
	out := make([]byte, s.ResultSize())
	copy(out, Header(s))
	for i, v := range c {
		binary.LittleEndian.PutUint32(out[HeaderSize+4*i:], uint32(v))
	}
	return out
}

// WriteResult writes the result bytes of C (what Encode returns) to w, 64 KiB at a time, so a
// large result never needs a second copy in memory.
func WriteResult(w io.Writer, s Shape, c []int32) error {
	if len(c) != s.M*s.N {
		return fmt.Errorf("result %dx%d: got %d values", s.M, s.N, len(c))
	}
	if _, err := w.Write(Header(s)); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for len(c) > 0 {
		n := min(len(c), cap(buf)/4)
		buf = buf[:4*n]
		for i, v := range c[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(v))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		c = c[n:]
	}
	return nil
}
