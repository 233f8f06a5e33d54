package bench

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPercentileNearestRank(t *testing.T) {
	v := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	require.Equal(t, int64(5), percentile(v, 50))
	require.Equal(t, int64(10), percentile(v, 95))
	require.Equal(t, int64(1), percentile(v, 0))
	require.Equal(t, 7.5, percentile([]float64{7.5}, 95))
}

// TestReportRows checks each row's ratio, its target and whether it is met, and that a
// report read back from its JSON puts its ratios beside a new run's.
func TestReportRows(t *testing.T) {
	r := &Report{
		Date:    "then",
		Market:  &MarketResult{MarketTxPerSec: 150, BankTxPerSecond: 200, MarketOverBank: 0.75},
		Latency: &LatencyResult{Validators: 4, Providers: 2, BidWindow: 3, Sizes: []LatencySize{{N: 256, Tasks: 10, Completed: 10, P50Blocks: 8, P95Blocks: 9}, {N: 1024, Tasks: 10, Completed: 9, P50Blocks: 9}}},
		Gemm: &GemmResult{CPUGMACs: 2, NaiveGMACs: 0.5, CPUOverNaive: 4, NoGPU: "no driver",
			Verify: []VerifyShape{{N: 1024, Executor: "cpu", ExecSeconds: 1, VerifySeconds: 0.05, Ratio: 0.05}, {N: 2048, Executor: "cpu", ExecSeconds: 3, VerifySeconds: 0.09, Ratio: 0.03}}},
		VoteExtensions: &VoteExtensionsResult{Validators: 4, Attestations: 256, EmptyBlockSeconds: 1, FullBlockSeconds: 1.05, Ratio: 1.05},
		Timers: &TimersResult{Tasks: 1000, MaxTimersPerBlock: 256, BlocksWanted: 4, EmptyBlockSeconds: 0.002,
			Expired: TimersVariant{Blocks: 4, SlowestBlockSeconds: 0.08, Ratio: 40, Rounds: []TimersRound{{Blocks: []TimersBlock{{Processed: 256}, {Processed: 256}, {Processed: 256}, {Processed: 232}}}}},
			Matched: TimersVariant{Blocks: 5, SlowestBlockSeconds: 0.06, Ratio: 30}},
		VerifyMemory: &VerifyMemoryResult{N: 16384, StreamedPeakMiB: 1.5, WholeInMemoryPeakMiB: 3000, Ratio: 0.0005},
		Precompile: &PrecompileResult{Accounts: 8, TxsPerBlock: 200, Blocks: 5, Gemm: 8,
			Precompile: CreateTaskKind{GasUsed: 143_000, TxPerSec: 700}, Cosmos: CreateTaskKind{GasUsed: 112_000, TxPerSec: 1000},
			GasRatio: 143.0 / 112, TxPerSecRatio: 0.7},
		Stream: &StreamResult{Widths: []int{784, 128, 10}, Clients: 4, Requests: 2000, Executor: "cpu",
			StreamP50Ms: 1.1, PlainP50Ms: 1, LatencyRatio: 1.1, StreamPerSec: 500, PlainPerSec: 1000, PerSecRatio: 0.5,
			ReceiptPeriod: 10, Paid: 2010, Settled: true, Commit: TxKind{Txs: 4, Bytes: 1286}, Reveal: TxKind{Txs: 4, Bytes: 5347},
			Claim: TxKind{Txs: 4, Bytes: 1683}, BytesPer1000: 4137, OpenBytes: 501, SubscribeBytes: 317},
	}
	r.Rows = r.rows()
	byID := map[string]Row{}
	for _, row := range r.Rows {
		byID[row.ID] = row
	}
	metOf := func(id string) *bool { return byID[id].Met }
	require.False(t, *metOf("market-throughput"), "0.75 < 0.8")
	require.True(t, *metOf("latency-n256"), "8 blocks = bid window + 5")
	require.Nil(t, metOf("latency-n1024"), "no target for n = 1024")
	require.InDelta(t, 9.0/8, byID["latency-n1024"].Ratio, 1e-9)
	require.Nil(t, metOf("verify-n1024"))
	require.False(t, *metOf("verify-n2048"), "3% > 2%")
	require.True(t, *metOf("vote-extension-block-time"))
	require.True(t, *metOf("timers-expired"), "40 ≤ 100, in 4 blocks")
	require.Contains(t, byID["timers-expired"].Measured, "256 + 256 + 256 + 232")
	require.False(t, *metOf("timers-matched"), "5 blocks where 4 were wanted")
	require.True(t, *metOf("verify-memory-n16384"))
	require.True(t, *metOf("precompile-gas"), "143k ≥ 112k")
	require.Contains(t, byID["precompile-gas"].Measured, "143000 gas")
	require.Equal(t, 0.7, byID["precompile-throughput"].Ratio)
	require.Nil(t, metOf("precompile-throughput"))
	require.Equal(t, 4.0, byID["executor-cpu"].Ratio)
	require.Contains(t, byID["executor-cuda"].Measured, "no driver")
	require.True(t, *metOf("stream-latency"), "1.1 ≤ 1.2")
	require.Equal(t, 0.5, byID["stream-throughput"].Ratio)
	require.Nil(t, metOf("stream-throughput"))
	require.Contains(t, byID["stream-chain-bytes"].Measured, "4137 B / 1,000 requests (2010 paid")
	require.Contains(t, byID["stream-chain-bytes"].Baseline, "open 501 B")
	r.Stream.StreamFailed = 3
	r.Stream.Settled, r.Stream.SettleWait = false, "gave up"
	for _, row := range r.Stream.rows() {
		switch row.ID {
		case "stream-latency":
			require.False(t, *row.Met, "a failed request fails the row")
		case "stream-chain-bytes":
			require.Contains(t, row.Measured, "not settled: gave up")
		}
	}
	r.VerifyMemory = &VerifyMemoryResult{N: 16384, StreamedPeakMiB: 1.5, WholeInMemorySkipped: "needs about 3840 MiB"}
	for _, row := range r.rows() {
		if row.ID == "verify-memory-n16384" {
			require.Nil(t, row.Met, "no baseline, no verdict")
			require.Contains(t, row.Baseline, "not run")
		}
	}

	bz, err := json.Marshal(r)
	require.NoError(t, err)
	var earlier Report
	require.NoError(t, json.Unmarshal(bz, &earlier))

	now := &Report{Date: "now", Market: &MarketResult{MarketTxPerSec: 180, BankTxPerSecond: 200, MarketOverBank: 0.9}}
	now.Rows = now.rows()
	md := now.Markdown(&earlier)
	lines := strings.Split(strings.TrimSpace(md), "\n")
	require.Contains(t, lines[len(lines)-3], "Earlier ratio (then)")
	last := lines[len(lines)-1]
	require.Contains(t, last, "| 0.90 |")
	require.Contains(t, last, "| yes |")
	require.True(t, strings.HasSuffix(last, "| 0.75 |"), last)
}
