package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/x/committee/types"
)

func TestCommitPhaseGrowsWithTheResult(t *testing.T) {
	p := types.DefaultParams()
	require.EqualValues(t, 5, p.CommitPhase(0))
	require.EqualValues(t, 6, p.CommitPhase(32+4*256*256), "a quarter MiB: one block more, rounded up")
	require.EqualValues(t, 5+11, p.CommitPhase(1<<30), "1 GiB: 0.01 × 1024 = 10.24, rounded up")
	p.CommitBlocksPerMib = math.LegacyNewDec(-1)
	require.ErrorContains(t, p.Validate(), "commit_blocks_per_mib -1")
}
