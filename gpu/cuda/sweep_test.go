//go:build linux

package cuda_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// TestCUDAShapesEqualCPU: the shapes of training products (many rows, a small batch as k)
// have no single cuBLAS int8 kernel on some GPUs; the executor still gives the CPU's bytes.
func TestCUDAShapesEqualCPU(t *testing.T) {
	e := open(t)
	defer e.Close()
	for _, m := range []int{1, 104, 128, 784, 1000, 4096} {
		for _, n := range []int{10, 128, 784} {
			for _, k := range []int{1, 4, 30, 64, 100, 127, 128, 130, 784} {
				s := gemm.Shape{M: m, N: n, K: k}
				a, b := gemm.Generate(1, m, k), gemm.Generate(2, k, n)
				want, got := make([]int32, m*n), make([]int32, m*n)
				require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, want))
				require.NoError(t, e.GemmInt8(s, a, b, got), fmt.Sprint(s))
				for i := range want {
					if want[i] != got[i] {
						t.Errorf("%v: first difference at row %d col %d: %d, want %d", s, i/n, i%n, got[i], want[i])
						break
					}
				}
			}
		}
	}
}
