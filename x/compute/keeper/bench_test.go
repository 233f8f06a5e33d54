package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// marketWithHistory is a market with n finished tasks in state, as a chain has after a while.
func marketWithHistory(b *testing.B, n int) *fixture {
	f := newFixture(b)
	f.bank.Set(f.client, denom, ogpu(1_000_000))
	msg := f.gemmTask()
	msg.MaxPrice = sdk.NewCoin(denom, math.NewInt(1_000))
	for i := 0; i < n; i++ {
		_, err := f.msgs.CreateTask(f.ctx, msg)
		require.NoError(b, err)
		if i%1000 == 999 {
			f.nextBlock()
		}
	}
	f.untilHeight(f.ctx.BlockHeight() + 5) // no bids: every one of them expires
	return f
}

// taskLife is the whole life of one task: created, bid on by two providers, matched at the end of
// the bid window, its result submitted and found valid, and the blocks in between.
func taskLife(b *testing.B, f *fixture, msg *types.MsgCreateTask) {
	res, err := f.msgs.CreateTask(f.ctx, msg)
	require.NoError(b, err)
	id := res.TaskId
	require.NoError(b, f.bid(f.providers[0], id, math.NewInt(900)))
	require.NoError(b, f.bid(f.providers[1], id, math.NewInt(800)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	require.NoError(b, f.submit(f.providers[1], id, resultSize))
	require.NoError(b, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_VALID, f.addr("validator", 0))))
	require.NoError(b, f.k.AcceptResult(f.ctx, f.client, id))
	f.nextBlock()
}

// BenchmarkMarketScale measures the life of a task (create, bids, end blocks, match, result,
// verdict) with 1,000 and with 100,000 tasks in state, in the same run, and reports the ratio
// (aim ≤ 1.2): matching, timers and lookups go through indexes, so the cost must not grow with
// the history.
func BenchmarkMarketScale(b *testing.B) {
	small, large := marketWithHistory(b, 1_000), marketWithHistory(b, 100_000)
	msg := small.gemmTask()
	msg.MaxPrice = sdk.NewCoin(denom, math.NewInt(1_000))
	var tSmall, tLarge time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		taskLife(b, small, msg)
		tSmall += time.Since(start)
		start = time.Now()
		taskLife(b, large, msg)
		tLarge += time.Since(start)
	}
	b.ReportMetric(float64(tSmall.Nanoseconds())/float64(b.N), "ns/task@1k")
	b.ReportMetric(float64(tLarge.Nanoseconds())/float64(b.N), "ns/task@100k")
	b.ReportMetric(float64(tLarge)/float64(tSmall), "ratio-100k/1k")
}
