package types_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

const streamChainID = "ogpu-test-1"

// periodReceipts are n receipts of one period, in sequence order.
func periodReceipts(n int) []types.Receipt {
	out := make([]types.Receipt, n)
	for i := range out {
		sum := sha256.Sum256([]byte{byte(i)})
		out[i] = types.Receipt{
			StreamId: 7, Provider: sdk.AccAddress(make([]byte, 20)).String(), Sequence: uint64(i), Height: 100 + int64(i),
			InputSha256: hex.EncodeToString(sum[:]), OutputSha256: strings.Repeat("ab", 32), InputSize: 40, OutputSize: 200,
		}
	}
	return out
}

// FuzzVerifySample: any sample against any root and count is verified or refused with
// ErrInvalidSample, never a panic; a sample that verifies against a root of real receipts is
// the receipt at its index.
func FuzzVerifySample(f *testing.F) {
	receipts := periodReceipts(5)
	root, proofs := types.ReceiptProofs(streamChainID, receipts)
	for i, p := range proofs {
		s := types.SampleProof{Receipt: receipts[i], Index: uint64(i), Aunts: p.Aunts}
		bz, err := s.Marshal()
		require.NoError(f, err)
		f.Add(root, uint64(5), bz)
		f.Add(root, uint64(6), bz)
		f.Add(root[:31], uint64(5), bz)
	}
	f.Add([]byte(nil), uint64(0), []byte{})
	f.Add(root, uint64(1)<<63, []byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add(root, ^uint64(0), []byte{0x18, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, root []byte, count uint64, sample []byte) {
		var s types.SampleProof
		if s.Unmarshal(sample) != nil {
			return
		}
		err := types.VerifySample(streamChainID, root, count, s)
		if err != nil {
			require.ErrorIs(t, err, types.ErrInvalidSample)
			return
		}
		require.Less(t, s.Index, count)
		require.LessOrEqual(t, len(s.Aunts), types.MaxMerkleDepth)
		real, _ := types.ReceiptProofs(streamChainID, receipts)
		if string(root) == string(real) && count == uint64(len(receipts)) {
			require.Equal(t, receipts[s.Index], s.Receipt)
		}
	})
}

// FuzzSampleIndices: any seed, count and n give min(count, n) distinct indices below count,
// the same for the same seed, never a panic.
func FuzzSampleIndices(f *testing.F) {
	f.Add([]byte("block hash"), uint64(10), uint32(2))
	f.Add([]byte{}, uint64(0), uint32(2))
	f.Add([]byte{1}, uint64(2), uint32(2))
	f.Add([]byte{2}, uint64(65), uint32(64))
	f.Add([]byte{3}, ^uint64(0), uint32(64))
	f.Add([]byte{4}, uint64(1), uint32(0))
	f.Fuzz(func(t *testing.T, seed []byte, count uint64, n uint32) {
		n %= types.MaxSamplesPerReveal + 1
		got := types.SampleIndices(seed, count, n)
		require.Len(t, got, int(min(count, uint64(n))))
		seen := map[uint64]bool{}
		for _, i := range got {
			require.Less(t, i, count)
			require.False(t, seen[i], "index %d twice", i)
			seen[i] = true
		}
		require.Equal(t, got, types.SampleIndices(seed, count, n))
	})
}

// FuzzValidateReceipt: any receipt bytes decode and validate or are refused, never a panic; a
// receipt that passes has a provider address, two sha256 in lowercase hex and positive sizes.
func FuzzValidateReceipt(f *testing.F) {
	for _, r := range periodReceipts(2) {
		bz, err := r.Marshal()
		require.NoError(f, err)
		f.Add(bz)
		r.InputSha256 = strings.ToUpper(r.InputSha256)
		bz, err = r.Marshal()
		require.NoError(f, err)
		f.Add(bz)
		r.InputSize, r.Provider = 0, "ogpu1x"
		bz, err = r.Marshal()
		require.NoError(f, err)
		f.Add(bz)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, bz []byte) {
		var r types.Receipt
		if r.Unmarshal(bz) != nil {
			return
		}
		if err := types.ValidateReceipt(r); err != nil {
			return
		}
		_, err := sdk.AccAddressFromBech32(r.Provider)
		require.NoError(t, err)
		for _, h := range []string{r.InputSha256, r.OutputSha256} {
			b, err := hex.DecodeString(h)
			require.NoError(t, err)
			require.Len(t, b, sha256.Size)
			require.Equal(t, strings.ToLower(h), h)
		}
		require.Positive(t, r.InputSize)
		require.Positive(t, r.OutputSize)
		_ = types.ReceiptSignBytes(streamChainID, r)
	})
}
