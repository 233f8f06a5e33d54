//go:build linux

package cuda_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/opengpu/ogpu/gpu/cuda"
	"github.com/opengpu/ogpu/gpu/gemm"
)

// BenchmarkCUDA reports int8 TOPS through the executor (copies included) against the GEMM
// alone, which is a bare cublasGemmEx on resident buffers, and the share of time in copies.
func BenchmarkCUDA(b *testing.B) {
	e, err := cuda.Open()
	if err != nil {
		b.Skipf("no GPU to run on: %v", err)
	}
	defer e.Close()
	for _, n := range []int{4096, 8192, 16384} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := gemm.Shape{M: n, N: n, K: n}
			a, bm := gemm.Generate(1, n, n), gemm.Generate(2, n, n)
			if _, err := e.Profile(s, a, bm); err != nil { // warm up
				b.Fatal(err)
			}
			var total, bare, copies time.Duration
			for i := 0; i < b.N; i++ {
				tm, err := e.Profile(s, a, bm)
				if err != nil {
					b.Fatal(err)
				}
				total += tm.CopyIn + tm.Gemm + tm.CopyOut
				bare += tm.Gemm
				copies += tm.CopyIn + tm.CopyOut
			}
			ops := 2 * float64(n) * float64(n) * float64(n) * float64(b.N)
			b.ReportMetric(ops/total.Seconds()/1e12, "TOPS-executor")
			b.ReportMetric(ops/bare.Seconds()/1e12, "TOPS-bare-cublas")
			b.ReportMetric(float64(bare)/float64(total), "executor-over-bare")
			b.ReportMetric(float64(copies)/float64(total)*100, "copy-%")
		})
	}
}
