package gemm_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// TestCheckDigest: the digest of a check depends only on the inputs and the challenge, comes
// back whether the result is right or wrong, and differs from one challenge to another.
func TestCheckDigest(t *testing.T) {
	s := gemm.Shape{M: 17, N: 9, K: 33}
	a, b := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
	c := make([]int32, s.M*s.N)
	require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, c))
	good := gemm.Encode(s, c)
	c[40]++
	bad := gemm.Encode(s, c)

	x := gemm.Challenge([32]byte{1}, s.N)
	require.Equal(t, x, gemm.Challenge([32]byte{1}, s.N), "the same seed, the same challenge")
	want := gemm.Digest(s, a, b, x)

	d, err := gemm.Check(bytes.NewReader(good), s, a, b, x)
	require.NoError(t, err)
	require.Equal(t, want, d)
	d, err = gemm.Check(bytes.NewReader(bad), s, a, b, x)
	require.ErrorIs(t, err, gemm.ErrWrongResult)
	require.Equal(t, want, d, "a member that finds the result wrong still proves its check")

	other := gemm.Digest(s, a, b, gemm.Challenge([32]byte{2}, s.N))
	require.NotEqual(t, want, other, "another member's digest is of no use to a copier")
	_, err = gemm.Check(bytes.NewReader(good), s, a, b, x[:3])
	require.Error(t, err, "a challenge of the wrong length")
}
