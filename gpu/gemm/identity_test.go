package gemm_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// TestIdentityResultIsIdentityTimesB: the streams are what they say, on a small shape: the
// identity times B, encoded, is the result stream, and the check accepts it.
func TestIdentityResultIsIdentityTimesB(t *testing.T) {
	s := gemm.Shape{M: 37, N: 11, K: 37}
	id, err := io.ReadAll(gemm.NewIdentity(s.M))
	require.NoError(t, err)
	a := make([]int8, len(id))
	for i, v := range id {
		a[i] = int8(v)
	}
	b := gemm.Generate(77, s.K, s.N)
	want := gemm.Encode(s, gemm.Naive(s, a, b))
	got, err := io.ReadAll(gemm.NewIdentityResult(s, gemm.NewGenerator(77, s.K, s.N)))
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.NoError(t, gemm.Verify(bytes.NewReader(got), s, a, b))
}
