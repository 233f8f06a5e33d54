package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/x/compute/types"
)

func TestVerifyBlocksGrowWithTheResult(t *testing.T) {
	p := types.DefaultParams()
	require.EqualValues(t, 10, p.VerifyBlocks(0))
	require.EqualValues(t, 11, p.VerifyBlocks(32+4*256*256), "a quarter MiB: one block more, rounded up")
	require.EqualValues(t, 10+21, p.VerifyBlocks(1<<30), "1 GiB: 0.02 × 1024 = 20.48, rounded up")
	p.VerifyBlocksPerMib = math.LegacyNewDec(10_000)
	require.EqualValues(t, 10+10_000, p.VerifyBlocks(1<<30), "at most 10,000 blocks more")
	p.MaxTimersPerBlock = 0
	require.ErrorContains(t, p.Validate(), "max_timers_per_block 0")
}
