//go:build linux

package cuda

import (
	"testing"

	"github.com/ebitengine/purego"
	"github.com/stretchr/testify/require"
)

// TestRegisterMissingSymbol: a library without a symbol the executor needs is an error that
// names it, not a panic.
func TestRegisterMissingSymbol(t *testing.T) {
	lib, err := purego.Dlopen("libc.so.6", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		t.Skipf("no libc to open: %v", err)
	}
	var strlen func(s *byte) uint64
	var missing func() int32
	err = registerAll(lib, map[string]any{"strlen": &strlen, "cuNoSuchCall": &missing})
	require.ErrorContains(t, err, "symbol cuNoSuchCall")
}

// TestBandRows: small products go in one band, big ones in bands of whole 128-row blocks that
// cover every row.
func TestBandRows(t *testing.T) {
	for _, tc := range []struct {
		m     int
		size  uint64
		bands int
		rows  int
	}{
		{m: 1000, size: 1 << 20, rows: 1024},
		{m: 4096, size: 96 << 20, rows: 1024},
		{m: 16384, size: 1536 << 20, rows: 2048},
		{m: 3, size: 1 << 30, rows: 128},
		{m: 1000, size: 1 << 20, bands: 3, rows: 384},
		{m: 129, size: 1 << 20, bands: 8, rows: 128},
		{m: 100000, size: 1 << 20, bands: 100, rows: 12544},
	} {
		rows := bandRows(tc.m, tc.size, tc.bands)
		require.Equal(t, tc.rows, rows, "%+v", tc)
		require.LessOrEqual(t, (tc.m+rows-1)/rows, maxBands)
	}
}

// TestCopyRows: staging pads rows with zeros over whatever the buffer held, and unstaging drops
// the padding, on one core and split over several.
func TestCopyRows(t *testing.T) {
	for _, tc := range []struct{ rows, sw, dw, r0, r1 int }{
		{rows: 7, sw: 5, dw: 128, r0: 0, r1: 7},
		{rows: 4096, sw: 517, dw: 520, r0: 1024, r1: 3000}, // big enough to split
		{rows: 4096, sw: 1024, dw: 1024, r0: 128, r1: 4096},
	} {
		src := make([]int32, tc.rows*tc.sw)
		for i := range src {
			src[i] = int32(i + 1)
		}
		dst := make([]int32, tc.rows*tc.dw)
		for i := range dst {
			dst[i] = -1
		}
		copyRows(dst, tc.dw, src, tc.sw, tc.r0, tc.r1)
		for i := tc.r0; i < tc.r1; i++ {
			for j := 0; j < tc.dw; j++ {
				want := int32(0)
				if j < tc.sw {
					want = src[i*tc.sw+j]
				}
				if dst[i*tc.dw+j] != want {
					t.Fatalf("%+v: row %d col %d: %d, want %d", tc, i, j, dst[i*tc.dw+j], want)
				}
			}
		}
		if tc.r0 > 0 {
			require.Equal(t, int32(-1), dst[tc.r0*tc.dw-1], "rows before r0 untouched")
		}
		back := make([]int32, tc.rows*tc.sw)
		copyRows(back, tc.sw, dst, tc.dw, tc.r0, tc.r1)
		require.Equal(t, src[tc.r0*tc.sw:tc.r1*tc.sw], back[tc.r0*tc.sw:tc.r1*tc.sw])
	}
}
