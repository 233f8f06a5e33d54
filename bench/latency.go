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

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/app"
	ogpuclient "github.com/opengpu/ogpu/client"
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
	cl, err := ogpuclient.Dial(ogpuclient.Config{GRPC: ps[0].GRPC(), RPC: ps[0].RPC(), ChainID: chainID, EVMChainID: app.DefaultEVMChainID})
	if err != nil {
		return LatencyResult{}, err
	}
	defer cl.Close()
	kr, err := cl.OpenKeyring(keyring.BackendTest, home0)
	if err != nil {
		return LatencyResult{}, err
	}
	creator, err := address(kr, "validator")
	if err != nil {
		return LatencyResult{}, err
	}
	params, err := computetypes.NewQueryClient(cl.Conn()).Params(ctx, &computetypes.QueryParamsRequest{})
	if err != nil {
		return LatencyResult{}, err
	}

	// one task every 2 blocks (CreateTask returns once its tx is in a block; the next is sent a
	// block later), so each is measured on a network that is not queueing them
	txf := cl.TxFactory(kr, "validator")
	var ids []uint64
	for _, n := range sizes {
		for i := range perSize {
			id, err := cl.CreateTask(ctx, txf, latencyTask(creator, n, uint64(i)))
			if err != nil {
				return LatencyResult{}, err
			}
			ids = append(ids, id)
			h, err := waitHeight(ctx, rpc, 0, time.Minute)
			if err != nil {
				return LatencyResult{}, err
			}
			if _, err := waitHeight(ctx, rpc, h+1, time.Minute); err != nil {
				return LatencyResult{}, err
			}
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	tasks := make([]computetypes.Task, 0, len(ids))
	for _, id := range ids {
		t, err := verdict(waitCtx, cl, id)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return LatencyResult{}, errors.New("tasks not final within 5 minutes of the last one")
		}
		if err != nil {
			return LatencyResult{}, err
		}
		tasks = append(tasks, t)
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

// verdict follows task id until the committee's verdict (VERIFIED) or its end, whichever comes
// first: WaitTask alone would wait on through the dispute window of a verified task.
func verdict(ctx context.Context, cl *ogpuclient.Client, id uint64) (computetypes.Task, error) {
	vctx, stop := context.WithCancel(ctx)
	defer stop()
	t, err := cl.WaitTask(vctx, id, func(t computetypes.Task) {
		if t.State == computetypes.TASK_STATE_VERIFIED {
			stop()
		}
	})
	if err != nil && t.State == computetypes.TASK_STATE_VERIFIED && ctx.Err() == nil {
		return t, nil
	}
	return t, err
}

// latencyTask is a seeded n×n×n gemm task that any provider's default price covers.
func latencyTask(creator sdk.AccAddress, n int, i uint64) *computetypes.MsgCreateTask {
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
