package gemm_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// TestGeneratorStreamsGenerate: the generator gives Generate's bytes whatever the chunking,
// including reads that start and end inside one 8-byte output.
func TestGeneratorStreamsGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dims := range [][2]int{{1, 1}, {3, 5}, {17, 33}, {64, 64}, {1, 1000}} {
		seed := rng.Uint64()
		want := int8Bytes(gemm.Generate(seed, dims[0], dims[1]))
		g := gemm.NewGenerator(seed, dims[0], dims[1])
		var got []byte
		for {
			buf := make([]byte, 1+rng.IntN(23))
			n, err := g.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		require.Equal(t, want, got, "%dx%d", dims[0], dims[1])
		all, err := io.ReadAll(gemm.NewGenerator(seed, dims[0], dims[1]))
		require.NoError(t, err)
		require.Equal(t, want, all)
	}
}

// TestWriteResultIsEncode: the streamed encoding is byte for byte Encode's.
func TestWriteResultIsEncode(t *testing.T) {
	s := gemm.Shape{M: 70, N: 300, K: 3}
	c := make([]int32, s.M*s.N)
	for i := range c {
		c[i] = int32(i*7919) - 1<<20
	}
	var buf bytes.Buffer
	require.NoError(t, gemm.WriteResult(&buf, s, c))
	require.Equal(t, gemm.Encode(s, c), buf.Bytes())
	require.ErrorContains(t, gemm.WriteResult(&buf, s, c[:3]), "got 3 values")
}

// TestFreivaldsStreamsInputs: reading B and then A as streams, in odd chunks, gives every
// challenge the digest of the in-memory check; the streamed check accepts the right result and
// rejects a wrong, short or long one.
func TestFreivaldsStreamsInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	shapes := []gemm.Shape{{M: 1, N: 1, K: 1}, {M: 17, N: 9, K: 33}, {M: 20, N: 3000, K: 200}, {M: 5, N: 2, K: 16384}}
	for _, s := range shapes {
		a, b := gemm.Generate(rng.Uint64(), s.M, s.K), gemm.Generate(rng.Uint64(), s.K, s.N)
		xs := [][]uint64{gemm.Challenge([32]byte{1}, s.N), gemm.Challenge([32]byte{2}, s.N), gemm.Challenge([32]byte{3}, s.N)}
		f, err := gemm.NewFreivalds(s, xs...)
		require.NoError(t, err)
		require.NoError(t, f.ReadB(iotest.HalfReader(bytes.NewReader(int8Bytes(b)))))
		require.NoError(t, f.ReadA(iotest.OneByteReader(bytes.NewReader(int8Bytes(a)))))
		for j, x := range xs {
			d, ok := f.Digest(j)
			require.True(t, ok)
			require.Equal(t, gemm.Digest(s, a, b, x), d, "%v challenge %d", s, j)
		}
		c := gemm.Naive(s, a, b)
		good := gemm.Encode(s, c)
		require.NoError(t, f.Check(bytes.NewReader(good), 1))
		c[len(c)-1]--
		require.ErrorIs(t, f.Check(bytes.NewReader(gemm.Encode(s, c)), 2), gemm.ErrWrongResult)
		require.ErrorIs(t, f.Check(bytes.NewReader(good[:len(good)-4]), 0), gemm.ErrWrongResult)
		require.ErrorIs(t, f.Check(bytes.NewReader(append(bytes.Clone(good), 1)), 0), gemm.ErrWrongResult)
	}
}

// TestFreivaldsRefusesMisuse: clear errors, never a panic, for short inputs, the wrong order and
// bad challenges.
func TestFreivaldsRefusesMisuse(t *testing.T) {
	s := gemm.Shape{M: 4, N: 5, K: 6}
	x := gemm.Challenge([32]byte{1}, s.N)
	_, err := gemm.NewFreivalds(s, x[:4])
	require.ErrorContains(t, err, "challenge 0: 4 elements for n = 5")
	_, err = gemm.NewFreivalds(gemm.Shape{M: 0, N: 5, K: 6}, x)
	require.ErrorContains(t, err, "must be at least 1")
	_, err = gemm.NewFreivalds(s)
	require.Error(t, err)

	f, err := gemm.NewFreivalds(s, x)
	require.NoError(t, err)
	require.ErrorContains(t, f.ReadA(bytes.NewReader(make([]byte, s.M*s.K))), "read B before A")
	_, ok := f.Digest(0)
	require.False(t, ok)
	require.Error(t, f.Check(bytes.NewReader(nil), 0))
	require.ErrorContains(t, f.ReadB(bytes.NewReader(make([]byte, s.K*s.N-1))), "read B rows")
	require.NoError(t, f.ReadB(bytes.NewReader(make([]byte, s.K*s.N))))
	require.ErrorIs(t, f.ReadA(bytes.NewReader(make([]byte, 3))), io.ErrUnexpectedEOF)
	require.Error(t, f.Check(bytes.NewReader(nil), 0), "no A yet")
	require.NoError(t, f.ReadA(bytes.NewReader(make([]byte, s.M*s.K))))
	_, ok = f.Digest(1)
	require.False(t, ok, "only one challenge")
	require.NoError(t, f.Check(bytes.NewReader(gemm.Encode(s, make([]int32, s.M*s.N))), 0), "zero inputs, zero product")
}
