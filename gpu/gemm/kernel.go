package gemm

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
)

// kernelPath is one implementation of the int8 product.
type kernelPath uint8

const (
	pathGeneric kernelPath = iota // blocked Go
	pathBW                        // AVX-512BW VPMADDWD
	pathVNNI                      // AVX-512 VNNI VPDPBUSD
)

func (p kernelPath) String() string {
	return [...]string{"generic", "bw", "vnni"}[p]
}

// activePath is the path every product takes, chosen once from the CPU's features.
var activePath = choosePath()

const (
	tileM       = 6  // rows of A in a tile
	tileN       = 64 // columns of B in a tile, a panel
	groupBytes  = 4  // one k-group of one row or column: 4 int8 (vnni) or 2 int16 (bw)
	kcGroups    = 64 // k-groups per block: a 16 KiB sliver of a B panel stays in L1
	bandRows    = 96 // rows of A a worker takes at a time: 16 tiles, 24 KiB per block in L2
	chunkPanels = 4  // panels of B a worker takes at a time
	panelGroup  = tileN * groupBytes
)

// groupK is how many k values a 4-byte group holds on path p.
func (p kernelPath) groupK() int {
	if p == pathBW {
		return 2
	}
	return 4
}

// PackedB is a k×n int8 matrix B laid out once for the kernel this CPU runs, so that a weight
// matrix can be reused across many products (GemmInt8Packed).
type PackedB struct {
	k, n   int
	path   kernelPath
	groups int     // k-groups in a panel
	data   []byte  // asm paths: ⌈n/64⌉ panels of groups × 64 columns × 4 bytes
	pairs  []int64 // generic path: see packPairs
}

// K is the number of rows of B.
func (pb *PackedB) K() int { return pb.k }

// N is the number of columns of B.
func (pb *PackedB) N() int { return pb.n }

// PackB packs the row-major k×n matrix b for GemmInt8Packed; it panics if len(b) ≠ k·n. The
// PackedB is read-only and serves any number of products, concurrent ones included.
func PackB(k, n int, b []int8) *PackedB {
	if k < 0 || n < 0 || len(b) != k*n {
		panic(fmt.Sprintf("gemm.PackB: %d values for %dx%d", len(b), k, n))
	}
	pb := newPacked(activePath, k, n)
	packBParallel(pb, b, CPU{}.workers())
	return pb
}

func newPacked(p kernelPath, k, n int) *PackedB {
	return sized(&PackedB{}, p, k, n)
}

// sized makes pb a k×n PackedB for path p, reusing its buffers.
func sized(pb *PackedB, p kernelPath, k, n int) *PackedB {
	*pb = PackedB{k: k, n: n, path: p, data: pb.data[:0], pairs: pb.pairs[:0]}
	if p == pathGeneric {
		pb.pairs = grow(pb.pairs, pairsLen(k, n))
		return pb
	}
	pb.groups = (k + p.groupK() - 1) / p.groupK()
	pb.data = grow(pb.data, (n+tileN-1)/tileN*pb.groups*panelGroup)
	return pb
}

// packedPool keeps the packed B of GemmInt8 from one call to the next.
var packedPool sync.Pool

func getPacked(p kernelPath, k, n int) *PackedB {
	pb, _ := packedPool.Get().(*PackedB)
	if pb == nil {
		pb = &PackedB{}
	}
	return sized(pb, p, k, n)
}

func putPacked(pb *PackedB) { packedPool.Put(pb) }

// parallel runs f(i) for i in [0, n) on up to workers goroutines.
func parallel(n, workers int, f func(i int)) {
	parallelWork(n, workers, func(_ *work, i int) { f(i) })
}

// parallelWork runs f(w, i) for i in [0, n) on up to workers goroutines (the caller's among
// them), each with its own buffers w.
func parallelWork(n, workers int, f func(w *work, i int)) {
	var next atomic.Int64
	body := func() {
		w := workPool.Get().(*work)
		defer workPool.Put(w)
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			f(w, i)
		}
	}
	var wg sync.WaitGroup
	for range min(workers, n) - 1 {
		wg.Add(1)
		go func() { defer wg.Done(); body() }()
	}
	body()
	wg.Wait()
}

func packBParallel(pb *PackedB, b []int8, workers int) {
	if pb.path == pathGeneric {
		n2 := (pb.n + 1) / 2
		chunks := min(n2, workers)
		parallel(chunks, workers, func(i int) { packPairs(pb.k, pb.n, b, pb.pairs, i*n2/chunks, (i+1)*n2/chunks) })
		return
	}
	panels := (pb.n + tileN - 1) / tileN
	parallel(panels, workers, func(j int) { packPanel(pb, b, j) })
}

// packPanel lays out columns [64j, 64j+64) of b: for each k-group, 64 columns of 4 bytes, the
// bytes b+128 of 4 consecutive k (vnni) or the int16 of 2 (bw). Columns past n and k past the
// end hold b = 0.
func packPanel(pb *PackedB, b []int8, j int) {
	k, n, gk := pb.k, pb.n, pb.path.groupK()
	dst := pb.data[j*pb.groups*panelGroup : (j+1)*pb.groups*panelGroup]
	j0 := j * tileN
	full := j0+tileN <= n
	g0 := 0 // groups done in assembly
	if full && k >= gk {
		g0 = k / gk
		packFull(pb.path, dst, b[j0:], n, g0)
	}
	for g := g0; g < pb.groups; g++ {
		out := dst[g*panelGroup : (g+1)*panelGroup]
		p0 := g * gk
		for c := 0; c < tileN; c++ {
			var v uint32
			for t := 0; t < gk; t++ {
				var x int8
				if p := p0 + t; p < k && j0+c < n {
					x = b[p*n+j0+c]
				}
				if gk == 4 {
					v |= uint32(uint8(x)^0x80) << (8 * t)
				} else {
					v |= uint32(uint16(x)) << (16 * t)
				}
			}
			binary.LittleEndian.PutUint32(out[4*c:], v)
		}
	}
}

// GemmInt8Packed is C = A·B for the row-major m×k matrix a and the B packed by PackB, into the
// row-major m×n c; it gives the same result as GemmInt8.
func (e CPU) GemmInt8Packed(m int, a []int8, pb *PackedB, c []int32) error {
	if pb == nil {
		return fmt.Errorf("gemm: nil PackedB")
	}
	if m < 0 || len(a) != m*pb.k || len(c) != m*pb.n {
		return fmt.Errorf("gemm %dx%dx%d: got A %d, C %d values", m, pb.n, pb.k, len(a), len(c))
	}
	e.run(m, a, pb, c)
	return nil
}

// work is one worker's buffers: its band of A packed, the row corrections, an edge tile.
type work struct {
	a    []byte
	corr []int32
	tmp  [tileM * tileN]int32
	// the band of A that base, lda and corr describe: run number and first row
	run, i0 int
	base    []byte
	lda     int
	acc     []int64 // generic path: the pair sums of a band
}

var workPool = sync.Pool{New: func() any { return new(work) }}

// runs numbers the products, so that a worker knows the band of A it holds is of this one.
var runs atomic.Int64

// run is C = A·B. On the asm paths units of work are a band of rows of A by a chunk of panels of
// B, small and many enough that the workers finish together.
func (e CPU) run(m int, a []int8, pb *PackedB, c []int32) {
	n, k := pb.n, pb.k
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(c)
		return
	}
	if pb.path == pathGeneric {
		e.runGeneric(m, a, pb, c)
		return
	}
	workers := min(e.workers(), max(1, m*n*k>>21)) // a goroutine for every 2M multiply-adds, ≈5 µs
	bands := (m + bandRows - 1) / bandRows
	panels := (n + tileN - 1) / tileN
	chunks := (panels + chunkPanels - 1) / chunkPanels
	if bands*chunks < 4*workers {
		chunks = min(panels, (4*workers+bands-1)/bands)
	}
	id := int(runs.Add(1))
	parallelWork(bands*chunks, workers, func(w *work, u int) {
		band, chunk := u/chunks, u%chunks
		i0 := band * bandRows
		w.band(id, a, pb, c, i0, min(m, i0+bandRows), chunk*panels/chunks, (chunk+1)*panels/chunks)
	})
}

// band computes rows [i0, i1) of C over the panels [j0, j1) of B. Tiles whose columns are whole
// zmm go straight to C, block by block of k, loading C after the first block; the others go
// over all of k into tmp, then their valid part to C.
func (w *work) band(run int, a []int8, pb *PackedB, c []int32, i0, i1, j0, j1 int) {
	n, G, p := pb.n, pb.groups, pb.path
	rp := (i1 - i0 + tileM - 1) / tileM
	if w.run != run || w.i0 != i0 { // a worker often takes the next chunk of the same band
		w.base, w.lda = w.packA(a, pb, i0, i1, rp)
		w.run, w.i0 = run, i0
	}
	base, lda := w.base, w.lda
	rows := func(ip int) int { return min(tileM, i1-i0-ip*tileM) }
	cols := func(jp int) int { return min(tileN, n-jp*tileN) }
	jd1 := j1 // panels [j0, jd1) go straight to C
	if cols(j1-1)%16 != 0 {
		jd1--
	}
	for g0 := 0; g0 < G; g0 += kcGroups {
		kg := min(kcGroups, G-g0)
		for jp := j0; jp < jd1; jp++ {
			bp := &pb.data[(jp*G+g0)*panelGroup]
			for ip := 0; ip < rp; ip++ {
				i := i0 + ip*tileM
				tile(p, rows(ip), cols(jp), &base[(i-i0)*lda+4*g0], lda, bp, kg, &c[i*n+jp*tileN], n, &w.corr[ip*tileM], g0 > 0)
			}
		}
	}
	for jp := jd1; jp < j1; jp++ {
		for ip := 0; ip < rp; ip++ {
			i := i0 + ip*tileM
			tile(p, rows(ip), cols(jp), &base[(i-i0)*lda], lda, &pb.data[jp*G*panelGroup], G, &w.tmp[0], tileN, &w.corr[ip*tileM], false)
			for r := 0; r < rows(ip); r++ {
				copy(c[(i+r)*n+jp*tileN:][:cols(jp)], w.tmp[r*tileN:][:cols(jp)])
			}
		}
	}
}

// packA makes rows [i0, i1) of a readable by the tiles, row i at base[(i−i0)·lda]: in place when
// k is a multiple of 4 on vnni, else copied into w.a with each row padded with zeros to whole
// groups (int16 on bw). corr, rp panels of 6 rows, is −128·rowsum for vnni, 0 for bw.
func (w *work) packA(a []int8, pb *PackedB, i0, i1, rp int) (base []byte, lda int) {
	k, G, p := pb.k, pb.groups, pb.path
	w.corr = grow(w.corr, rp*tileM)
	clear(w.corr)
	ab := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(a))), len(a))
	if p == pathVNNI {
		for i := i0; i < i1; i++ {
			w.corr[i-i0] = -128 * rowSumFast(ab[i*k:(i+1)*k])
		}
	}
	if p == pathVNNI && k%4 == 0 {
		return ab[i0*k:], k
	}
	lda = G * groupBytes
	w.a = grow(w.a, (i1-i0)*lda)
	clear(w.a)
	for i := i0; i < i1; i++ {
		dst := w.a[(i-i0)*lda : (i-i0+1)*lda]
		if p == pathVNNI {
			copy(dst, ab[i*k:(i+1)*k])
			continue
		}
		widen(unsafe.Slice((*int16)(unsafe.Pointer(&dst[0])), lda/2)[:k], a[i*k:(i+1)*k])
	}
	return w.a, lda
}

func grow[T any](v []T, n int) []T {
	if cap(v) < n {
		return make([]T, n)
	}
	return v[:n]
}

// rowSum is Σ v for int8 bytes v: 8 at a time, each biased to unsigned, in four 16-bit lanes
// that take 128 words before they could overflow.
func rowSum(v []byte) int32 {
	var total int32
	for len(v) >= 8 {
		words := min(len(v)/8, 128)
		var s uint64
		for i := 0; i < words; i++ {
			x := binary.LittleEndian.Uint64(v[8*i:]) ^ 0x8080808080808080
			s += x&0x00ff00ff00ff00ff + x>>8&0x00ff00ff00ff00ff
		}
		total += int32(s&0xffff+s>>16&0xffff+s>>32&0xffff+s>>48) - int32(128*8*words)
		v = v[8*words:]
	}
	for _, x := range v {
		total += int32(int8(x))
	}
	return total
}
