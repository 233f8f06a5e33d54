package mlp_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
)

// BenchmarkInferAndVerify reports the CPU executor's inference throughput and what a committee
// member's Verify costs next to it, for one challenge.
func BenchmarkInferAndVerify(b *testing.B) {
	for _, tc := range []struct {
		widths []int
		rows   int
	}{
		{[]int{512, 512, 512, 10}, 512},
		{[]int{2048, 2048, 2048, 10}, 2048},
	} {
		b.Run(fmt.Sprintf("widths=%v/rows=%d", tc.widths, tc.rows), func(b *testing.B) {
			m := mlp.RandomModel(1, tc.widths)
			x := gemm.Generate(2, tc.rows, tc.widths[0])
			var out bytes.Buffer
			out.Grow(int(mlp.ResultSize(tc.widths, tc.rows)))
			var tInfer, tVerify time.Duration
			for i := 0; i < b.N; i++ {
				out.Reset()
				start := time.Now()
				if err := mlp.Infer(gemm.CPU{}, m, x, tc.rows, &out); err != nil {
					b.Fatal(err)
				}
				tInfer += time.Since(start)
				start = time.Now()
				if _, err := mlp.Verify(bytes.NewReader(out.Bytes()), m, x, tc.rows, [32]byte{byte(i)}); err != nil {
					b.Fatal(err)
				}
				tVerify += time.Since(start)
			}
			b.ReportMetric(float64(tc.rows)*float64(b.N)/tInfer.Seconds(), "rows/s")
			b.ReportMetric(float64(tInfer.Milliseconds())/float64(b.N), "infer-ms")
			b.ReportMetric(float64(tVerify.Milliseconds())/float64(b.N), "verify-ms")
			b.ReportMetric(float64(tVerify)/float64(tInfer), "verify/infer")
		})
	}
}
