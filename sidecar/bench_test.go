package sidecar

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/x/compute/workload"
)

// BenchmarkVerifyMaxShape16384 verifies the result of the largest task the chain allows,
// m = n = k = 16384 (workload.GemmMaxDim): A and B of 256 MiB each and a result of 1 GiB, all
// downloaded from a local server as a committee member downloads them, through the streaming
// check (hash and Freivalds, row by row); see VerifyMemoryBench. It reports the peak heap during
// the check and, measured once in the same run, the peak of the whole-in-memory path it replaced
// (every blob read whole, the inputs copied to int8, then the check), and their ratio.
//
//	go test ./sidecar -run '^$' -bench VerifyMaxShape16384 -benchmem
func BenchmarkVerifyMaxShape16384(b *testing.B) {
	v, err := NewVerifyMemoryBench(workload.GemmMaxDim)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()

	var peak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := v.Streamed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, p)
	}
	b.StopTimer()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")

	start := time.Now()
	old, err := v.WholeInMemory(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(old)/(1<<20), "whole-in-memory-peak-MiB")
	b.ReportMetric(time.Since(start).Seconds(), "whole-in-memory-s")
	b.ReportMetric(float64(old)/float64(max(peak, 1)), "x-less-peak")
}

// TestVerifyMemoryBenchAccepts: on a small shape, both paths of the benchmark accept the
// served result, so the peaks it reports are those of a whole verification.
func TestVerifyMemoryBenchAccepts(t *testing.T) {
	v, err := NewVerifyMemoryBench(96)
	require.NoError(t, err)
	defer v.Close()
	require.Equal(t, uint64(2*96*96+32+4*96*96), v.Downloaded)
	_, err = v.Streamed(context.Background())
	require.NoError(t, err)
	_, err = v.WholeInMemory(context.Background())
	require.NoError(t, err)
}
