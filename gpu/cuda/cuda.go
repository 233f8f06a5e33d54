//go:build linux

// Package cuda is the GPU executor: the CUDA driver (libcuda.so.1) and cuBLAS are opened at run
// time through purego, so the binary needs no CUDA headers or libraries to build, and runs on
// machines without them. The primary context of device 0 lives on one locked OS thread, and every
// call runs there. gemm-int8/v1 is one cublasGemmEx with int8 inputs, int32 output and 32-bit
// integer compute. Device buffers and page-locked staging buffers are kept across calls (they
// only grow), and large products go through in bands of rows, so that copies overlap the GEMM.
package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// cuBLAS and CUDA constants (cublas_api.h, library_types.h, cuda.h).
const (
	cudaR8I           = 3
	cudaR32I          = 10
	cublasCompute32I  = 72
	cublasGemmDefault = -1
	cublasOpN         = 0

	cuStreamNonBlocking  = 1
	cuEventDisableTiming = 2
)

// minK is the least k a product is run with: cuBLAS (13, on an H200) has no int8 kernel for
// many rows with k < 128 (CUBLAS_STATUS_NOT_SUPPORTED), as training's weight gradients have
// (k is the batch); zero padding leaves the product unchanged.
const minK = 128

// Products are split into bands of rows of A and C so that one band's copies overlap another's
// GEMM: about one band per bandBytes moved, at most maxBands, each of at least minBandRows rows
// (fewer rows leave SMs idle) and a multiple of 128 rows (keeps band pointers aligned).
const (
	maxBands    = 8
	bandBytes   = 16 << 20
	minBandRows = 1024
)

// Buffers grow in steps of bufStep, so products of nearby sizes share them.
const bufStep = 2 << 20

type driver struct {
	cuInit                    func(flags uint32) int32
	cuDeviceGet               func(dev *int32, ordinal int32) int32
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) int32
	cuDevicePrimaryCtxRelease func(dev int32) int32
	cuCtxSetCurrent           func(ctx uintptr) int32
	cuCtxSynchronize          func() int32
	cuDeviceGetName           func(name *byte, length int32, dev int32) int32
	cuMemAlloc                func(dptr *uintptr, size uint64) int32
	cuMemFree                 func(dptr uintptr) int32
	cuMemHostAlloc            func(p *unsafe.Pointer, size uint64, flags uint32) int32
	cuMemFreeHost             func(p unsafe.Pointer) int32
	cuMemcpyHtoDAsync         func(dst uintptr, src unsafe.Pointer, size uint64, stream uintptr) int32
	cuMemcpyDtoHAsync         func(dst unsafe.Pointer, src uintptr, size uint64, stream uintptr) int32
	cuStreamCreate            func(stream *uintptr, flags uint32) int32
	cuStreamDestroy           func(stream uintptr) int32
	cuStreamSynchronize       func(stream uintptr) int32
	cuStreamWaitEvent         func(stream, event uintptr, flags uint32) int32
	cuEventCreate             func(event *uintptr, flags uint32) int32
	cuEventDestroy            func(event uintptr) int32
	cuEventRecord             func(event, stream uintptr) int32
	cuEventSynchronize        func(event uintptr) int32
	cuEventElapsedTime        func(ms *float32, start, end uintptr) int32

	cublasCreate    func(handle *uintptr) int32
	cublasDestroy   func(handle uintptr) int32
	cublasSetStream func(handle, stream uintptr) int32
	cublasGemmEx    func(handle uintptr, transa, transb int32, m, n, k int32, alpha unsafe.Pointer,
		a uintptr, atype int32, lda int32, b uintptr, btype int32, ldb int32, beta unsafe.Pointer,
		c uintptr, ctype int32, ldc int32, computeType int32, algo int32) int32
}

// Buffers are indexed by operand.
const (
	opA = iota
	opB
	opC
)

// Executor runs gemm on GPU 0. Close releases it.
type Executor struct {
	calls  chan func()
	name   string
	drv    *driver
	handle uintptr

	// Everything below is used on the context's thread only.
	bands    int               // bands per product; 0 picks them by size (tests set it)
	dev      [3]uintptr        // device A, B, C
	devSize  [3]uint64         // their sizes
	host     [3]unsafe.Pointer // page-locked staging of A, B, C
	hostSize [3]uint64
	// Copies in run on streams[0], GEMMs on streams[1], copies out on streams[2]; the events
	// order them band by band.
	streams                   [3]uintptr
	inDone, gemmDone, outDone [maxBands]uintptr
	start, gemmStart          uintptr // timing events for Profile
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
	if err := registerAll(cudaLib, map[string]any{
		"cuInit": &d.cuInit, "cuDeviceGet": &d.cuDeviceGet, "cuDevicePrimaryCtxRetain": &d.cuDevicePrimaryCtxRetain,
		"cuDevicePrimaryCtxRelease_v2": &d.cuDevicePrimaryCtxRelease, "cuCtxSetCurrent": &d.cuCtxSetCurrent,
		"cuCtxSynchronize": &d.cuCtxSynchronize, "cuDeviceGetName": &d.cuDeviceGetName,
		"cuMemAlloc_v2": &d.cuMemAlloc, "cuMemFree_v2": &d.cuMemFree,
		"cuMemHostAlloc": &d.cuMemHostAlloc, "cuMemFreeHost": &d.cuMemFreeHost,
		"cuMemcpyHtoDAsync_v2": &d.cuMemcpyHtoDAsync, "cuMemcpyDtoHAsync_v2": &d.cuMemcpyDtoHAsync,
		"cuStreamCreate": &d.cuStreamCreate, "cuStreamDestroy_v2": &d.cuStreamDestroy,
		"cuStreamSynchronize": &d.cuStreamSynchronize, "cuStreamWaitEvent": &d.cuStreamWaitEvent,
		"cuEventCreate": &d.cuEventCreate, "cuEventDestroy_v2": &d.cuEventDestroy, "cuEventRecord": &d.cuEventRecord,
		"cuEventSynchronize": &d.cuEventSynchronize,
	}); err != nil {
		return nil, fmt.Errorf("CUDA driver: %w", err)
	}
	// CUDA 12.8 added a _v2 that cuda.h 13 names by default; drivers keep the first for old binaries.
	if err := register(cudaLib, "cuEventElapsedTime_v2", &d.cuEventElapsedTime); err != nil {
		if err := register(cudaLib, "cuEventElapsedTime", &d.cuEventElapsedTime); err != nil {
			return nil, fmt.Errorf("CUDA driver: %w", err)
		}
	}
	if err := registerAll(blasLib, map[string]any{
		"cublasCreate_v2": &d.cublasCreate, "cublasDestroy_v2": &d.cublasDestroy,
		"cublasSetStream_v2": &d.cublasSetStream, "cublasGemmEx": &d.cublasGemmEx,
	}); err != nil {
		return nil, fmt.Errorf("cuBLAS: %w", err)
	}

	e := &Executor{calls: make(chan func()), drv: d}
	ready := make(chan error)
	go e.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return e, nil
}

// registerAll binds every symbol before any is used, so a library that lacks one is an error
// from Open.
func registerAll(lib uintptr, fns map[string]any) error {
	for name, fn := range fns {
		if err := register(lib, name, fn); err != nil {
			return err
		}
	}
	return nil
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
	defer d.cuDevicePrimaryCtxRelease(dev)
	if err := check("cuCtxSetCurrent", d.cuCtxSetCurrent(ctx)); err != nil {
		ready <- err
		return
	}
	defer e.release() // after the cuBLAS handle, which uses the streams, is destroyed
	if err := check("cublasCreate", d.cublasCreate(&e.handle)); err != nil {
		ready <- err
		return
	}
	defer d.cublasDestroy(e.handle)
	if err := e.setup(); err != nil {
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
}

// setup makes the streams and events every product uses; GEMMs run on streams[1].
func (e *Executor) setup() error {
	d := e.drv
	for i := range e.streams {
		if err := check("cuStreamCreate", d.cuStreamCreate(&e.streams[i], cuStreamNonBlocking)); err != nil {
			return err
		}
	}
	if err := check("cublasSetStream", d.cublasSetStream(e.handle, e.streams[1])); err != nil {
		return err
	}
	for _, evs := range [][]uintptr{e.inDone[:], e.gemmDone[:], e.outDone[:]} {
		for i := range evs {
			if err := check("cuEventCreate", d.cuEventCreate(&evs[i], cuEventDisableTiming)); err != nil {
				return err
			}
		}
	}
	for _, ev := range []*uintptr{&e.start, &e.gemmStart} {
		if err := check("cuEventCreate", d.cuEventCreate(ev, 0)); err != nil {
			return err
		}
	}
	return nil
}

// release frees what setup and the products made, once the GPU is done with it.
func (e *Executor) release() {
	d := e.drv
	d.cuCtxSynchronize()
	for _, evs := range [][]uintptr{e.inDone[:], e.gemmDone[:], e.outDone[:], {e.start, e.gemmStart}} {
		for _, ev := range evs {
			if ev != 0 {
				d.cuEventDestroy(ev)
			}
		}
	}
	for _, s := range e.streams {
		if s != 0 {
			d.cuStreamDestroy(s)
		}
	}
	for i := range e.dev {
		if e.dev[i] != 0 {
			d.cuMemFree(e.dev[i])
		}
		if e.host[i] != nil {
			d.cuMemFreeHost(e.host[i])
		}
	}
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

func roundUp(x, step uint64) uint64 { return (x + step - 1) / step * step }

// buffers returns device and page-locked host buffers of at least size bytes for operand op,
// replacing smaller ones. Nothing may be in flight.
func (e *Executor) buffers(op int, size uint64) (uintptr, unsafe.Pointer, error) {
	d := e.drv
	size = max(roundUp(size, bufStep), bufStep)
	if e.devSize[op] < size {
		if e.dev[op] != 0 {
			d.cuMemFree(e.dev[op])
			e.dev[op], e.devSize[op] = 0, 0
		}
		if err := check("cuMemAlloc", d.cuMemAlloc(&e.dev[op], size)); err != nil {
			return 0, nil, err
		}
		e.devSize[op] = size
	}
	if e.hostSize[op] < size {
		if e.host[op] != nil {
			d.cuMemFreeHost(e.host[op])
			e.host[op], e.hostSize[op] = nil, 0
		}
		if err := check("cuMemHostAlloc", d.cuMemHostAlloc(&e.host[op], size, 0)); err != nil {
			return 0, nil, err
		}
		e.hostSize[op] = size
	}
	return e.dev[op], e.host[op], nil
}

// bandRows is how many rows of A and C a band has, for m rows and size bytes moved in all.
func bandRows(m int, size uint64, bands int) int {
	if bands == 0 {
		bands = min(int(size/bandBytes), m/minBandRows)
	}
	bands = min(max(bands, 1), maxBands)
	return int(roundUp(uint64((m+bands-1)/bands), 128))
}

// GemmInt8 implements gemm.Executor. cuBLAS is column-major, so the row-major C = A·B is computed
// as the column-major Cᵀ = Bᵀ·Aᵀ, which reads A and B as they are. Integer GEMM wants leading
// dimensions that are multiples of 4: n and k are padded with zeros when they are not (k to at
// least minK), which leaves the products unchanged.
func (e *Executor) GemmInt8(s gemm.Shape, a, b []int8, c []int32) error {
	if len(a) != s.M*s.K || len(b) != s.K*s.N || len(c) != s.M*s.N {
		return fmt.Errorf("gemm %dx%dx%d: got A %d, B %d, C %d values", s.M, s.N, s.K, len(a), len(b), len(c))
	}
	if len(c) == 0 {
		return nil
	}
	return e.do(func() error { return e.product(s, a, b, c, nil) })
}

// Timings split one product. Gemm is the GEMM alone, a bare cublasGemmEx on resident buffers;
// CopyIn + Gemm + CopyOut is the whole product as GemmInt8 runs it. The copies overlap the GEMM
// in bands, so CopyIn is the time before the first band's GEMM could start, and CopyOut the rest
// of what the whole took beyond the bare GEMM.
type Timings struct{ CopyIn, Gemm, CopyOut time.Duration }

// product runs on the context's thread. A and B are staged with their padding in page-locked
// memory, B is copied in, then band by band the rows of A are staged and copied in, multiplied
// and copied out; the host staging of the next band overlaps the GPU's work on this one. The
// rows of C are unstaged as their bands arrive. With tm it also times the parts.
func (e *Executor) product(s gemm.Shape, a, b []int8, c []int32, tm *Timings) (err error) {
	d := e.drv
	n4, k4 := pad4(s.N), max(pad4(s.K), minK)
	sizeA, sizeB, sizeC := uint64(s.M*k4), uint64(k4*n4), uint64(4*s.M*n4)
	da, pa, err := e.buffers(opA, sizeA)
	if err != nil {
		return err
	}
	db, pb, err := e.buffers(opB, sizeB)
	if err != nil {
		return err
	}
	dc, pc, err := e.buffers(opC, sizeC)
	if err != nil {
		return err
	}
	ha := unsafe.Slice((*int8)(pa), sizeA)
	hb := unsafe.Slice((*int8)(pb), sizeB)
	hc := unsafe.Slice((*int32)(pc), sizeC/4)
	defer func() {
		if err != nil {
			d.cuCtxSynchronize() // the staging buffers are reused: nothing may still write them
		}
	}()

	rows := bandRows(s.M, sizeA+sizeB+sizeC, e.bands)
	nb := (s.M + rows - 1) / rows
	in, mm, out := e.streams[0], e.streams[1], e.streams[2]
	if nb == 1 {
		in, out = mm, mm // one band: one stream, no events between them
	}
	start := time.Now()
	if tm != nil {
		if err := check("cuEventRecord", d.cuEventRecord(e.start, in)); err != nil {
			return err
		}
	}
	copyRows(hb, n4, b, s.N, 0, s.K)
	clear(hb[s.K*n4 : k4*n4])
	if err := check("copy B", d.cuMemcpyHtoDAsync(db, pb, sizeB, in)); err != nil {
		return err
	}
	for i := range nb {
		r0, r1 := i*rows, min((i+1)*rows, s.M)
		copyRows(ha, k4, a, s.K, r0, r1)
		if err := check("copy A", d.cuMemcpyHtoDAsync(da+uintptr(r0*k4), unsafe.Pointer(&ha[r0*k4]), uint64((r1-r0)*k4), in)); err != nil {
			return err
		}
		if nb > 1 {
			if err := e.order(in, mm, e.inDone[i]); err != nil {
				return err
			}
		}
		if tm != nil && i == 0 {
			if err := check("cuEventRecord", d.cuEventRecord(e.gemmStart, mm)); err != nil {
				return err
			}
		}
		if err := e.gemm(n4, k4, r0, r1, da, db, dc); err != nil {
			return err
		}
		if nb > 1 {
			if err := e.order(mm, out, e.gemmDone[i]); err != nil {
				return err
			}
		}
		if err := check("copy C", d.cuMemcpyDtoHAsync(unsafe.Pointer(&hc[r0*n4]), dc+uintptr(4*r0*n4), uint64(4*(r1-r0)*n4), out)); err != nil {
			return err
		}
		if err := check("cuEventRecord", d.cuEventRecord(e.outDone[i], out)); err != nil {
			return err
		}
	}
	for i := range nb {
		if err := check("cuEventSynchronize", d.cuEventSynchronize(e.outDone[i])); err != nil {
			return err
		}
		copyRows(c, s.N, hc, n4, i*rows, min((i+1)*rows, s.M))
	}
	if tm == nil {
		return nil
	}
	whole := time.Since(start)
	var ms float32
	if err := check("cuEventElapsedTime", d.cuEventElapsedTime(&ms, e.start, e.gemmStart)); err != nil {
		return err
	}
	tm.CopyIn = time.Duration(float64(ms) * float64(time.Millisecond))
	start = time.Now()
	if err := e.gemm(n4, k4, 0, s.M, da, db, dc); err != nil {
		return err
	}
	if err := check("cuStreamSynchronize", d.cuStreamSynchronize(e.streams[1])); err != nil {
		return err
	}
	tm.Gemm = time.Since(start)
	tm.CopyOut = max(whole-tm.CopyIn-tm.Gemm, 0)
	return nil
}

// order makes the work queued next on stream to wait for what is queued so far on stream from.
func (e *Executor) order(from, to, ev uintptr) error {
	if err := check("cuEventRecord", e.drv.cuEventRecord(ev, from)); err != nil {
		return err
	}
	return check("cuStreamWaitEvent", e.drv.cuStreamWaitEvent(to, ev, 0))
}

// gemm queues rows r0..r1 of C = A·B on the handle's stream (streams[1]).
func (e *Executor) gemm(n4, k4, r0, r1 int, da, db, dc uintptr) error {
	alpha, beta := int32(1), int32(0)
	code := e.drv.cublasGemmEx(e.handle, cublasOpN, cublasOpN,
		int32(n4), int32(r1-r0), int32(k4), unsafe.Pointer(&alpha),
		db, cudaR8I, int32(n4), da+uintptr(r0*k4), cudaR8I, int32(k4), unsafe.Pointer(&beta),
		dc+uintptr(4*r0*n4), cudaR32I, int32(n4), cublasCompute32I, cublasGemmDefault)
	return check("cublasGemmEx", code)
}

// copyRows copies rows r0..r1 of src (sw values a row) into dst (dw a row), zeroing the rest of
// a wider dst row; large copies are split over the cores, a single one runs short of memory
// bandwidth.
func copyRows[T int8 | int32](dst []T, dw int, src []T, sw int, r0, r1 int) {
	w := min(dw, sw)
	size := (r1 - r0) * dw * int(unsafe.Sizeof(dst[0]))
	parallel(r1-r0, size, func(lo, hi int) {
		lo, hi = r0+lo, r0+hi
		if dw == sw {
			copy(dst[lo*dw:hi*dw], src[lo*sw:hi*sw])
			return
		}
		for i := lo; i < hi; i++ {
			copy(dst[i*dw:i*dw+w], src[i*sw:i*sw+w])
			clear(dst[i*dw+w : (i+1)*dw])
		}
	})
}

// parallel runs f over [0, n) in contiguous chunks, one a core, when size bytes are worth it.
func parallel(n, size int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), size/(1<<20), n)
	if workers <= 1 {
		f(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Go(func() { f(lo, min(lo+chunk, n)) })
	}
	wg.Wait()
}

// Profile runs one product with n and k multiples of 4 the way GemmInt8 does, then its GEMM
// alone on the resident buffers, and returns the timings (see Timings).
func (e *Executor) Profile(s gemm.Shape, a, b []int8) (Timings, error) {
	if s.N%4 != 0 || s.K%4 != 0 || len(a) != s.M*s.K || len(b) != s.K*s.N {
		return Timings{}, fmt.Errorf("profile %dx%dx%d: n and k must be multiples of 4", s.M, s.N, s.K)
	}
	c := make([]int32, s.M*s.N)
	clear(c) // fault its pages in now, not in the timed copy out
	var tm Timings
	err := e.do(func() error { return e.product(s, a, b, c, &tm) })
	return tm, err
}
