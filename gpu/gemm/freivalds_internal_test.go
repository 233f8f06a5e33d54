package gemm

import (
	"encoding/binary"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDotBytesIsDotInt8: the plain-multiply dot product over halves of x gives dotInt8's value,
// at the largest bytes and elements, and past the length at which it reduces its sums.
func TestDotBytesIsDotInt8(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 2048, 1<<20 + 3} {
		for _, fill := range []string{"random", "max"} {
			v, x := make([]int8, n), make([]uint64, n)
			for j := range v {
				v[j], x[j] = int8(rng.Uint32()), rng.Uint64N(P)
				if fill == "max" {
					v[j], x[j] = int8(-128+255*(j%2)), P-1-uint64(j%3)
				}
			}
			b := make([]byte, n)
			for j, e := range v {
				b[j] = byte(e)
			}
			require.Equal(t, dotInt8(v, x, sum(x)), dotBytes(b, halvesOf(x), sum(x)), "n %d, %s", n, fill)
		}
	}
}

// TestDotInt32LEIsTheSum: dotInt32LE is Σ c_j·x_j mod P, at the ends of int32 and of the field.
func TestDotInt32LEIsTheSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 5, 2048} {
		for _, fill := range []string{"random", "max"} {
			row, x := make([]byte, 4*n), make([]uint64, n)
			want, p := new(big.Int), big.NewInt(P)
			for j := range x {
				c, v := int32(rng.Uint32()), rng.Uint64N(P)
				if fill == "max" {
					c, v = []int32{-1 << 31, 1<<31 - 1, -1}[j%3], P-1-uint64(j%2)
				}
				binary.LittleEndian.PutUint32(row[4*j:], uint32(c))
				x[j] = v
				want.Add(want, new(big.Int).Mul(big.NewInt(int64(c)), new(big.Int).SetUint64(v)))
			}
			want.Mod(want, p)
			require.Equal(t, want.Uint64(), dotInt32LE(row, x, sum(x)), "n %d, %s", n, fill)
		}
	}
}
