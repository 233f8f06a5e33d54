package gemm

import (
	"fmt"
	"runtime"
)

// Executor computes C = A·B for int8 A (m×k) and B (k×n), row-major, into int32 C (m×n).
// Every executor gives the same bytes: int32 accumulation of int8 products is exact for any
// k ≤ 16384 (|sum| ≤ 16384 · 128² < 2³¹).
type Executor interface {
	Name() string
	GemmInt8(s Shape, a, b []int8, c []int32) error
}

func checkSizes(s Shape, a, b []int8, c []int32) error {
	if len(a) != s.M*s.K || len(b) != s.K*s.N || len(c) != s.M*s.N {
		return fmt.Errorf("gemm %dx%dx%d: got A %d, B %d, C %d values", s.M, s.N, s.K, len(a), len(b), len(c))
	}
	return nil
}

// CPU is the CPU executor: AVX-512 VNNI or BW tiles where the CPU has them, else Go, on every
// core.
type CPU struct {
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
	// Path is the kernel path GemmInt8 takes, one of KernelPaths; "" is the best this CPU has.
	// Every path gives the same bytes; naming one is for benchmarks.
	Path string
}

// Name implements Executor.
func (CPU) Name() string { return "cpu" }

func (e CPU) workers() int {
	if e.Workers > 0 {
		return e.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// GemmInt8 implements Executor; it packs B for the kernel on every call (see PackB to pack once).
func (e CPU) GemmInt8(s Shape, a, b []int8, c []int32) error {
	if err := checkSizes(s, a, b, c); err != nil {
		return err
	}
	p, err := e.path()
	if err != nil {
		return err
	}
	pb := getPacked(p, s.K, s.N)
	defer putPacked(pb)
	packBParallel(pb, b, e.workers())
	e.run(s.M, a, pb, c)
	return nil
}

// path is the kernel path e takes.
func (e CPU) path() (kernelPath, error) {
	if e.Path == "" {
		return activePath, nil
	}
	for p := pathGeneric; p <= pathVNNI; p++ {
		if p.String() == e.Path && supported(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("gemm: kernel path %q: this CPU and build run %v", e.Path, KernelPaths())
}

// KernelPaths are the kernel paths this CPU and build run, slowest first; the last is the one
// the CPU executor takes unless told otherwise.
func KernelPaths() []string {
	var out []string
	for p := pathGeneric; p <= pathVNNI; p++ {
		if supported(p) {
			out = append(out, p.String())
		}
	}
	return out
}

// Naive is the plain triple loop, the definition the executors are tested against.
func Naive(s Shape, a, b []int8) []int32 {
	c := make([]int32, s.M*s.N)
	for i := 0; i < s.M; i++ {
		for j := 0; j < s.N; j++ {
			var sum int32
			for p := 0; p < s.K; p++ {
				sum += int32(a[i*s.K+p]) * int32(b[p*s.N+j])
			}
			c[i*s.N+j] = sum
		}
	}
	return c
}
