// Package gpu owns the compute side of a provider: device discovery through go-nvml
// (gpu/device), the gemm-int8/v1 workload with the int8 kernels every workload's products run on
// and Freivalds' check (gpu/gemm), the integer MLP workloads infer-mlp-int8/v1 and
// train-mlp-int8/v1 with their checks (gpu/mlp), and the CUDA executor through purego
// (gpu/cuda). x/* never imports it.
package gpu
