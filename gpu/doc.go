// Package gpu will own the GPU side of a provider: device discovery through go-nvml, the
// executors (the pure-Go CPU reference and CUDA through purego) and the workload verifiers.
// It is empty until the staking-gpu and sidecar issues land; x/* never imports it.
package gpu
