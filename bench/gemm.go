package bench

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/opengpu/ogpu/gpu/cuda"
	"github.com/opengpu/ogpu/gpu/gemm"
)

// GemmResult is what the gemm benchmark (`ogpud bench gemm`) measures.
type GemmResult struct {
	NumCPU int `json:"num_cpu"`
	// Kernels are the CPU kernel paths at KernelN³ against the naive loop.
	KernelN      int            `json:"kernel_n"`
	KernelNaive  float64        `json:"kernel_naive_gmac_per_second"`
	Kernels      []KernelResult `json:"kernels"`
	CPUGMACs     float64        `json:"cpu_gmac_per_second"`
	NaiveGMACs   float64        `json:"naive_gmac_per_second"`
	CPUOverNaive float64        `json:"cpu_over_naive"`
	GPU          string         `json:"gpu,omitempty"`
	NoGPU        string         `json:"no_gpu,omitempty"`
	CUDA         *CUDAResult    `json:"cuda,omitempty"`
	Verify       []VerifyShape  `json:"verify"`
}

// KernelResult is one CPU kernel path's speed.
type KernelResult struct {
	Path  string  `json:"path"`
	GMACs float64 `json:"gmac_per_second"`
}

// CUDAResult compares the CUDA executor with a bare cuBLAS call and with the CPU.
type CUDAResult struct {
	N               int     `json:"n"`
	ExecutorTOPS    float64 `json:"executor_int8_tops"`
	BareCublasTOPS  float64 `json:"bare_cublas_int8_tops"`
	ExecutorOverRaw float64 `json:"executor_over_bare"`
	CopyShare       float64 `json:"copy_share"`
	OverCPU         float64 `json:"executor_over_cpu"`
}

// VerifyShape is execution and verification time for one size.
type VerifyShape struct {
	N             int     `json:"n"`
	Executor      string  `json:"executor"`
	ExecSeconds   float64 `json:"exec_seconds"`
	VerifySeconds float64 `json:"verify_seconds"`
	Ratio         float64 `json:"verify_over_exec"`
}

// Gemm measures the executors and verification in this process.
func Gemm(sizes []int) (GemmResult, error) {
	res := GemmResult{NumCPU: runtime.NumCPU()}
	const n0 = 512
	s := gemm.Shape{M: n0, N: n0, K: n0}
	a, b := gemm.Generate(1, n0, n0), gemm.Generate(2, n0, n0)
	macs := float64(n0) * n0 * n0
	cpuTime, err := best(3, func() error { return gemm.CPU{}.GemmInt8(s, a, b, make([]int32, n0*n0)) })
	if err != nil {
		return res, err
	}
	naiveTime, _ := best(1, func() error { gemm.Naive(s, a, b); return nil })
	res.CPUGMACs, res.NaiveGMACs = macs/cpuTime/1e9, macs/naiveTime/1e9
	res.CPUOverNaive = naiveTime / cpuTime
	if err := benchKernels(&res); err != nil {
		return res, err
	}

	var exec gemm.Executor = gemm.CPU{}
	if e, err := cuda.Open(); err != nil {
		res.NoGPU = err.Error()
	} else {
		defer e.Close()
		exec, res.GPU = e, e.Name()
		if res.CUDA, err = benchCUDA(e, res.CPUGMACs); err != nil {
			return res, err
		}
	}
	for _, n := range sizes {
		s := gemm.Shape{M: n, N: n, K: n}
		a, b := gemm.Generate(uint64(n), n, n), gemm.Generate(uint64(n)+1, n, n)
		c := make([]int32, n*n)
		execTime, err := best(3, func() error { return exec.GemmInt8(s, a, b, c) })
		if err != nil {
			return res, err
		}
		encoded := gemm.Encode(s, c)
		verifyTime, err := best(3, func() error { return gemm.Verify(bytes.NewReader(encoded), s, a, b) })
		if err != nil {
			return res, fmt.Errorf("verify n=%d: %w", n, err)
		}
		res.Verify = append(res.Verify, VerifyShape{
			N: n, Executor: exec.Name(), ExecSeconds: execTime, VerifySeconds: verifyTime, Ratio: verifyTime / execTime,
		})
	}
	return res, nil
}

// benchKernels times every kernel path this CPU runs at 1024³, packing included, and the naive
// loop at the same size.
func benchKernels(res *GemmResult) error {
	const n = 1024
	s := gemm.Shape{M: n, N: n, K: n}
	a, b := gemm.Generate(5, n, n), gemm.Generate(6, n, n)
	c := make([]int32, n*n)
	macs := float64(n) * n * n
	res.KernelN = n
	naive, _ := best(1, func() error { gemm.Naive(s, a, b); return nil })
	res.KernelNaive = macs / naive / 1e9
	for _, p := range gemm.KernelPaths() {
		runs := 5
		if p == "generic" {
			runs = 1
		}
		t, err := best(runs, func() error { return gemm.CPU{Path: p}.GemmInt8(s, a, b, c) })
		if err != nil {
			return err
		}
		res.Kernels = append(res.Kernels, KernelResult{Path: p, GMACs: macs / t / 1e9})
	}
	return nil
}

// benchCUDA runs a 4096³ product through the CUDA executor, and its GEMM alone.
func benchCUDA(e *cuda.Executor, cpuGMACs float64) (*CUDAResult, error) {
	const n = 4096
	s := gemm.Shape{M: n, N: n, K: n}
	a, b := gemm.Generate(3, n, n), gemm.Generate(4, n, n)
	if _, err := e.Profile(s, a, b); err != nil { // warm up: context, cuBLAS heuristics
		return nil, err
	}
	var total, bare, copies time.Duration
	const runs = 5
	for range runs {
		tm, err := e.Profile(s, a, b)
		if err != nil {
			return nil, err
		}
		total += tm.CopyIn + tm.Gemm + tm.CopyOut
		bare += tm.Gemm
		copies += tm.CopyIn + tm.CopyOut
	}
	ops := 2 * float64(n) * n * n * runs
	r := &CUDAResult{
		N: n, ExecutorTOPS: ops / total.Seconds() / 1e12, BareCublasTOPS: ops / bare.Seconds() / 1e12,
		ExecutorOverRaw: bare.Seconds() / total.Seconds(), CopyShare: copies.Seconds() / total.Seconds(),
	}
	r.OverCPU = r.ExecutorTOPS * 1e12 / 2 / (cpuGMACs * 1e9)
	return r, nil
}

// best runs f runs times and returns the shortest time in seconds.
func best(runs int, f func() error) (float64, error) {
	times := make([]float64, 0, runs)
	for range runs {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start).Seconds())
	}
	return slices.Min(times), nil
}
