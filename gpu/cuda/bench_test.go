//go:build linux

package cuda_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// BenchmarkCUDA reports int8 TOPS through the executor (copies included) against the GEMM
// alone, which is a bare cublasGemmEx on resident buffers, and the share of the whole beyond
// the bare GEMM. bands=1 runs the copies and the GEMM one after the other, bands=auto
// overlaps them in bands of rows.
func BenchmarkCUDA(b *testing.B) {
	e := open(b)
	defer e.Close()
	defer e.SetBands(0)
	for _, n := range []int{1024, 2048, 4096, 8192, 16384} {
		s := gemm.Shape{M: n, N: n, K: n}
		a, bm := gemm.Generate(1, n, n), gemm.Generate(2, n, n)
		for _, bands := range []int{1, 0} {
			name := fmt.Sprintf("n=%d/bands=%d", n, bands)
			if bands == 0 {
				name = fmt.Sprintf("n=%d/bands=auto", n)
			}
			b.Run(name, func(b *testing.B) {
				e.SetBands(bands)
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
}

// BenchmarkCUDASmall times the products inference and training make (a few MB each) through
// the executor and on the CPU, per product.
func BenchmarkCUDASmall(b *testing.B) {
	e := open(b)
	defer e.Close()
	for _, s := range []gemm.Shape{
		{M: 4096, N: 2048, K: 2048}, // infer, 2048-wide layers
		{M: 64, N: 128, K: 784},     // train, batch 64, first layer forward
		{M: 784, N: 128, K: 64},     // its weight gradient
		{M: 1024, N: 10, K: 128},    // batch 1024, last layer
	} {
		a, bm := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
		c := make([]int32, s.M*s.N)
		for _, ex := range []gemm.Executor{e, gemm.CPU{}} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.M, s.N, s.K, ex.Name()), func(b *testing.B) {
				if err := ex.GemmInt8(s, a, bm, c); err != nil { // warm up
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := ex.GemmInt8(s, a, bm, c); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)*float64(b.N)/b.Elapsed().Seconds()/1e12, "TOPS")
			})
		}
	}
}
