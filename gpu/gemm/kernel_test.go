package gemm_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// forEachPath runs f with every kernel path forced, skipping the ones this CPU lacks.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	for _, name := range gemm.Paths {
		t.Run(name, func(t *testing.T) {
			restore, ok := gemm.ForcePath(name)
			defer restore()
			if !ok {
				t.Skipf("this CPU or build has no %s path (chosen: %s)", name, gemm.ActivePath())
			}
			f(t)
		})
	}
}

func fill(r *rand.Rand, n int, kind string) []int8 {
	v := make([]int8, n)
	for i := range v {
		switch kind {
		case "min":
			v[i] = -128
		case "max":
			v[i] = 127
		default:
			v[i] = int8(r.IntN(256) - 128)
		}
	}
	return v
}

// TestKernels: every path gives Naive's result on edge shapes and extreme values.
func TestKernels(t *testing.T) {
	shapes := []gemm.Shape{
		{M: 1, N: 1, K: 1}, {M: 3, N: 5, K: 2}, {M: 7, N: 9, K: 3}, {M: 6, N: 64, K: 5},
		{M: 13, N: 70, K: 7}, {M: 7, N: 65, K: 13}, {M: 1, N: 130, K: 64}, {M: 50, N: 1, K: 33},
		{M: 64, N: 64, K: 64}, {M: 100, N: 300, K: 70}, {M: 12, N: 128, K: 300},
		{M: 200, N: 70, K: 260}, {M: 3, N: 17, K: 16384}, {M: 7, N: 66, K: 16384},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, s := range shapes {
			for _, kinds := range [][2]string{{"rand", "rand"}, {"min", "min"}, {"max", "max"}, {"min", "max"}, {"max", "min"}} {
				if s.K == 16384 && kinds[0] == "rand" {
					continue // the extremes are the ones that stress k = 16384
				}
				a, b := fill(r, s.M*s.K, kinds[0]), fill(r, s.K*s.N, kinds[1])
				c := make([]int32, s.M*s.N)
				for i := range c {
					c[i] = 12345 // the result overwrites whatever was there
				}
				require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, c))
				require.Equal(t, gemm.Naive(s, a, b), c, "%dx%dx%d %v", s.M, s.N, s.K, kinds)
			}
		}
		a := fill(r, 2*40*16384, "rand")
		s := gemm.Shape{M: 80, N: 2, K: 16384}
		b := fill(r, s.K*s.N, "rand")
		c := make([]int32, s.M*s.N)
		require.NoError(t, gemm.CPU{Workers: 3}.GemmInt8(s, a, b, c))
		require.Equal(t, gemm.Naive(s, a, b), c, "random k = 16384")
	})
}

// TestPackB: one packed B serves many products, of any number of rows.
func TestPackB(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, kn := range [][2]int{{1, 1}, {13, 65}, {70, 300}, {256, 64}} {
			k, n := kn[0], kn[1]
			b := fill(r, k*n, "rand")
			pb := gemm.PackB(k, n, b)
			require.Equal(t, k, pb.K())
			require.Equal(t, n, pb.N())
			for _, m := range []int{1, 6, 7, 97, 200} {
				a := fill(r, m*k, "rand")
				c := make([]int32, m*n)
				require.NoError(t, gemm.CPU{}.GemmInt8Packed(m, a, pb, c))
				require.Equal(t, gemm.Naive(gemm.Shape{M: m, N: n, K: k}, a, b), c, fmt.Sprintf("%dx%dx%d", m, n, k))
			}
			require.Error(t, gemm.CPU{}.GemmInt8Packed(2, make([]int8, k), pb, make([]int32, 2*n)))
		}
	})
}

// TestPackBConcurrent: one PackedB serves products on several goroutines at once.
func TestPackBConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	k, n, m := 100, 130, 20
	b := fill(r, k*n, "rand")
	pb := gemm.PackB(k, n, b)
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		a := fill(r, m*k, "rand")
		go func() {
			c := make([]int32, m*n)
			err := gemm.CPU{Workers: 2}.GemmInt8Packed(m, a, pb, c)
			if err == nil && fmt.Sprint(c) != fmt.Sprint(gemm.Naive(gemm.Shape{M: m, N: n, K: k}, a, b)) {
				err = fmt.Errorf("goroutine %d: wrong product", g)
			}
			errs <- err
		}()
	}
	for g := 0; g < 4; g++ {
		require.NoError(t, <-errs)
	}
}

// TestEdgeTiles: every size of edge tile, 1 to 6 rows by 1 to 64 columns, with A read in place
// (k a multiple of 4) and copied, over one block of k and several.
func TestEdgeTiles(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for m := 1; m <= 12; m++ {
			for _, n := range []int{15, 16, 17, 31, 33, 47, 49, 63, 64, 127} {
				for _, k := range []int{8, 13, 300, 301} {
					s := gemm.Shape{M: m, N: n, K: k}
					a, b := fill(r, m*k, "rand"), fill(r, k*n, "rand")
					c := make([]int32, m*n)
					require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, c))
					require.Equal(t, gemm.Naive(s, a, b), c, "%dx%dx%d", m, n, k)
				}
			}
		}
	})
}

// TestCPUPath: an executor told a path takes it and gives the same bytes; one the CPU lacks is
// refused by name.
func TestCPUPath(t *testing.T) {
	s := gemm.Shape{M: 13, N: 70, K: 33}
	a, b := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
	want := gemm.Naive(s, a, b)
	paths := gemm.KernelPaths()
	require.Equal(t, "generic", paths[0])
	for _, p := range paths {
		c := make([]int32, s.M*s.N)
		require.NoError(t, gemm.CPU{Path: p}.GemmInt8(s, a, b, c), p)
		require.Equal(t, want, c, p)
	}
	require.ErrorContains(t, gemm.CPU{Path: "sse"}.GemmInt8(s, a, b, make([]int32, s.M*s.N)), `kernel path "sse"`)
}
