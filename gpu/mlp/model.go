package mlp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/opengpu/ogpu/x/compute/workload"
)

// Bounds of the workload, the chain's (x/compute/workload) where it has them.
const (
	// MaxWidth bounds every layer width: with k ≤ 16384, int32 accumulation of int8 products is
	// exact (|acc| ≤ 16384·128² = 2^28), as gemm-int8/v1 requires.
	MaxWidth = workload.MlpMaxWidth
	// MaxLayers bounds the number of layers.
	MaxLayers = workload.MlpMaxLayers
	// MaxRows bounds the rows of an inference batch.
	MaxRows = workload.MlpMaxRows
	// MaxBias bounds |Bias|, so a logit acc + Bias (|acc| ≤ 2^28) cannot overflow int32.
	MaxBias = 1 << 30
	// MaxShift bounds a hidden layer's requantization shift.
	MaxShift = 62
)

// Version of the model, inputs and result layouts.
const Version = 1

var (
	modelMagic  = [8]byte{'O', 'G', 'P', 'U', 'M', 'L', 'P', '1'}
	rowsMagic   = [8]byte{'O', 'G', 'P', 'U', 'R', 'O', 'W', 'S'}
	resultMagic = [8]byte{'O', 'G', 'P', 'U', 'I', 'N', 'F', 'R'}
)

// Layer computes y = act(requant(x·W + Bias)) for x (rows×In int8): W is In×Out row-major int8
// (the B matrix of gemm Shape{M: rows, N: Out, K: In}). The last layer of a model instead
// outputs the int32 logits x·W + Bias, with Mult, Shift and ReLU all zero.
type Layer struct {
	In, Out int
	W       []int8  // In×Out row-major
	Bias    []int32 // Out
	Mult    int32   // requantization multiplier (hidden layers), > 0
	Shift   uint8   // requantization right shift (hidden layers), 0..62
	ReLU    bool
}

// Model is a multilayer perceptron: Layers[l].Out is Layers[l+1].In.
type Model struct{ Layers []Layer }

// Requant is the activation a hidden layer passes on: (acc + bias)·mult divided by 2^shift,
// rounded half away from zero, saturated to [-128, 127], then max(0, ·) if relu. It is exact for
// any arguments: |acc + bias| ≤ 2^32 and |mult| ≤ 2^31 keep the product's magnitude within 2^63.
func Requant(acc int32, bias int32, mult int32, shift uint8, relu bool) int8 {
	v, m := int64(acc)+int64(bias), int64(mult)
	sv, sm := v>>63, m>>63 // 0 or -1: the signs
	neg := sv ^ sm
	mag := uint64((v^sv)-sv) * uint64((m^sm)-sm)
	// The bit just below the cut is set when the remainder is at least half. A shift of 64 or
	// more gives 0 in Go, and shift−1 wraps to 255 when shift is 0, so no case is special.
	q := mag>>shift + (mag>>(shift-1))&1
	q = min(q, uint64(127-neg)) // 127, or 128 before negation
	out := int8((int64(q) ^ neg) - neg)
	if relu {
		out = max(out, 0)
	}
	return out
}

// Widths is the model's widths: the input width, then each layer's output width.
func (m *Model) Widths() []int {
	if len(m.Layers) == 0 {
		return nil
	}
	w := []int{m.Layers[0].In}
	for _, l := range m.Layers {
		w = append(w, l.Out)
	}
	return w
}

// ValidateWidths checks a model's widths against the bounds: 2..MaxLayers+1 of them, each in
// 1..MaxWidth.
func ValidateWidths(widths []int) error {
	if n := len(widths) - 1; n < 1 || n > MaxLayers {
		return fmt.Errorf("layer count %d: must be in 1..%d", n, MaxLayers)
	}
	for i, w := range widths {
		if w < 1 || w > MaxWidth {
			return fmt.Errorf("widths[%d] %d: must be in 1..%d", i, w, MaxWidth)
		}
	}
	return nil
}

// Validate checks the model against the bounds and the rules of its layers.
func (m *Model) Validate() error {
	if n := len(m.Layers); n < 1 || n > MaxLayers {
		return fmt.Errorf("model: layer count %d: must be in 1..%d", n, MaxLayers)
	}
	for l, ly := range m.Layers {
		if ly.In < 1 || ly.In > MaxWidth {
			return fmt.Errorf("model: layers[%d].in %d: must be in 1..%d", l, ly.In, MaxWidth)
		}
		if ly.Out < 1 || ly.Out > MaxWidth {
			return fmt.Errorf("model: layers[%d].out %d: must be in 1..%d", l, ly.Out, MaxWidth)
		}
		if l > 0 && ly.In != m.Layers[l-1].Out {
			return fmt.Errorf("model: layers[%d].in %d: must be layers[%d].out %d", l, ly.In, l-1, m.Layers[l-1].Out)
		}
		if len(ly.W) != ly.In*ly.Out {
			return fmt.Errorf("model: layers[%d].w: %d values, want %d×%d", l, len(ly.W), ly.In, ly.Out)
		}
		if len(ly.Bias) != ly.Out {
			return fmt.Errorf("model: layers[%d].bias: %d values, want %d", l, len(ly.Bias), ly.Out)
		}
		if err := ly.check(l, l == len(m.Layers)-1); err != nil {
			return fmt.Errorf("model: %w", err)
		}
	}
	return nil
}

// check is the rule on a layer's requantization and bias, which Validate and DecodeModel share.
func (ly *Layer) check(l int, last bool) error {
	if last {
		if ly.Mult != 0 {
			return fmt.Errorf("layers[%d].mult %d: must be 0 in the last layer", l, ly.Mult)
		}
		if ly.Shift != 0 {
			return fmt.Errorf("layers[%d].shift %d: must be 0 in the last layer", l, ly.Shift)
		}
		if ly.ReLU {
			return fmt.Errorf("layers[%d].relu: must be false in the last layer", l)
		}
	} else {
		if ly.Mult <= 0 {
			return fmt.Errorf("layers[%d].mult %d: must be in 1..%d", l, ly.Mult, int32(1<<31-1))
		}
		if ly.Shift > MaxShift {
			return fmt.Errorf("layers[%d].shift %d: must be in 0..%d", l, ly.Shift, MaxShift)
		}
	}
	for j, b := range ly.Bias {
		if b < -MaxBias || b > MaxBias {
			return fmt.Errorf("layers[%d].bias[%d] %d: must be in -%d..%d", l, j, b, MaxBias, MaxBias)
		}
	}
	return nil
}

// Sizes of the fixed parts of the model blob.
const (
	modelHeaderSize = 16 // magic, version, layer count; the widths follow
	layerHeaderSize = 8  // mult, shift, relu, two zero bytes
)

// ModelSize is the exact size of the blob of a model with these widths, so a task's model input
// can be checked from its parameters alone; 0 if the widths are out of bounds.
func ModelSize(widths []int) uint64 {
	if ValidateWidths(widths) != nil {
		return 0
	}
	size := uint64(modelHeaderSize + 4*len(widths))
	for l := 1; l < len(widths); l++ {
		in, out := uint64(widths[l-1]), uint64(widths[l])
		size += layerHeaderSize + in*out + 4*out
	}
	return size
}

// Encode is the model blob (see docs/workloads.md): the header, then each layer's header, W and
// Bias. The model must be valid.
func (m *Model) Encode() []byte {
	widths := m.Widths()
	out := make([]byte, 0, ModelSize(widths))
	out = append(out, modelMagic[:]...)
	out = binary.LittleEndian.AppendUint32(out, Version)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(m.Layers)))
	for _, w := range widths {
		out = binary.LittleEndian.AppendUint32(out, uint32(w))
	}
	for _, ly := range m.Layers {
		out = binary.LittleEndian.AppendUint32(out, uint32(ly.Mult))
		var relu byte
		if ly.ReLU {
			relu = 1
		}
		out = append(out, ly.Shift, relu, 0, 0)
		for _, w := range ly.W {
			out = append(out, byte(w))
		}
		for _, b := range ly.Bias {
			out = binary.LittleEndian.AppendUint32(out, uint32(b))
		}
	}
	return out
}

// DecodeModel reads a model blob. It is strict: a wrong magic, version, count, width, size,
// flag, padding, multiplier, shift or bias is an error that names the field, and a model that
// decodes encodes to the same bytes.
func DecodeModel(b []byte) (*Model, error) {
	if len(b) < modelHeaderSize {
		return nil, fmt.Errorf("model: size %d bytes: shorter than the %d-byte header", len(b), modelHeaderSize)
	}
	if [8]byte(b[:8]) != modelMagic {
		return nil, errors.New("model: magic: not an OGPUMLP1 blob")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("model: version %d: must be %d", v, Version)
	}
	n := binary.LittleEndian.Uint32(b[12:])
	if n < 1 || n > MaxLayers {
		return nil, fmt.Errorf("model: layer count %d: must be in 1..%d", n, MaxLayers)
	}
	if len(b) < modelHeaderSize+4*int(n+1) {
		return nil, fmt.Errorf("model: size %d bytes: shorter than the header with %d widths", len(b), n+1)
	}
	widths := make([]int, n+1)
	for i := range widths {
		w := binary.LittleEndian.Uint32(b[modelHeaderSize+4*i:])
		if w < 1 || w > MaxWidth {
			return nil, fmt.Errorf("model: widths[%d] %d: must be in 1..%d", i, w, MaxWidth)
		}
		widths[i] = int(w)
	}
	if want := ModelSize(widths); uint64(len(b)) != want {
		return nil, fmt.Errorf("model: size %d bytes: widths %v need %d", len(b), widths, want)
	}
	m := &Model{Layers: make([]Layer, n)}
	off := modelHeaderSize + 4*len(widths)
	for l := range m.Layers {
		in, out := widths[l], widths[l+1]
		h := b[off : off+layerHeaderSize]
		ly := Layer{In: in, Out: out, Mult: int32(binary.LittleEndian.Uint32(h)), Shift: h[4]}
		switch h[5] {
		case 0:
		case 1:
			ly.ReLU = true
		default:
			return nil, fmt.Errorf("model: layers[%d].relu %d: must be 0 or 1", l, h[5])
		}
		if h[6] != 0 || h[7] != 0 {
			return nil, fmt.Errorf("model: layers[%d].padding: must be zero", l)
		}
		off += layerHeaderSize
		ly.W = make([]int8, in*out)
		for i := range ly.W {
			ly.W[i] = int8(b[off+i])
		}
		off += in * out
		ly.Bias = make([]int32, out)
		for j := range ly.Bias {
			ly.Bias[j] = int32(binary.LittleEndian.Uint32(b[off+4*j:]))
		}
		off += 4 * out
		if err := ly.check(l, l == len(m.Layers)-1); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		m.Layers[l] = ly
	}
	return m, nil
}

// rowsHeaderSize is the inputs blob's header: magic, version, rows, cols.
const rowsHeaderSize = 20

// RowsSize is the exact size of the inputs blob of rows×cols values.
func RowsSize(rows, cols int) uint64 {
	return rowsHeaderSize + uint64(max(rows, 0))*uint64(max(cols, 0))
}

// EncodeRows is the inputs blob of x, rows×cols int8 row-major: the header, then one byte per
// value. It panics if len(x) is not rows·cols.
func EncodeRows(x []int8, rows, cols int) []byte {
	if len(x) != rows*cols {
		panic(fmt.Sprintf("mlp: EncodeRows %dx%d: got %d values", rows, cols, len(x)))
	}
	out := make([]byte, 0, RowsSize(rows, cols))
	out = append(out, rowsMagic[:]...)
	out = binary.LittleEndian.AppendUint32(out, Version)
	out = binary.LittleEndian.AppendUint32(out, uint32(rows))
	out = binary.LittleEndian.AppendUint32(out, uint32(cols))
	for _, v := range x {
		out = append(out, byte(v))
	}
	return out
}

// DecodeRows reads an inputs blob, strictly: rows in 1..MaxRows, cols in 1..MaxWidth, and
// exactly rows·cols values.
func DecodeRows(b []byte) (x []int8, rows, cols int, err error) {
	if len(b) < rowsHeaderSize {
		return nil, 0, 0, fmt.Errorf("rows: size %d bytes: shorter than the %d-byte header", len(b), rowsHeaderSize)
	}
	if [8]byte(b[:8]) != rowsMagic {
		return nil, 0, 0, errors.New("rows: magic: not an OGPUROWS blob")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, 0, 0, fmt.Errorf("rows: version %d: must be %d", v, Version)
	}
	r, c := binary.LittleEndian.Uint32(b[12:]), binary.LittleEndian.Uint32(b[16:])
	if r < 1 || r > MaxRows {
		return nil, 0, 0, fmt.Errorf("rows: rows %d: must be in 1..%d", r, MaxRows)
	}
	if c < 1 || c > MaxWidth {
		return nil, 0, 0, fmt.Errorf("rows: cols %d: must be in 1..%d", c, MaxWidth)
	}
	rows, cols = int(r), int(c)
	if want := RowsSize(rows, cols); uint64(len(b)) != want {
		return nil, 0, 0, fmt.Errorf("rows: size %d bytes: %dx%d needs %d", len(b), rows, cols, want)
	}
	x = make([]int8, rows*cols)
	for i := range x {
		x[i] = int8(b[rowsHeaderSize+i])
	}
	return x, rows, cols, nil
}
