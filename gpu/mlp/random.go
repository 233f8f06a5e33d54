package mlp

import "github.com/opengpu/ogpu/gpu/gemm"

// RandomModel is a model with these widths drawn from seed, the same everywhere: layer l's W is
// gemm.Generate(seed_l, In, Out) and its biases come from SplitMix64 seeded with seed_l, where
// seed_l is output l of SplitMix64 seeded with seed. Mult/2^Shift scales a layer's accumulators
// to a spread of about 32, so that hidden activations are neither all saturated nor all zero for
// uniform int8 inputs. It is for tests, benchmarks and demos; it panics on widths out of bounds.
func RandomModel(seed uint64, widths []int) *Model {
	if err := ValidateWidths(widths); err != nil {
		panic("mlp: RandomModel: " + err.Error())
	}
	m := &Model{Layers: make([]Layer, len(widths)-1)}
	for l := range m.Layers {
		in, out := widths[l], widths[l+1]
		ls := splitmix(seed, uint64(l))
		// The spread of an accumulator is about √In · 74 · (the spread of x): 128/√3 ≈ 74 for
		// uniform int8 inputs and W, about 22 for the ReLU'd activations of a hidden layer. d is
		// that spread divided by 32.
		d := int64(171 * isqrt(in))
		if l > 0 {
			d = int64(52 * isqrt(in))
		}
		ly := Layer{In: in, Out: out, W: gemm.Generate(ls, in, out), Bias: make([]int32, out)}
		for j := range ly.Bias {
			// uniform in [-8d, 8d): a quarter of the accumulators' spread
			ly.Bias[j] = int32(int64(splitmix(ls, uint64(j))%uint64(16*d)) - 8*d)
		}
		if l < len(m.Layers)-1 {
			ly.Shift, ly.Mult, ly.ReLU = 24, int32((1<<24)/d), true
		}
		m.Layers[l] = ly
	}
	return m
}

// splitmix is output q (from 0) of SplitMix64 seeded with seed, as gemm.Generate draws it.
func splitmix(seed, q uint64) uint64 { return gemm.SplitMix64(seed, q) }

// isqrt is ⌊√n⌋ for n ≥ 0.
func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}
