//go:build !purego

//go:generate go run asm_gen.go -out kernel_amd64.s

// The AVX-512 tiles multiply a 6-row panel of A by a 64-column panel of B into 24 zmm
// accumulators. VPDPBUSD multiplies unsigned bytes by signed bytes, so B is packed as
// b xor 0x80 = b+128 (an unsigned byte) and A stays signed: Σ a·(b+128) = Σ a·b + 128·Σa, so each
// accumulator starts at −128·rowsum(A row) and ends at Σ a·b, exact since int32 wraps and
// |Σ a·b| < 2³¹ for k < 131072. k is padded to a multiple of 4 with a = 0, which adds nothing to
// the products or to the row sum. The AVX-512BW fallback uses VPMADDWD on int16 A and B and
// needs no correction.

package gemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// tileVNNI adds, for kg k-groups of 4, the 6×64 tile a·b into c (ldc int32 a row); row r of A
// starts at a + r·lda bytes. The accumulators start from c when load ≠ 0, else from corr[r].
//
//go:noescape
func tileVNNI(a *byte, lda int, b *byte, kg int, c *int32, ldc int, corr *int32, load int)

// tileBW is tileVNNI for int16 values, k-groups of 2.
//
//go:noescape
func tileBW(a *byte, lda int, b *byte, kg int, c *int32, ldc int, corr *int32, load int)

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

func tile(p kernelPath, a *byte, lda int, b *byte, kg int, c *int32, ldc int, corr *int32, load bool) {
	l := 0
	if load {
		l = 1
	}
	if p == pathVNNI {
		tileVNNI(a, lda, b, kg, c, ldc, corr, l)
	} else {
		tileBW(a, lda, b, kg, c, ldc, corr, l)
	}
}

// packVNNI packs groups full k-groups of a full 64-column panel of B, rows ldb bytes apart.
//
//go:noescape
func packVNNI(dst, b *byte, ldb, groups int)

// rowSumVNNI is Σ of the n int8 at v, n a multiple of 64.
//
//go:noescape
func rowSumVNNI(v *byte, n int) int32

// packFullVNNI packs groups full k-groups of the full panel starting at b.
func packFullVNNI(dst []byte, b []int8, ldb, groups int) {
	packVNNI(&dst[0], (*byte)(unsafe.Pointer(&b[0])), ldb, groups)
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
