package mlp

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// syntheticDataset is rows rows of cols features in 0..127 drawn from seed, labelled by which of
// classes bands the sum of the first few features falls in, so that it can be learnt.
func syntheticDataset(seed uint64, rows, cols, classes int) *Dataset {
	d := &Dataset{Rows: rows, Cols: cols, Classes: classes, Features: gemm.Generate(seed, rows, cols), Labels: make([]uint8, rows)}
	for i := range d.Features {
		d.Features[i] &= 0x7f
	}
	for r := range rows {
		var sum int
		for _, v := range d.Features[r*cols : r*cols+min(cols, 4)] {
			sum += int(v)
		}
		d.Labels[r] = uint8(sum * classes / (128 * min(cols, 4)))
	}
	return d
}

func TestDatasetEncodeDecode(t *testing.T) {
	d := syntheticDataset(1, 7, 5, 3)
	b := d.Encode()
	require.Len(t, b, int(DatasetSize(7, 5)))
	require.Equal(t, "OGPUDSET", string(b[:8]))
	got, err := DecodeDataset(b)
	require.NoError(t, err)
	require.Equal(t, d, got)
	require.Equal(t, b, got.Encode())
}

func TestDecodeDatasetNamesTheField(t *testing.T) {
	good := syntheticDataset(1, 7, 5, 3).Encode()
	for _, tc := range []struct {
		name  string
		edit  func(b []byte) []byte
		field string
	}{
		{"short", func(b []byte) []byte { return b[:10] }, "header"},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, "magic"},
		{"version", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 2); return b }, "version 2"},
		{"rows zero", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 0); return b }, "rows 0"},
		{"rows too many", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], MaxDatasetRows+1); return b }, "rows 4194305"},
		{"cols zero", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], 0); return b }, "cols 0"},
		{"cols too many", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], MaxWidth+1); return b }, "cols 16385"},
		{"one class", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[20:], 1); return b }, "classes 1"},
		{"too many classes", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[20:], 257); return b }, "classes 257"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, "size"},
		{"trailing", func(b []byte) []byte { return append(b, 0) }, "size"},
		{"label", func(b []byte) []byte { b[len(b)-2] = 3; return b }, "labels[5] 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDataset(tc.edit(append([]byte(nil), good...)))
			require.ErrorContains(t, err, tc.field)
		})
	}
}

func FuzzDecodeDataset(f *testing.F) {
	f.Add(syntheticDataset(1, 3, 2, 2).Encode())
	f.Add(syntheticDataset(2, 1, 1, 256).Encode())
	f.Add([]byte("OGPUDSET"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDataset(b)
		if err != nil {
			return
		}
		require.NoError(t, d.Validate())
		require.Equal(t, b, d.Encode())
	})
}
