// Package gpu owns the GPU side of a provider: device discovery through go-nvml (gpu/device),
// and, with the sidecar, the executors and the workload verifiers. x/* never imports it.
package gpu
