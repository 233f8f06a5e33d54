//go:build !amd64 || purego

package gemm

func choosePath() kernelPath { return pathGeneric }

func supported(p kernelPath) bool { return p == pathGeneric }

// tile is never called: only the generic path exists here.
func tile(p kernelPath, rows, cols int, a *byte, lda int, b *byte, kg int, c *int32, ldc int, corr *int32, load bool) {
	panic("gemm: no " + p.String() + " kernel in this build")
}

func packFull(p kernelPath, dst []byte, b []int8, ldb, groups int) {
	panic("gemm: no " + p.String() + " packing in this build")
}

func widen(dst []int16, v []int8) { panic("gemm: no bw packing in this build") }

func rowSumFast(v []byte) int32 { return rowSum(v) }
