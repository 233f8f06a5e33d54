package gemm

// The pure Go path, for every CPU and the purego tag: B is packed two columns to an int64,
// b[p][2j] + b[p][2j+1]·2³², so that one 64-bit multiply-add does two int8 products. A sum
// S = L + H·2³² of such products gives back L = int32(S), exact since |L| < 2³¹, and then
// H = (S − L) >> 32.

// Block sizes: a kc×(2·nc2) block of B (256 KiB of pairs) stays in L2 while a band of mc rows of
// A streams over it.
const (
	kc  = 256
	nc2 = 128
	mc  = 16
)

// pairsLen is the number of int64 of B packed by packPairs.
func pairsLen(k, n int) int { return k * ((n + 1) / 2) }

// packPairs packs the columns [2·j0, 2·j1) of pairs of b into dst, ⌈n/2⌉ a row.
func packPairs(k, n int, b []int8, dst []int64, j0, j1 int) {
	n2 := (n + 1) / 2
	for p := 0; p < k; p++ {
		row, out := b[p*n:(p+1)*n], dst[p*n2:(p+1)*n2]
		for j := j0; j < j1; j++ {
			v := int64(row[2*j])
			if 2*j+1 < n {
				v += int64(row[2*j+1]) << 32
			}
			out[j] = v
		}
	}
}

// pairRows computes rows [i0, i1) of C from the pairs bp of B, acc holding (i1−i0)·⌈n/2⌉ sums.
func pairRows(k, n int, a []int8, bp []int64, c []int32, i0, i1 int, acc []int64) {
	n2 := (n + 1) / 2
	acc = acc[:(i1-i0)*n2]
	clear(acc)
	for p0 := 0; p0 < k; p0 += kc {
		p1 := min(k, p0+kc)
		for j0 := 0; j0 < n2; j0 += nc2 {
			j1 := min(n2, j0+nc2)
			i := i0
			for ; i+1 < i1; i += 2 { // two rows share each load of B
				c0 := acc[(i-i0)*n2+j0 : (i-i0)*n2+j1]
				c1 := acc[(i+1-i0)*n2+j0 : (i+1-i0)*n2+j1]
				c1 = c1[:len(c0)]
				a1 := a[(i+1)*k+p0 : (i+1)*k+p1]
				for p, av := range a[i*k+p0 : i*k+p1] {
					x0, x1 := int64(av), int64(a1[p])
					bq := bp[(p0+p)*n2+j0 : (p0+p)*n2+j1]
					bq = bq[:len(c0)]
					for j, bv := range bq {
						c0[j] += x0 * bv
						c1[j] += x1 * bv
					}
				}
			}
			for ; i < i1; i++ {
				ci := acc[(i-i0)*n2+j0 : (i-i0)*n2+j1]
				for p, av := range a[i*k+p0 : i*k+p1] {
					if av == 0 {
						continue
					}
					x := int64(av)
					bq := bp[(p0+p)*n2+j0 : (p0+p)*n2+j1]
					bq = bq[:len(ci)]
					for j, bv := range bq {
						ci[j] += x * bv
					}
				}
			}
		}
	}
	for i := i0; i < i1; i++ {
		ci, si := c[i*n:(i+1)*n], acc[(i-i0)*n2:(i-i0+1)*n2]
		for j, s := range si {
			lo := int32(s)
			ci[2*j] = lo
			if 2*j+1 < n {
				ci[2*j+1] = int32((s - int64(lo)) >> 32)
			}
		}
	}
}

// runGeneric is C = A·B from the pairs of B, bands of mc rows on the workers.
func (e CPU) runGeneric(m int, a []int8, pb *PackedB, c []int32) {
	bands := (m + mc - 1) / mc
	workers := min(e.workers(), max(1, m*pb.n*pb.k>>16)) // a goroutine for every 64K multiply-adds
	parallelWork(bands, workers, func(w *work, band int) {
		w.acc = grow(w.acc, mc*((pb.n+1)/2))
		pairRows(pb.k, pb.n, a, pb.pairs, c, band*mc, min(m, band*mc+mc), w.acc)
	})
}
