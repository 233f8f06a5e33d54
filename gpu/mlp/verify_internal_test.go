package mlp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestApplyLEIsApply: the written-out loop over little-endian accumulators gives apply's values.
func TestApplyLEIsApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for shift := 0; shift <= MaxShift; shift++ {
		for _, relu := range []bool{false, true} {
			rq := newRequantizer(Layer{Mult: rng.Int32N(1<<31-1) + 1, Shift: uint8(shift), ReLU: relu})
			acc, bias := make([]byte, 4*64), make([]int32, 64)
			want := make([]byte, 64)
			for i := range bias {
				a := int32(rng.Uint32()) >> rng.IntN(32)
				binary.LittleEndian.PutUint32(acc[4*i:], uint32(a))
				bias[i] = int32(rng.Int64N(2*MaxBias+1) - MaxBias)
				want[i] = byte(rq.apply(a, bias[i]))
			}
			got := make([]byte, 64)
			rq.applyLE(got, acc, bias)
			require.Equal(t, want, got, "shift %d relu %v", shift, relu)
		}
	}
}
