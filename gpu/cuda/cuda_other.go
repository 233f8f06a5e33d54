//go:build !linux

// Package cuda is the GPU executor; it is built for Linux only.
package cuda

import (
	"errors"
	"time"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// Executor is not available off Linux.
type Executor struct{ gemm.CPU }

// Open reports that there is no GPU executor on this platform.
func Open() (*Executor, error) { return nil, errors.New("the CUDA executor is built for Linux only") }

// Close does nothing.
func (*Executor) Close() {}

// Timings are the parts of one GPU product.
type Timings struct{ CopyIn, Gemm, CopyOut time.Duration }

// Profile is not available off Linux.
func (*Executor) Profile(gemm.Shape, []int8, []int8) (Timings, error) {
	return Timings{}, errors.New("the CUDA executor is built for Linux only")
}
