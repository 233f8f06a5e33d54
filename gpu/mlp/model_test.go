package mlp_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
)

func TestModelRoundTrip(t *testing.T) {
	for _, widths := range [][]int{{1, 1}, {3, 5, 2}, {16, 32, 8, 10}} {
		m := mlp.RandomModel(7, widths)
		require.NoError(t, m.Validate())
		require.Equal(t, widths, m.Widths())
		bz := m.Encode()
		require.Len(t, bz, int(mlp.ModelSize(widths)))
		got, err := mlp.DecodeModel(bz)
		require.NoError(t, err)
		require.Equal(t, m, got)
		require.Equal(t, bz, got.Encode())
	}
	require.Equal(t, uint64(0), mlp.ModelSize([]int{4}), "one width is no layer")
	require.Equal(t, uint64(0), mlp.ModelSize([]int{4, 16385}))
}

func TestRandomModelActivations(t *testing.T) {
	widths := []int{256, 256, 256, 10}
	m := mlp.RandomModel(3, widths)
	require.Equal(t, m, mlp.RandomModel(3, widths), "the same seed gives the same model")
	require.NotEqual(t, m, mlp.RandomModel(4, widths))
	rows := 64
	accs, _, _, err := mlp.Forward(gemm.CPU{}, m, gemm.Generate(9, rows, widths[0]), rows)
	require.NoError(t, err)
	for l := 0; l < len(m.Layers)-1; l++ {
		ly := m.Layers[l]
		var zero, saturated int
		for i, a := range accs[l] {
			switch mlp.Requant(a, ly.Bias[i%ly.Out], ly.Mult, ly.Shift, ly.ReLU) {
			case 0:
				zero++
			case 127:
				saturated++
			}
		}
		n := len(accs[l])
		require.Less(t, saturated*20, n, "layer %d: under 5%% saturated", l)
		require.Less(t, zero*10, n*8, "layer %d: under 80%% zero", l)
	}
}

// putU32 returns a copy of bz with a little-endian uint32 at off.
func putU32(bz []byte, off int, v uint32) []byte {
	out := bytes.Clone(bz)
	binary.LittleEndian.PutUint32(out[off:], v)
	return out
}

func putByte(bz []byte, off int, v byte) []byte {
	out := bytes.Clone(bz)
	out[off] = v
	return out
}

func TestDecodeModelRefusesEveryBadField(t *testing.T) {
	good := mlp.RandomModel(5, []int{3, 4, 2}).Encode()
	// header 0..28 (widths at 16, 20, 24); layer 0: header 28..36 (mult 28, shift 32, relu 33,
	// padding 34..36), W 36..48, bias 48..64; layer 1: header 64..72, W 72..80, bias 80..88
	require.Len(t, good, 88)
	for _, tc := range []struct {
		name string
		bz   []byte
		err  string
	}{
		{"short", good[:15], "model: size 15 bytes: shorter than the 16-byte header"},
		{"magic", putByte(good, 7, '2'), "model: magic: not an OGPUMLP1 blob"},
		{"version", putU32(good, 8, 2), "model: version 2: must be 1"},
		{"no layers", putU32(good, 12, 0), "model: layer count 0: must be in 1..16"},
		{"too many layers", putU32(good, 12, 17), "model: layer count 17: must be in 1..16"},
		{"widths cut", putU32(good, 12, 16)[:40], "model: size 40 bytes: shorter than the header with 17 widths"},
		{"zero width", putU32(good, 20, 0), "model: widths[1] 0: must be in 1..16384"},
		{"wide", putU32(good, 16, 16385), "model: widths[0] 16385: must be in 1..16384"},
		{"other widths", putU32(good, 24, 3), "model: size 88 bytes: widths [3 4 3] need 96"},
		{"truncated", good[:87], "model: size 87 bytes: widths [3 4 2] need 88"},
		{"trailing", append(bytes.Clone(good), 0), "model: size 89 bytes: widths [3 4 2] need 88"},
		{"hidden mult 0", putU32(good, 28, 0), "model: layers[0].mult 0: must be in 1..2147483647"},
		{"hidden mult < 0", putU32(good, 28, 1<<31), "model: layers[0].mult -2147483648: must be in 1..2147483647"},
		{"hidden shift", putByte(good, 32, 63), "model: layers[0].shift 63: must be in 0..62"},
		{"relu flag", putByte(good, 33, 2), "model: layers[0].relu 2: must be 0 or 1"},
		{"padding", putByte(good, 35, 1), "model: layers[0].padding: must be zero"},
		{"bias high", putU32(good, 48+8, 1<<30+1), "model: layers[0].bias[2] 1073741825: must be in -1073741824..1073741824"},
		{"last mult", putU32(good, 64, 1), "model: layers[1].mult 1: must be 0 in the last layer"},
		{"last shift", putByte(good, 68, 1), "model: layers[1].shift 1: must be 0 in the last layer"},
		{"last relu", putByte(good, 69, 1), "model: layers[1].relu: must be false in the last layer"},
		{"last padding", putByte(good, 70, 1), "model: layers[1].padding: must be zero"},
		{"bias low", putU32(good, 80+4, uint32(0xffffffff-1<<30)), "model: layers[1].bias[1] -1073741825: must be in -1073741824..1073741824"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mlp.DecodeModel(tc.bz)
			require.EqualError(t, err, tc.err)
		})
	}
	// the bounds themselves are allowed
	edge := putU32(putU32(putByte(good, 32, 62), 48, 1<<30), 80, uint32(0xffffffff-1<<30+1))
	m, err := mlp.DecodeModel(edge)
	require.NoError(t, err)
	require.Equal(t, int32(-1<<30), m.Layers[1].Bias[0])
	require.Equal(t, edge, m.Encode())
}

func TestValidate(t *testing.T) {
	valid := func() *mlp.Model { return mlp.RandomModel(5, []int{3, 4, 2}) }
	for _, tc := range []struct {
		name   string
		break_ func(m *mlp.Model)
		err    string
	}{
		{"no layers", func(m *mlp.Model) { m.Layers = nil }, "model: layer count 0: must be in 1..16"},
		{"in", func(m *mlp.Model) { m.Layers[0].In = 0 }, "model: layers[0].in 0: must be in 1..16384"},
		{"out", func(m *mlp.Model) { m.Layers[1].Out = 16385 }, "model: layers[1].out 16385: must be in 1..16384"},
		{"chain", func(m *mlp.Model) { m.Layers[1].In = 3 }, "model: layers[1].in 3: must be layers[0].out 4"},
		{"w", func(m *mlp.Model) { m.Layers[0].W = m.Layers[0].W[1:] }, "model: layers[0].w: 11 values, want 3×4"},
		{"bias", func(m *mlp.Model) { m.Layers[1].Bias = nil }, "model: layers[1].bias: 0 values, want 2"},
		{"mult", func(m *mlp.Model) { m.Layers[0].Mult = -1 }, "model: layers[0].mult -1: must be in 1..2147483647"},
		{"shift", func(m *mlp.Model) { m.Layers[0].Shift = 200 }, "model: layers[0].shift 200: must be in 0..62"},
		{"last relu", func(m *mlp.Model) { m.Layers[1].ReLU = true }, "model: layers[1].relu: must be false in the last layer"},
		{"bias range", func(m *mlp.Model) { m.Layers[0].Bias[3] = -1<<30 - 1 }, "model: layers[0].bias[3] -1073741825: must be in -1073741824..1073741824"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.break_(m)
			require.EqualError(t, m.Validate(), tc.err)
		})
	}
	m := &mlp.Model{Layers: make([]mlp.Layer, 17)}
	require.EqualError(t, m.Validate(), "model: layer count 17: must be in 1..16")
}

func TestRowsRoundTripAndBadFields(t *testing.T) {
	x := gemm.Generate(3, 5, 7)
	bz := mlp.EncodeRows(x, 5, 7)
	require.Len(t, bz, int(mlp.RowsSize(5, 7)))
	got, rows, cols, err := mlp.DecodeRows(bz)
	require.NoError(t, err)
	require.Equal(t, x, got)
	require.Equal(t, []int{5, 7}, []int{rows, cols})
	// header: magic 0..8, version 8, rows 12, cols 16; values from 20
	for _, tc := range []struct {
		name string
		bz   []byte
		err  string
	}{
		{"short", bz[:19], "rows: size 19 bytes: shorter than the 20-byte header"},
		{"magic", putByte(bz, 0, 'X'), "rows: magic: not an OGPUROWS blob"},
		{"version", putU32(bz, 8, 0), "rows: version 0: must be 1"},
		{"no rows", putU32(bz, 12, 0), "rows: rows 0: must be in 1..1048576"},
		{"many rows", putU32(bz, 12, 1<<20+1), "rows: rows 1048577: must be in 1..1048576"},
		{"no cols", putU32(bz, 16, 0), "rows: cols 0: must be in 1..16384"},
		{"wide", putU32(bz, 16, 1<<31), "rows: cols 2147483648: must be in 1..16384"},
		{"truncated", bz[:len(bz)-1], "rows: size 54 bytes: 5x7 needs 55"},
		{"trailing", append(bytes.Clone(bz), 1), "rows: size 56 bytes: 5x7 needs 55"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := mlp.DecodeRows(tc.bz)
			require.EqualError(t, err, tc.err)
		})
	}
	require.Panics(t, func() { mlp.EncodeRows(x, 5, 6) })
}

func FuzzDecodeModel(f *testing.F) {
	f.Add(mlp.RandomModel(1, []int{3, 4, 2}).Encode())
	f.Add(mlp.RandomModel(2, []int{1, 1}).Encode())
	f.Add(mlp.RandomModel(3, []int{2, 3, 2, 5}).Encode())
	f.Add([]byte("OGPUMLP1"))
	f.Fuzz(func(t *testing.T, bz []byte) {
		m, err := mlp.DecodeModel(bz)
		if err != nil {
			require.Nil(t, m)
			return
		}
		require.NoError(t, m.Validate())
		require.Equal(t, bz, m.Encode(), "what decodes encodes to the same bytes")
		require.Equal(t, uint64(len(bz)), mlp.ModelSize(m.Widths()))
	})
}

func FuzzDecodeRows(f *testing.F) {
	f.Add(mlp.EncodeRows(gemm.Generate(1, 2, 3), 2, 3))
	f.Add(mlp.EncodeRows([]int8{-128}, 1, 1))
	f.Add([]byte("OGPUROWS"))
	f.Fuzz(func(t *testing.T, bz []byte) {
		x, rows, cols, err := mlp.DecodeRows(bz)
		if err != nil {
			return
		}
		require.Equal(t, bz, mlp.EncodeRows(x, rows, cols), "what decodes encodes to the same bytes")
	})
}

func TestRequant(t *testing.T) {
	const i32min, i32max = -1 << 31, 1<<31 - 1
	for _, tc := range []struct {
		acc, bias, mult int32
		shift           uint8
		relu            bool
		want            int8
	}{
		{0, 0, 5, 3, false, 0},
		{10, -4, 1, 0, false, 6},
		{3, 0, 7, 2, false, 5}, // 21/4 = 5.25
		// halves round away from zero, on both signs
		{1, 0, 1, 1, false, 1},   // 0.5
		{-1, 0, 1, 1, false, -1}, // -0.5
		{3, 0, 1, 1, false, 2},   // 1.5
		{-3, 0, 1, 1, false, -2}, // -1.5
		{5, 0, 1, 1, false, 3},   // 2.5
		{-5, 0, 1, 1, false, -3}, // -2.5
		{5, 0, 1, 2, false, 1},   // 1.25
		{-5, 0, 1, 2, false, -1}, // -1.25
		{7, 0, 1, 2, false, 2},   // 1.75
		{-7, 0, 1, 2, false, -2}, // -1.75
		{1, 0, 1, 2, false, 0},   // 0.25
		{-1, 0, 1, 2, false, 0},  // -0.25
		{3, 0, -1, 1, false, -2}, // a negative multiplier flips the sign
		// saturation
		{127, 0, 1, 0, false, 127},
		{128, 0, 1, 0, false, 127},
		{-128, 0, 1, 0, false, -128},
		{-129, 0, 1, 0, false, -128},
		{253, 0, 1, 1, false, 127},   // 126.5 → 127
		{255, 0, 1, 1, false, 127},   // 127.5 → 128 → 127
		{-255, 0, 1, 1, false, -128}, // -127.5 → -128
		{-257, 0, 1, 1, false, -128}, // -128.5 → -129 → -128
		{i32max, i32max, i32max, 0, false, 127},
		{i32min, i32min, i32min, 0, false, 127}, // (-2^32)·(-2^31) = 2^63, exact
		{i32min, i32min, i32max, 0, false, -128},
		// relu after saturation
		{-5, 0, 1, 1, true, 0},
		{5, 0, 1, 1, true, 3},
		{-1000, 0, 1, 0, true, 0},
		{1000, 0, 1, 0, true, 127},
		// large shifts
		{1 << 30, 1 << 30, 1 << 30, 62, false, 1},    // 2^61 / 2^62 = 0.5
		{-1 << 30, -1 << 30, 1 << 30, 62, false, -1}, // -0.5
		{i32max, 1 << 30, i32max, 62, false, 1},      // (3·2^61 − 5·2^30 + 1) / 2^62, just under 1.5
		{1 << 30, 1 << 30, 3 << 29, 62, false, 1},    // 3·2^60 / 2^62 = 0.75
		{1 << 30, 1 << 30, 3 << 29, 61, false, 2},    // 3·2^60 / 2^61 = 1.5
		{-1 << 30, -1 << 30, 3 << 29, 61, false, -2}, // -1.5
		{i32min, 0, i32min, 62, false, 1},            // 2^62 / 2^62
		{i32min, i32min, i32min, 63, false, 1},       // 2^63 / 2^63
		{i32min, i32min, i32min, 64, false, 1},       // 0.5 rounds away
		{i32min, i32min, i32max, 64, false, 0},       // -(2^63 − 2^32) / 2^64, just above -0.5
		{i32min, i32min, i32min, 65, false, 0},       // 0.25
		{i32max, i32max, i32max, 255, false, 0},
	} {
		got := mlp.Requant(tc.acc, tc.bias, tc.mult, tc.shift, tc.relu)
		require.Equal(t, tc.want, got, "Requant(%d, %d, %d, %d, %v)", tc.acc, tc.bias, tc.mult, tc.shift, tc.relu)
	}
}
