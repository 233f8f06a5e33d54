package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	dbm "github.com/cosmos/cosmos-db"
	evmhd "github.com/cosmos/evm/crypto/hd"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/opengpu/ogpu/app"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// LatencyResult is what the latency benchmark (`ogpud bench latency`) measures.
type LatencyResult struct {
	Validators int           `json:"validators"`
	Providers  int           `json:"providers"`
	BidWindow  uint64        `json:"bid_window_blocks"`
	Sizes      []LatencySize `json:"sizes"`
	NumCPU     int           `json:"num_cpu"`
}

// LatencySize is the create→VERIFIED time (the committee's verdict) of the tasks of one size.
type LatencySize struct {
	N           int     `json:"n"`
	Tasks       int     `json:"tasks"`
	Completed   int     `json:"completed"`
	P50Blocks   int64   `json:"p50_blocks"`
	P95Blocks   int64   `json:"p95_blocks"`
	P50Seconds  float64 `json:"p50_seconds"`
	P95Seconds  float64 `json:"p95_seconds"`
	MeanBlockMs float64 `json:"mean_block_ms"`
}

// startLocalnet starts the network of `make localnet` in dir: n validators with embedded
// verifier sidecars and provider-only sidecars beside nodes 0 and 1.
func startLocalnet(ctx context.Context, env Env, dir, chainID string, n int) (processes, *rpchttp.HTTP, error) {
	if err := env.WriteTestnet(dir, chainID, n); err != nil {
		return nil, nil, err
	}
	var ps processes
	for i := range n {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if _, err := ps.start(env.Binary, home, env.NodeHost(i), home+".log", "start", "--home", home, "--sidecar.embedded", "--log_level", "error"); err != nil {
			ps.stop()
			return nil, nil, err
		}
	}
	for i := range min(2, n) {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if _, err := ps.start(env.Binary, home, env.NodeHost(i), filepath.Join(dir, fmt.Sprintf("provider%d.log", i)),
			"sidecar", "--home", home, "--provider-key", "provider", "--validator-account", ""); err != nil {
			ps.stop()
			return nil, nil, err
		}
	}
	rpc, err := rpchttp.New(ps[0].RPC(), "/websocket")
	if err == nil {
		_, err = waitHeight(ctx, rpc, 3, 3*time.Minute)
	}
	if err != nil {
		ps.stop()
		return nil, nil, err
	}
	return ps, rpc, nil
}

// Latency runs the latency benchmark on a new local network in dir.
func Latency(ctx context.Context, env Env, dir string, sizes []int, perSize int) (LatencyResult, error) {
	const chainID = "ogpu-bench-latency-1"
	ps, rpc, err := startLocalnet(ctx, env, dir, chainID, 4)
	if err != nil {
		return LatencyResult{}, err
	}
	defer ps.stop()
	home0 := filepath.Join(dir, "node0")
	conn, err := grpc.NewClient(ps[0].GRPC(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return LatencyResult{}, err
	}
	defer conn.Close()
	enc := app.New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.EmptyAppOptions{})
	kr, err := keyring.New(app.Name, keyring.BackendTest, home0, nil, enc.AppCodec(), evmhd.EthSecp256k1Option())
	if err != nil {
		return LatencyResult{}, err
	}
	b := &sender{chainID: chainID, conn: conn, kr: kr, cdc: enc.AppCodec(), txConfig: enc.TxConfig()}
	client, err := b.address("validator")
	if err != nil {
		return LatencyResult{}, err
	}
	q := computetypes.NewQueryClient(conn)
	params, err := q.Params(ctx, &computetypes.QueryParamsRequest{})
	if err != nil {
		return LatencyResult{}, err
	}

	// one task every 2 blocks, so each is measured on a network that is not queueing them
	for _, n := range sizes {
		for i := range perSize {
			if err := b.sendOne(ctx, "validator", latencyTask(client, n, uint64(i)), 500_000); err != nil {
				return LatencyResult{}, fmt.Errorf("create task: %w", err)
			}
			h, err := waitHeight(ctx, rpc, 0, time.Minute)
			if err != nil {
				return LatencyResult{}, err
			}
			if _, err := waitHeight(ctx, rpc, h+2, time.Minute); err != nil {
				return LatencyResult{}, err
			}
		}
	}
	var tasks []computetypes.Task
	deadline := time.Now().Add(5 * time.Minute)
	for {
		res, err := q.Tasks(ctx, &computetypes.QueryTasksRequest{Creator: client.String(), Pagination: &query.PageRequest{Limit: 1000}})
		if err != nil {
			return LatencyResult{}, err
		}
		tasks = res.Tasks
		settled := func(t computetypes.Task) bool {
			return t.State.IsFinal() || t.State == computetypes.TASK_STATE_VERIFIED
		}
		if len(tasks) == len(sizes)*perSize && !slices.ContainsFunc(tasks, func(t computetypes.Task) bool { return !settled(t) }) {
			break
		}
		if time.Now().After(deadline) {
			return LatencyResult{}, errors.New("tasks not final within 5 minutes of the last one")
		}
		select {
		case <-ctx.Done():
			return LatencyResult{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}

	blockTime := map[int64]time.Time{}
	timeAt := func(h int64) (time.Time, error) {
		if t, ok := blockTime[h]; ok {
			return t, nil
		}
		blk, err := rpc.Block(ctx, &h)
		if err != nil {
			return time.Time{}, err
		}
		blockTime[h] = blk.Block.Time
		return blk.Block.Time, nil
	}
	res := LatencyResult{Validators: 4, Providers: 2, BidWindow: params.Params.BidWindow, NumCPU: runtime.NumCPU()}
	for _, n := range sizes {
		var blocks []int64
		var seconds []float64
		count := 0
		for _, t := range tasks {
			if t.Workload.GetGemmInt8().GetM() != uint32(n) {
				continue
			}
			count++
			// the committee's VALID verdict ends the network's work; the provider is paid when the
			// client accepts (one tx) or the dispute window passes
			if t.VerifiedHeight == 0 {
				continue
			}
			t0, err := timeAt(t.CreatedHeight)
			if err != nil {
				return LatencyResult{}, err
			}
			t1, err := timeAt(t.VerifiedHeight)
			if err != nil {
				return LatencyResult{}, err
			}
			blocks = append(blocks, t.VerifiedHeight-t.CreatedHeight)
			seconds = append(seconds, t1.Sub(t0).Seconds())
		}
		s := LatencySize{N: n, Tasks: count, Completed: len(blocks)}
		if len(blocks) > 0 {
			slices.Sort(blocks)
			slices.Sort(seconds)
			s.P50Blocks, s.P95Blocks = percentile(blocks, 50), percentile(blocks, 95)
			s.P50Seconds, s.P95Seconds = percentile(seconds, 50), percentile(seconds, 95)
			var totalBlocks int64
			for _, b := range blocks {
				totalBlocks += b
			}
			var totalSeconds float64
			for _, x := range seconds {
				totalSeconds += x
			}
			if totalBlocks > 0 {
				s.MeanBlockMs = totalSeconds / float64(totalBlocks) * 1000
			}
		}
		res.Sizes = append(res.Sizes, s)
	}
	return res, nil
}

// latencyTask is a seeded n×n×n gemm task that any provider's default price covers.
func latencyTask(creator sdk.AccAddress, n int, i uint64) sdk.Msg {
	return &computetypes.MsgCreateTask{
		Creator: creator.String(),
		Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: uint32(n), N: uint32(n), K: uint32(n), SeedA: 1000 + i, SeedB: 2000 + i},
		}},
		Requirements: stakinggputypes.Requirements{Workload: workload.GemmInt8V1},
		MaxPrice:     sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(10).Mul(oneOGPU)),
		Deadline:     60,
		Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: sdkmath.LegacyZeroDec()},
	}
}

// percentile is the nearest-rank p-th percentile of sorted values.
func percentile[T int64 | float64](sorted []T, p float64) T {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
