package gemm_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// BenchmarkCPUExecutor reports the CPU executor's multiply-adds per second at 512³ and its ratio
// to the naive triple loop timed in the same run.
func BenchmarkCPUExecutor(b *testing.B) {
	s := gemm.Shape{M: 512, N: 512, K: 512}
	a, bm := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
	c := make([]int32, s.M*s.N)
	var tExec, tNaive time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := (gemm.CPU{}).GemmInt8(s, a, bm, c); err != nil {
			b.Fatal(err)
		}
		tExec += time.Since(start)
		start = time.Now()
		gemm.Naive(s, a, bm)
		tNaive += time.Since(start)
	}
	macs := float64(s.M*s.N*s.K) * float64(b.N)
	b.ReportMetric(macs/tExec.Seconds()/1e9, "GMAC/s")
	b.ReportMetric(macs/tNaive.Seconds()/1e9, "naive-GMAC/s")
	b.ReportMetric(float64(tNaive)/float64(tExec), "x-naive")
}

// BenchmarkVerifyOverExecute reports Freivalds' cost as a share of the CPU executor's for square
// shapes (aim ≤ 2% at 2048).
func BenchmarkVerifyOverExecute(b *testing.B) {
	for _, n := range []int{512, 1024, 2048} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := gemm.Shape{M: n, N: n, K: n}
			a, bm := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
			c := make([]int32, s.M*s.N)
			var tExec, tVerify time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := (gemm.CPU{}).GemmInt8(s, a, bm, c); err != nil {
					b.Fatal(err)
				}
				tExec += time.Since(start)
				result := gemm.Encode(s, c)
				start = time.Now()
				if err := gemm.Verify(bytes.NewReader(result), s, a, bm); err != nil {
					b.Fatal(err)
				}
				tVerify += time.Since(start)
			}
			b.ReportMetric(float64(tVerify)/float64(tExec)*100, "verify-%-of-exec")
			b.ReportMetric(float64(tExec.Milliseconds())/float64(b.N), "exec-ms")
			b.ReportMetric(float64(tVerify.Milliseconds())/float64(b.N), "verify-ms")
		})
	}
}

// BenchmarkKernel reports GMAC/s at 1024³ for every kernel path (B packed on every call) and for
// the VNNI path with B packed once ("packed").
func BenchmarkKernel(b *testing.B) {
	s := gemm.Shape{M: 1024, N: 1024, K: 1024}
	a, bm := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
	c := make([]int32, s.M*s.N)
	macs := float64(s.M * s.N * s.K)
	for _, name := range gemm.Paths {
		b.Run(name, func(b *testing.B) {
			restore, ok := gemm.ForcePath(name)
			defer restore()
			if !ok {
				b.Skipf("no %s path on this CPU", name)
			}
			for b.Loop() {
				if err := (gemm.CPU{}).GemmInt8(s, a, bm, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
	b.Run("packed", func(b *testing.B) {
		pb := gemm.PackB(s.K, s.N, bm)
		for b.Loop() {
			if err := (gemm.CPU{}).GemmInt8Packed(s.M, a, pb, c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
}

// BenchmarkPackedLayer reports GMAC/s of GemmInt8Packed on layer shapes (m = batch, k = in,
// n = out) on the path chosen for this CPU.
func BenchmarkPackedLayer(b *testing.B) {
	for _, s := range []gemm.Shape{{M: 1, K: 784, N: 128}, {M: 64, K: 784, N: 128}, {M: 1000, K: 784, N: 128}, {M: 1000, K: 128, N: 10}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.M, s.K, s.N), func(b *testing.B) {
			a, bm := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
			pb := gemm.PackB(s.K, s.N, bm)
			c := make([]int32, s.M*s.N)
			for b.Loop() {
				if err := (gemm.CPU{}).GemmInt8Packed(s.M, a, pb, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.M*s.N*s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
