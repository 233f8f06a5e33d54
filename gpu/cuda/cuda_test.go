//go:build linux

package cuda_test

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/cuda"
	"github.com/opengpu/ogpu/gpu/gemm"
)

// open skips without a GPU, unless OGPU_REQUIRE_GPU is set: on a GPU machine a failed Open is a
// failure, not a skip.
func open(t testing.TB) *cuda.Executor {
	e, err := cuda.Open()
	if err != nil {
		if os.Getenv("OGPU_REQUIRE_GPU") != "" {
			t.Fatalf("open the GPU: %v", err)
		}
		t.Skipf("no GPU to run on: %v", err)
	}
	return e
}

// TestCUDAEqualsCPU checks that the GPU gives the CPU's bytes.
func TestCUDAEqualsCPU(t *testing.T) {
	e := open(t)
	defer e.Close()
	for _, s := range []gemm.Shape{{M: 256, N: 256, K: 256}, {M: 1024, N: 1024, K: 1024}, {M: 4096, N: 4096, K: 4096}, {M: 1000, N: 333, K: 517}, {M: 3, N: 5, K: 7}} {
		t.Run(fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K), func(t *testing.T) {
			a, b := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
			want := make([]int32, s.M*s.N)
			require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, want))
			got := make([]int32, s.M*s.N)
			require.NoError(t, e.GemmInt8(s, a, b, got))
			require.Equal(t, gemm.Encode(s, want), gemm.Encode(s, got))
		})
	}
}

// TestCUDABandsEqualCPU: a product split into bands of rows, the last one short and n or k
// padded, gives the CPU's bytes; so does every band count on the same executor in turn.
func TestCUDABandsEqualCPU(t *testing.T) {
	e := open(t)
	defer e.Close()
	defer e.SetBands(0)
	for _, s := range []gemm.Shape{{M: 1000, N: 333, K: 517}, {M: 2500, N: 130, K: 127}, {M: 129, N: 10, K: 30}, {M: 4096, N: 4096, K: 4096}, {M: 3000, N: 2048, K: 2048}} {
		a, b := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
		want := make([]int32, s.M*s.N)
		require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, want))
		for _, bands := range []int{1, 2, 3, 8, 0} {
			t.Run(fmt.Sprintf("%dx%dx%d/bands=%d", s.M, s.N, s.K, bands), func(t *testing.T) {
				e.SetBands(bands)
				got := make([]int32, s.M*s.N)
				require.NoError(t, e.GemmInt8(s, a, b, got))
				require.Equal(t, gemm.Encode(s, want), gemm.Encode(s, got))
			})
		}
	}
}

// TestCUDAConcurrentEqualsCPU: products from several goroutines at once, of sizes that make
// the executor grow its buffers in between, each give the CPU's bytes.
func TestCUDAConcurrentEqualsCPU(t *testing.T) {
	e := open(t)
	defer e.Close()
	shapes := []gemm.Shape{{M: 64, N: 128, K: 784}, {M: 784, N: 128, K: 64}, {M: 2048, N: 2048, K: 2048}, {M: 13, N: 7, K: 3}, {M: 4096, N: 1000, K: 333}}
	want := make([][]int32, len(shapes))
	for i, s := range shapes {
		want[i] = make([]int32, s.M*s.N)
		require.NoError(t, gemm.CPU{}.GemmInt8(s, gemm.Generate(uint64(i), s.M, s.K), gemm.Generate(uint64(i)+100, s.K, s.N), want[i]))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(shapes))
	for g := range 8 {
		wg.Go(func() {
			for j := range shapes {
				i := (g + j) % len(shapes)
				s := shapes[i]
				got := make([]int32, s.M*s.N)
				if err := e.GemmInt8(s, gemm.Generate(uint64(i), s.M, s.K), gemm.Generate(uint64(i)+100, s.K, s.N), got); err != nil {
					errs <- fmt.Errorf("%v: %w", s, err)
					continue
				}
				if !slices.Equal(want[i], got) {
					errs <- fmt.Errorf("%v: not the CPU's product", s)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCUDAProfile: the whole product takes at least its bare GEMM, and the parts add up to it.
func TestCUDAProfile(t *testing.T) {
	e := open(t)
	defer e.Close()
	for _, n := range []int{256, 4096} {
		s := gemm.Shape{M: n, N: n, K: n}
		a, b := gemm.Generate(1, n, n), gemm.Generate(2, n, n)
		_, err := e.Profile(s, a, b)
		require.NoError(t, err)
		tm, err := e.Profile(s, a, b)
		require.NoError(t, err)
		require.Positive(t, tm.Gemm)
		require.Positive(t, tm.CopyIn)
		t.Logf("n=%d: copy in %v, bare GEMM %v, the rest %v", n, tm.CopyIn, tm.Gemm, tm.CopyOut)
	}
}
