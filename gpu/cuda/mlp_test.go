//go:build linux

package cuda_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
)

// TestCUDAInferEqualsCPU: an infer-mlp-int8 result computed with the GPU's products is the CPU
// executor's, byte for byte, so a GPU provider's result passes the committee's check.
func TestCUDAInferEqualsCPU(t *testing.T) {
	e := open(t)
	defer e.Close()
	for _, tc := range []struct {
		widths []int
		rows   int
	}{
		{[]int{784, 128, 10}, 1000},
		{[]int{13, 7, 3}, 5}, // widths that are no multiple of 4
		{[]int{2048, 2048, 2048, 10}, 512},
	} {
		t.Run(fmt.Sprint(tc.widths, tc.rows), func(t *testing.T) {
			m := mlp.RandomModel(7, tc.widths)
			x := gemm.Generate(8, tc.rows, tc.widths[0])
			var cpu, gpu bytes.Buffer
			require.NoError(t, mlp.Infer(gemm.CPU{}, m, x, tc.rows, &cpu))
			require.NoError(t, mlp.Infer(e, m, x, tc.rows, &gpu))
			require.Equal(t, cpu.Bytes(), gpu.Bytes())
			_, err := mlp.Verify(bytes.NewReader(gpu.Bytes()), m, x, tc.rows, [32]byte{1})
			require.NoError(t, err)
		})
	}
}

// TestCUDATrainEqualsCPU: training steps with the GPU's products reach the CPU executor's
// states, hash for hash.
func TestCUDATrainEqualsCPU(t *testing.T) {
	e := open(t)
	defer e.Close()
	const rows = 512
	ds := &mlp.Dataset{Rows: rows, Cols: 784, Classes: 10, Features: gemm.Generate(3, rows, 784), Labels: make([]uint8, rows)}
	for i := range ds.Labels {
		ds.Labels[i] = uint8(i * 7 % 10)
	}
	p := mlp.MNISTParams(11)
	p.Steps = 20
	cpu, err := mlp.Train(gemm.CPU{}, p, ds, nil)
	require.NoError(t, err)
	gpu, err := mlp.Train(e, p, ds, nil)
	require.NoError(t, err)
	require.Equal(t, cpu.StateHashes, gpu.StateHashes)
	require.Equal(t, cpu.Model.Encode(), gpu.Model.Encode())
}

// BenchmarkMLPInfer reports inference rows/s at 2048-wide layers on the GPU and on the CPU.
func BenchmarkMLPInfer(b *testing.B) {
	e := open(b)
	defer e.Close()
	widths, rows := []int{2048, 2048, 2048, 10}, 4096
	m := mlp.RandomModel(7, widths)
	x := gemm.Generate(8, rows, widths[0])
	for _, ex := range []gemm.Executor{e, gemm.CPU{}} {
		b.Run(ex.Name(), func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, _, _, err := mlp.Forward(ex, m, x, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/time.Since(start).Seconds(), "rows/s")
		})
	}
}

// BenchmarkMLPTrainStep reports MNIST-shaped training steps/s (784-128-10, batch 64 and 1024)
// on the GPU and on the CPU.
func BenchmarkMLPTrainStep(b *testing.B) {
	e := open(b)
	defer e.Close()
	const rows = 4096
	ds := &mlp.Dataset{Rows: rows, Cols: 784, Classes: 10, Features: gemm.Generate(3, rows, 784), Labels: make([]uint8, rows)}
	for i := range ds.Labels {
		ds.Labels[i] = uint8(i * 7 % 10)
	}
	for _, batch := range []int{64, 1024} {
		for _, ex := range []gemm.Executor{e, gemm.CPU{}} {
			b.Run(fmt.Sprintf("batch=%d/%s", batch, ex.Name()), func(b *testing.B) {
				p := mlp.MNISTParams(1)
				p.Batch, p.Steps = batch, b.N
				st := mlp.InitState(p)
				start := time.Now()
				for i := 0; i < b.N; i++ {
					if err := mlp.TrainStep(ex, p, ds, st); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "steps/s")
			})
		}
	}
}
