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

// blockOfWork is one block of market traffic: a task created, bid on by two providers, and the
// end block that matches the task created bid_window blocks earlier.
func blockOfWork(b *testing.B, f *fixture, msg *types.MsgCreateTask) {
	res, err := f.msgs.CreateTask(f.ctx, msg)
	require.NoError(b, err)
	require.NoError(b, f.bid(f.providers[0], res.TaskId, math.NewInt(900)))
	require.NoError(b, f.bid(f.providers[1], res.TaskId, math.NewInt(800)))
	f.nextBlock()
}

// BenchmarkMarketScale measures a block of market traffic with 1,000 and with 100,000 tasks in
// state, in the same run, and reports the ratio (aim ≤ 1.2): the matching, timers and queries
// go through indexes, so the cost must not grow with the history.
func BenchmarkMarketScale(b *testing.B) {
	small, large := marketWithHistory(b, 1_000), marketWithHistory(b, 100_000)
	msg := small.gemmTask()
	msg.MaxPrice = sdk.NewCoin(denom, math.NewInt(1_000))
	var tSmall, tLarge time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		blockOfWork(b, small, msg)
		tSmall += time.Since(start)
		start = time.Now()
		blockOfWork(b, large, msg)
		tLarge += time.Since(start)
	}
	b.ReportMetric(float64(tSmall.Nanoseconds())/float64(b.N), "ns/block@1k")
	b.ReportMetric(float64(tLarge.Nanoseconds())/float64(b.N), "ns/block@100k")
	b.ReportMetric(float64(tLarge)/float64(tSmall), "ratio-100k/1k")
}
