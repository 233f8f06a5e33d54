//go:build linux

package cuda_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/cuda"
	"github.com/opengpu/ogpu/gpu/gemm"
)

func open(t testing.TB) *cuda.Executor {
	e, err := cuda.Open()
	if err != nil {
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
