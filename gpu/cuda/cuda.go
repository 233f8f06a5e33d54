//go:build linux

// Package cuda is the GPU executor: the CUDA driver (libcuda.so.1) and cuBLAS are opened at run
// time through purego, so the binary needs no CUDA headers or libraries to build, and runs on
// machines without them. The primary context of device 0 lives on one locked OS thread, and every
// call runs there. gemm-int8/v1 is one cublasGemmEx with int8 inputs, int32 output and 32-bit
// integer compute.
package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// cuBLAS and CUDA constants (cublas_api.h, library_types.h).
const (
	cudaR8I           = 3
	cudaR32I          = 10
	cublasCompute32I  = 72
	cublasGemmDefault = -1
	cublasOpN         = 0
)

// minK is the least k a product is run with: cuBLAS (13, on an H200) has no int8 kernel for
// many rows with k < 128 (CUBLAS_STATUS_NOT_SUPPORTED), as training's weight gradients have
// (k is the batch); zero padding leaves the product unchanged.
const minK = 128

type driver struct {
	cuInit                    func(flags uint32) int32
	cuDeviceGet               func(dev *int32, ordinal int32) int32
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) int32
	cuDevicePrimaryCtxRelease func(dev int32) int32
	cuCtxSetCurrent           func(ctx uintptr) int32
	cuCtxSynchronize          func() int32
	cuMemAlloc                func(dptr *uintptr, size uint64) int32
	cuMemFree                 func(dptr uintptr) int32
	cuMemcpyHtoD              func(dst uintptr, src unsafe.Pointer, size uint64) int32
	cuMemcpyDtoH              func(dst unsafe.Pointer, src uintptr, size uint64) int32
	cuDeviceGetName           func(name *byte, length int32, dev int32) int32

	cublasCreate  func(handle *uintptr) int32
	cublasDestroy func(handle uintptr) int32
	cublasGemmEx  func(handle uintptr, transa, transb int32, m, n, k int32, alpha unsafe.Pointer,
		a uintptr, atype int32, lda int32, b uintptr, btype int32, ldb int32, beta unsafe.Pointer,
		c uintptr, ctype int32, ldc int32, computeType int32, algo int32) int32
}

// Executor runs gemm on GPU 0. Close releases it.
type Executor struct {
	calls  chan func()
	name   string
	drv    *driver
	handle uintptr
}

var _ gemm.Executor = (*Executor)(nil)

// cublasCandidates are where cuBLAS is looked for: $OGPU_CUBLAS, the loader's path, and the
// lib directory of the nvidia-cublas pip wheel under the Python site directories.
func cublasCandidates() []string {
	var out []string
	if p := os.Getenv("OGPU_CUBLAS"); p != "" {
		out = append(out, p)
	}
	out = append(out, "libcublas.so.13", "libcublas.so.12", "libcublas.so")
	for _, glob := range []string{
		"/usr/local/lib/python3*/dist-packages/nvidia/cublas/lib/libcublas.so.*",
		"/usr/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so.*",
		"/usr/local/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so.*",
		"/usr/local/cuda/lib64/libcublas.so.*",
	} {
		matches, _ := filepath.Glob(glob)
		out = append(out, matches...)
	}
	return out
}

func dlopen(names []string) (uintptr, error) {
	var errs []error
	for _, n := range names {
		h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return h, nil
		}
		errs = append(errs, err)
	}
	return 0, fmt.Errorf("none of %v: %w", names, errors.Join(errs...))
}

// Open loads the driver and cuBLAS and makes the primary context of GPU 0 current on a thread
// of its own. Without a GPU, a driver or cuBLAS it returns an error that says which.
func Open() (*Executor, error) {
	cudaLib, err := dlopen([]string{"libcuda.so.1"})
	if err != nil {
		return nil, fmt.Errorf("CUDA driver: %w", err)
	}
	blasLib, err := dlopen(cublasCandidates())
	if err != nil {
		return nil, fmt.Errorf("cuBLAS: %w", err)
	}
	d := &driver{}
	for name, fn := range map[string]any{
		"cuInit": &d.cuInit, "cuDeviceGet": &d.cuDeviceGet, "cuDevicePrimaryCtxRetain": &d.cuDevicePrimaryCtxRetain,
		"cuDevicePrimaryCtxRelease_v2": &d.cuDevicePrimaryCtxRelease, "cuCtxSetCurrent": &d.cuCtxSetCurrent,
		"cuCtxSynchronize": &d.cuCtxSynchronize, "cuMemAlloc_v2": &d.cuMemAlloc, "cuMemFree_v2": &d.cuMemFree,
		"cuMemcpyHtoD_v2": &d.cuMemcpyHtoD, "cuMemcpyDtoH_v2": &d.cuMemcpyDtoH, "cuDeviceGetName": &d.cuDeviceGetName,
	} {
		if err := register(cudaLib, name, fn); err != nil {
			return nil, err
		}
	}
	for name, fn := range map[string]any{
		"cublasCreate_v2": &d.cublasCreate, "cublasDestroy_v2": &d.cublasDestroy, "cublasGemmEx": &d.cublasGemmEx,
	} {
		if err := register(blasLib, name, fn); err != nil {
			return nil, err
		}
	}

	e := &Executor{calls: make(chan func()), drv: d}
	ready := make(chan error)
	go e.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return e, nil
}

func register(lib uintptr, name string, fn any) error {
	sym, err := purego.Dlsym(lib, name)
	if err != nil {
		return fmt.Errorf("symbol %s: %w", name, err)
	}
	purego.RegisterFunc(fn, sym)
	return nil
}

// loop owns the OS thread the context is current on, and runs every call there.
func (e *Executor) loop(ready chan<- error) {
	runtime.LockOSThread()
	d := e.drv
	var dev int32
	var ctx uintptr
	if err := check("cuInit", d.cuInit(0)); err != nil {
		ready <- err
		return
	}
	if err := check("cuDeviceGet", d.cuDeviceGet(&dev, 0)); err != nil {
		ready <- err
		return
	}
	if err := check("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&ctx, dev)); err != nil {
		ready <- err
		return
	}
	if err := check("cuCtxSetCurrent", d.cuCtxSetCurrent(ctx)); err != nil {
		ready <- err
		return
	}
	if err := check("cublasCreate", d.cublasCreate(&e.handle)); err != nil {
		ready <- err
		return
	}
	name := make([]byte, 256)
	if d.cuDeviceGetName(&name[0], int32(len(name)), dev) == 0 {
		for i, b := range name {
			if b == 0 {
				name = name[:i]
				break
			}
		}
		e.name = "cuda:" + string(name)
	} else {
		e.name = "cuda"
	}
	ready <- nil
	for call := range e.calls {
		call()
	}
	d.cublasDestroy(e.handle)
	d.cuDevicePrimaryCtxRelease(dev)
}

func check(what string, code int32) error {
	if code != 0 {
		return fmt.Errorf("%s: CUDA error %d", what, code)
	}
	return nil
}

// do runs f on the context's thread.
func (e *Executor) do(f func() error) error {
	errc := make(chan error, 1)
	e.calls <- func() { errc <- f() }
	return <-errc
}

// Name implements gemm.Executor.
func (e *Executor) Name() string { return e.name }

// Close releases the GPU.
func (e *Executor) Close() { close(e.calls) }

func pad4(x int) int { return (x + 3) &^ 3 }

// GemmInt8 implements gemm.Executor. cuBLAS is column-major, so the row-major C = A·B is computed
// as the column-major Cᵀ = Bᵀ·Aᵀ, which reads A and B as they are. Integer GEMM wants leading
// dimensions that are multiples of 4: n and k are padded with zeros when they are not (k to at
// least minK), which leaves the products unchanged.
func (e *Executor) GemmInt8(s gemm.Shape, a, b []int8, c []int32) error {
	if len(a) != s.M*s.K || len(b) != s.K*s.N || len(c) != s.M*s.N {
		return fmt.Errorf("gemm %dx%dx%d: got A %d, B %d, C %d values", s.M, s.N, s.K, len(a), len(b), len(c))
	}
	n4, k4 := pad4(s.N), max(pad4(s.K), minK)
	ha, hb, hc := a, b, c
	if n4 != s.N || k4 != s.K {
		ha = make([]int8, s.M*k4)
		for i := 0; i < s.M; i++ {
			copy(ha[i*k4:], a[i*s.K:(i+1)*s.K])
		}
		hb = make([]int8, k4*n4)
		for p := 0; p < s.K; p++ {
			copy(hb[p*n4:], b[p*s.N:(p+1)*s.N])
		}
		hc = make([]int32, s.M*n4)
	}
	_, err := e.run(s, n4, k4, ha, hb, hc)
	runtime.KeepAlive(ha)
	runtime.KeepAlive(hb)
	if err != nil {
		return err
	}
	if n4 != s.N || k4 != s.K {
		// C came back in a buffer of its own (padded when n is)
		for i := 0; i < s.M; i++ {
			copy(c[i*s.N:(i+1)*s.N], hc[i*n4:i*n4+s.N])
		}
	}
	return nil
}

// Timings splits one product into its host-to-device copies, the GEMM and the copy back.
type Timings struct{ CopyIn, Gemm, CopyOut time.Duration }

// run does one product on the GPU thread and times its parts (each ends with a synchronize).
func (e *Executor) run(s gemm.Shape, n4, k4 int, ha, hb []int8, hc []int32) (Timings, error) {
	var tm Timings
	err := e.do(func() error {
		d := e.drv
		var da, db, dc uintptr
		sizeA, sizeB, sizeC := uint64(len(ha)), uint64(len(hb)), uint64(4*len(hc))
		if err := check("cuMemAlloc A", d.cuMemAlloc(&da, sizeA)); err != nil {
			return err
		}
		defer d.cuMemFree(da)
		if err := check("cuMemAlloc B", d.cuMemAlloc(&db, sizeB)); err != nil {
			return err
		}
		defer d.cuMemFree(db)
		if err := check("cuMemAlloc C", d.cuMemAlloc(&dc, sizeC)); err != nil {
			return err
		}
		defer d.cuMemFree(dc)
		start := time.Now()
		if err := check("copy A", d.cuMemcpyHtoD(da, unsafe.Pointer(&ha[0]), sizeA)); err != nil {
			return err
		}
		if err := check("copy B", d.cuMemcpyHtoD(db, unsafe.Pointer(&hb[0]), sizeB)); err != nil {
			return err
		}
		tm.CopyIn = time.Since(start)
		start = time.Now()
		alpha, beta := int32(1), int32(0)
		code := d.cublasGemmEx(e.handle, cublasOpN, cublasOpN,
			int32(n4), int32(s.M), int32(k4), unsafe.Pointer(&alpha),
			db, cudaR8I, int32(n4), da, cudaR8I, int32(k4), unsafe.Pointer(&beta),
			dc, cudaR32I, int32(n4), cublasCompute32I, cublasGemmDefault)
		if err := check("cublasGemmEx", code); err != nil {
			return err
		}
		if err := check("cuCtxSynchronize", d.cuCtxSynchronize()); err != nil {
			return err
		}
		tm.Gemm = time.Since(start)
		start = time.Now()
		err := check("copy C", d.cuMemcpyDtoH(unsafe.Pointer(&hc[0]), dc, sizeC))
		tm.CopyOut = time.Since(start)
		return err
	})
	return tm, err
}

// Profile runs one square-friendly product (n and k multiples of 4) and returns its timings:
// the GEMM alone is what a bare cuBLAS call costs, the rest is the executor's copies.
func (e *Executor) Profile(s gemm.Shape, a, b []int8) (Timings, error) {
	if s.N%4 != 0 || s.K%4 != 0 || len(a) != s.M*s.K || len(b) != s.K*s.N {
		return Timings{}, fmt.Errorf("profile %dx%dx%d: n and k must be multiples of 4", s.M, s.N, s.K)
	}
	c := make([]int32, s.M*s.N)
	tm, err := e.run(s, s.N, s.K, a, b, c)
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	return tm, err
}
