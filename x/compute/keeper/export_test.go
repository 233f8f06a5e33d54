package keeper_test

import (
	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/x/compute/keeper"
	"github.com/opengpu/ogpu/x/compute/types"
)

func keeperSplit(fee math.Int, attesters []types.Attester) []int64 {
	var out []int64
	for _, s := range keeper.SplitByPower(fee, attesters) {
		out = append(out, s.Amount().Int64())
	}
	return out
}
