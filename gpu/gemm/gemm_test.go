package gemm_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

func TestGenerateIsFixed(t *testing.T) {
	a := gemm.Generate(1, 4, 4)
	require.Equal(t, a, gemm.Generate(1, 4, 4))
	require.NotEqual(t, a, gemm.Generate(2, 4, 4))
	// the documented PRNG: the first SplitMix64 output of seed 1 is 0x910a2dec89025cc1
	var want [8]byte
	binary.LittleEndian.PutUint64(want[:], 0x910a2dec89025cc1)
	for i := 0; i < 8; i++ {
		require.Equal(t, int8(want[i]), a[i])
	}
	h := sha256.Sum256(int8Bytes(gemm.Generate(42, 64, 64)))
	require.Equal(t, "7611e638", hex.EncodeToString(h[:4]), "the generated inputs never change")
}

func int8Bytes(v []int8) []byte {
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(x)
	}
	return out
}

func TestCPUEqualsNaiveLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []gemm.Shape{
		{1, 1, 1}, {1, 300, 1}, {300, 1, 1}, {1, 1, 300}, {17, 33, 65}, {256, 256, 256},
		{257, 255, 513}, {16, 1000, 3}, {100, 7, 700},
	}
	for i := 0; i < 6; i++ {
		shapes = append(shapes, gemm.Shape{M: 1 + rng.IntN(200), N: 1 + rng.IntN(200), K: 1 + rng.IntN(600)})
	}
	for _, s := range shapes {
		a, b := gemm.Generate(rng.Uint64(), s.M, s.K), gemm.Generate(rng.Uint64(), s.K, s.N)
		c := make([]int32, s.M*s.N)
		require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, c))
		require.Equal(t, gemm.Naive(s, a, b), c, "%dx%dx%d", s.M, s.N, s.K)
		c1 := make([]int32, s.M*s.N)
		require.NoError(t, gemm.CPU{Workers: 1}.GemmInt8(s, a, b, c1))
		require.Equal(t, c, c1, "same bytes on one core")
	}
	// the extremes: 16384 products of -128 · -128 sum to 2^28, well inside int32
	s := gemm.Shape{M: 2, N: 2, K: 16384}
	a, b := make([]int8, s.M*s.K), make([]int8, s.K*s.N)
	for i := range a {
		a[i] = -128
	}
	for i := range b {
		b[i] = -128
	}
	c := make([]int32, 4)
	require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, c))
	require.Equal(t, int32(128*128*16384), c[0])
	require.ErrorContains(t, gemm.CPU{}.GemmInt8(s, a[:1], b, c), "got A 1")
}

func TestEncodeAndHeader(t *testing.T) {
	s := gemm.Shape{M: 2, N: 3, K: 4}
	bz := gemm.Encode(s, []int32{1, -1, 2, -2, 1 << 30, -1 << 31})
	require.Len(t, bz, s.ResultSize())
	got, err := gemm.ParseHeader(bz)
	require.NoError(t, err)
	require.Equal(t, s, got)
	require.Equal(t, uint32(0xffffffff), binary.LittleEndian.Uint32(bz[gemm.HeaderSize+4:]))
	bad := bytes.Clone(bz)
	bad[0] = 'X'
	_, err = gemm.ParseHeader(bad)
	require.ErrorContains(t, err, "not a gemm-int8 result")
}

func TestFreivalds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := gemm.Shape{M: 24, N: 40, K: 56}
	a, b := gemm.Generate(7, s.M, s.K), gemm.Generate(8, s.K, s.N)
	c := gemm.Naive(s, a, b)
	good := gemm.Encode(s, c)
	for trial := 0; trial < 1000; trial++ {
		require.NoError(t, gemm.Verify(bytes.NewReader(good), s, a, b), "a correct result always passes")
		bad := bytes.Clone(good)
		at := gemm.HeaderSize + 4*rng.IntN(s.M*s.N)
		v := int32(binary.LittleEndian.Uint32(bad[at:])) + int32(1+rng.IntN(1000))*int32(1-2*rng.IntN(2))
		binary.LittleEndian.PutUint32(bad[at:], uint32(v))
		require.ErrorIs(t, gemm.Verify(bytes.NewReader(bad), s, a, b), gemm.ErrWrongResult, "trial %d: one changed element", trial)
	}
	require.ErrorIs(t, gemm.Verify(bytes.NewReader(good[:len(good)-1]), s, a, b), gemm.ErrWrongResult, "a truncated result")
	require.ErrorIs(t, gemm.Verify(bytes.NewReader(append(bytes.Clone(good), 0)), s, a, b), gemm.ErrWrongResult, "trailing bytes")
	other := gemm.Shape{M: 24, N: 40, K: 55}
	require.ErrorIs(t, gemm.Verify(bytes.NewReader(good), other, a[:24*55], b[:55*40]), gemm.ErrWrongResult, "another shape")
}

// TestMulMod checks the field multiplication against big.Int.
func TestMulMod(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := new(big.Int).SetUint64(gemm.P)
	for i := 0; i < 10000; i++ {
		a, b := rng.Uint64()%gemm.P, rng.Uint64()%gemm.P
		if i == 0 {
			a, b = gemm.P-1, gemm.P-1
		}
		want := new(big.Int).Mod(new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b)), p)
		require.Equal(t, want.Uint64(), gemm.MulMod(a, b))
	}
}
