// Package gpu owns the GPU side of a provider: device discovery through go-nvml (gpu/device),
// the gemm-int8/v1 workload with its CPU executor and Freivalds verifier (gpu/gemm), and the
// CUDA executor through purego (gpu/cuda). x/* never imports it.
package gpu
