package mlp

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRequantizerIsRequant compares the hot loops' requantizer with Requant over every shift a
// hidden layer may have, at the edges of every argument and at random.
func TestRequantizerIsRequant(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	edges := []int32{-1 << 31, -1<<31 + 1, -1 << 30, -1000, -129, -128, -3, -1, 0, 1, 3, 127, 128, 1000, 1 << 30, 1<<31 - 1}
	for shift := 0; shift <= MaxShift; shift++ {
		for _, mult := range []int32{1, 2, 3, 1 << 15, 1<<31 - 1, rng.Int32N(1<<31-1) + 1} {
			for _, relu := range []bool{false, true} {
				rq := newRequantizer(Layer{Mult: mult, Shift: uint8(shift), ReLU: relu})
				for _, acc := range edges {
					for _, bias := range []int32{-MaxBias, -7, 0, 7, MaxBias} {
						require.Equal(t, Requant(acc, bias, mult, uint8(shift), relu), rq.apply(acc, bias),
							"acc %d bias %d mult %d shift %d relu %v", acc, bias, mult, shift, relu)
					}
				}
				for i := 0; i < 200; i++ {
					acc, bias := int32(rng.Uint32()), int32(rng.Int64N(2*MaxBias+1)-MaxBias)
					if i%2 == 0 {
						acc = rng.Int32N(1<<29) - 1<<28 // what a layer's accumulators can be
					}
					require.Equal(t, Requant(acc, bias, mult, uint8(shift), relu), rq.apply(acc, bias),
						"acc %d bias %d mult %d shift %d relu %v", acc, bias, mult, shift, relu)
				}
			}
		}
	}
}
