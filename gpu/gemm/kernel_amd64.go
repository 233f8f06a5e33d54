//go:build !purego

//go:generate go run asm_gen.go -out kernel_amd64.s

// The AVX-512 tiles multiply a 6-row panel of A by a 64-column panel of B into 24 zmm
// accumulators. VPDPBUSD multiplies unsigned bytes by signed bytes, so B is packed as
// b xor 0x80 = b+128 (an unsigned byte) and A stays signed: Σ a·(b+128) = Σ a·b + 128·Σa, so each
// accumulator starts at −128·rowsum(A row) and ends at Σ a·b, exact since int32 wraps and
// |Σ a·b| < 2³¹ for k < 131072. k is padded to a multiple of 4 with a = 0 in A and b = 0 (the
// byte 0x80) in B, which adds nothing to the products or to the row sum. The AVX-512BW fallback
// uses VPMADDWD on int16 A and B and needs no correction. Edge tiles have 1 to 6 rows and 1 to 4
// zmm of columns.

package gemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// A tileFunc adds, for kg k-groups, the tile a·b into c (ldc int32 a row); row r of A starts at
// a + r·lda bytes, a k-group of 4 int8 (vnni) or 2 int16 (bw) is 4 bytes of A and 256 of B. The
// accumulators start from c when load ≠ 0, else from corr[r]. vnniTiles and bwTiles in
// kernel_tiles_amd64.go hold one for every size up to 6 rows by 4 zmm of 16 columns.
type tileFunc func(a *byte, lda int, b *byte, kg int, c *int32, ldc int, corr *int32, load int)

func choosePath() kernelPath {
	switch {
	case supported(pathVNNI):
		return pathVNNI
	case supported(pathBW):
		return pathBW
	}
	return pathGeneric
}

// supported says whether this CPU (and OS) runs the path.
func supported(p kernelPath) bool {
	x := cpu.X86
	switch p {
	case pathVNNI:
		return x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VNNI
	case pathBW:
		return x.HasAVX512F && x.HasAVX512BW
	}
	return true
}

// tile runs the tile of rows×cols (rows ≤ 6, cols ≤ 64) on path p.
func tile(p kernelPath, rows, cols int, a *byte, lda int, b *byte, kg int, c *int32, ldc int, corr *int32, load bool) {
	l := 0
	if load {
		l = 1
	}
	switch {
	case p == pathVNNI && rows == tileM && cols == tileN:
		vnni6x4(a, lda, b, kg, c, ldc, corr, l) // the full tile, called directly
	case p == pathVNNI:
		vnniTiles[rows][(cols+15)/16](a, lda, b, kg, c, ldc, corr, l)
	default:
		bwTiles[rows][(cols+15)/16](a, lda, b, kg, c, ldc, corr, l)
	}
}

// packVNNI packs groups full k-groups of a full 64-column panel of B, rows ldb bytes apart.
//
//go:noescape
func packVNNI(dst, b *byte, ldb, groups int)

// packBW packs groups full k-groups of a full 64-column panel of B for bw.
//
//go:noescape
func packBW(dst, b *byte, ldb, groups int)

// widenBW writes the n int8 at src, n a multiple of 32, as int16 at dst.
//
//go:noescape
func widenBW(dst, src *byte, n int)

// rowSumVNNI is Σ of the n int8 at v, n a multiple of 64.
//
//go:noescape
func rowSumVNNI(v *byte, n int) int32

// packFull packs groups full k-groups of the full panel starting at b for path p.
func packFull(p kernelPath, dst []byte, b []int8, ldb, groups int) {
	if p == pathVNNI {
		packVNNI(&dst[0], (*byte)(unsafe.Pointer(&b[0])), ldb, groups)
	} else {
		packBW(&dst[0], (*byte)(unsafe.Pointer(&b[0])), ldb, groups)
	}
}

// widen writes v as int16 into dst, on the bw path only.
func widen(dst []int16, v []int8) {
	n := len(v) &^ 31
	if n > 0 {
		widenBW((*byte)(unsafe.Pointer(&dst[0])), (*byte)(unsafe.Pointer(&v[0])), n)
	}
	for i, x := range v[n:] {
		dst[n+i] = int16(x)
	}
}

// rowSumFast is rowSum with the vnni instructions, on the vnni path only.
func rowSumFast(v []byte) int32 {
	n := len(v) &^ 63
	var s int32
	if n > 0 {
		s = rowSumVNNI(&v[0], n)
	}
	return s + rowSum(v[n:])
}
