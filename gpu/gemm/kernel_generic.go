package gemm

import "sync"

// The pure Go path: every CPU, the purego tag, and the reference the assembly is timed against.

// Block sizes: a kc×nc panel of B (64 KiB of int8 at 256×256) stays in L2 while a band of rows
// of A streams over it.
const (
	kc = 256
	nc = 256
	mc = 16
)

// gemmGeneric is C = A·B with the blocked Go loop on the given number of goroutines.
func gemmGeneric(s Shape, a, b []int8, c []int32, workers int) {
	clear(c)
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
