package gemm

import (
	"fmt"
	"runtime"
	"sync"
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

// CPU is the pure-Go reference executor: cache-blocked, on every core.
type CPU struct {
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
}

// Name implements Executor.
func (CPU) Name() string { return "cpu" }

// Block sizes: a kc×nc panel of B (64 KiB of int8 at 256×256) stays in L2 while a band of rows
// of A streams over it.
const (
	kc = 256
	nc = 256
	mc = 16
)

// GemmInt8 implements Executor.
func (e CPU) GemmInt8(s Shape, a, b []int8, c []int32) error {
	if err := checkSizes(s, a, b, c); err != nil {
		return err
	}
	clear(c)
	workers := e.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	bands := (s.M + mc - 1) / mc
	next := make(chan int, bands)
	for i := 0; i < bands; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, bands); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for band := range next {
				rows(s, a, b, c, band*mc, min(s.M, band*mc+mc))
			}
		}()
	}
	wg.Wait()
	return nil
}

// rows computes rows [i0, i1) of C, panel by panel of B.
func rows(s Shape, a, b []int8, c []int32, i0, i1 int) {
	n, k := s.N, s.K
	for p0 := 0; p0 < k; p0 += kc {
		p1 := min(k, p0+kc)
		for j0 := 0; j0 < n; j0 += nc {
			j1 := min(n, j0+nc)
			for i := i0; i < i1; i++ {
				ci := c[i*n+j0 : i*n+j1]
				ai := a[i*k+p0 : i*k+p1]
				for p, av := range ai {
					if av == 0 {
						continue
					}
					x := int32(av)
					bp := b[(p0+p)*n+j0 : (p0+p)*n+j1]
					bp = bp[:len(ci)]
					for j, bv := range bp {
						ci[j] += x * int32(bv)
					}
				}
			}
		}
	}
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
