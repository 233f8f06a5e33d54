package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/opengpu/ogpu/app"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// MarketResult is what the market benchmark (`ogpud bench market`) measures.
type MarketResult struct {
	Clients         int     `json:"clients"`
	Rounds          int     `json:"rounds"`
	Providers       int     `json:"providers"`
	BankTxPerSecond float64 `json:"bank_tx_per_second"`
	BankCommitted   int64   `json:"bank_committed"`
	MarketTxPerSec  float64 `json:"market_tx_per_second"`
	MarketCommitted int64   `json:"market_committed"`
	TasksCreated    int64   `json:"create_task_attempts"`
	BidsBroadcast   int64   `json:"bid_attempts"`
	Rejected        int64   `json:"rejected"`
	MarketOverBank  float64 `json:"market_over_bank"`
	BlocksPerWindow int64   `json:"blocks_per_window"`
	NumCPU          int     `json:"num_cpu"`
}

// Market measures bank sends and then the task market on one dev chain in home.
func Market(ctx context.Context, env Env, home string, clients, rounds int, duration time.Duration) (MarketResult, error) {
	c, err := startDevChain(ctx, env, home)
	if err != nil {
		return MarketResult{}, err
	}
	defer c.close()
	names, addrs, err := c.newAccounts(ctx, "client", clients, sdkmath.NewInt(1_000).Mul(oneOGPU))
	if err != nil {
		return MarketResult{}, err
	}
	provNames, provAddrs, err := c.newAccounts(ctx, "gpu", clients, sdkmath.NewInt(2_100).Mul(oneOGPU))
	if err != nil {
		return MarketResult{}, err
	}
	bond := sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(2_000).Mul(oneOGPU))
	for i, name := range provNames {
		register := &stakinggputypes.MsgRegisterProvider{
			Operator: provAddrs[i].String(), Moniker: name, Endpoint: "http://127.0.0.1:8547", Workloads: []string{workload.GemmInt8V1},
		}
		if _, err := c.cl.Send(ctx, c.cl.TxFactory(c.kr, name), register, &stakinggputypes.MsgBond{Operator: provAddrs[i].String(), Amount: bond}); err != nil {
			return MarketResult{}, fmt.Errorf("register %s: %w", name, err)
		}
	}
	if err := c.settle(ctx); err != nil {
		return MarketResult{}, err
	}

	// a discarded warm-up round first: the first seconds of load on a fresh node measure its
	// caches filling, not its throughput
	if _, err := c.benchBank(ctx, names, addrs, duration/3); err != nil {
		return MarketResult{}, err
	}
	// then bank and market windows in turn, so drift on a shared machine hits both alike
	res := MarketResult{Clients: clients, Providers: clients, Rounds: rounds, NumCPU: runtime.NumCPU()}
	var bankW, marketW window
	var created, bids, rejected atomic.Int64
	for range rounds {
		bank, err := c.benchBank(ctx, names, addrs, duration)
		if err != nil {
			return MarketResult{}, err
		}
		bankW = bankW.add(window{committed: bank.Committed, blocks: bank.Blocks, seconds: bank.Seconds})
		w, err := c.marketWindow(ctx, duration, names, addrs, provNames, provAddrs, &created, &bids, &rejected)
		if err != nil {
			return MarketResult{}, err
		}
		marketW = marketW.add(w)
	}
	res.BankTxPerSecond, res.BankCommitted = bankW.perSecond(), bankW.committed
	res.MarketTxPerSec, res.MarketCommitted = marketW.perSecond(), marketW.committed
	res.TasksCreated, res.BidsBroadcast, res.Rejected = created.Load(), bids.Load(), rejected.Load()
	res.MarketOverBank = res.MarketTxPerSec / res.BankTxPerSecond
	res.BlocksPerWindow = marketW.blocks / int64(rounds)
	return res, nil
}

// marketWindow measures one window of clients creating tasks while providers bid on them. Like
// the sidecar, the providers read the open tasks once per new block, and bid once on each task
// whose window is still open, newest first.
func (c *devChain) marketWindow(ctx context.Context, duration time.Duration, names []string, addrs []sdk.AccAddress,
	provNames []string, provAddrs []sdk.AccAddress, created, bids, rejected *atomic.Int64,
) (window, error) {
	// the newest open tasks, one page, as the sidecar reads them (client.Tasks would read them all)
	q := computetypes.NewQueryClient(c.cl.Conn())
	var mu sync.Mutex
	open := map[uint64]int64{} // task id → last height that takes bids
	var height atomic.Int64
	return c.measure(ctx, duration, func(runCtx context.Context) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seen int64
			for runCtx.Err() == nil {
				if st, err := c.rpc.Status(runCtx); err == nil {
					height.Store(st.SyncInfo.LatestBlockHeight)
				}
				if h := height.Load(); h == seen { // open tasks change only with a new block
					select {
					case <-runCtx.Done():
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				seen = height.Load()
				res, err := q.Tasks(runCtx, &computetypes.QueryTasksRequest{
					State: computetypes.TASK_STATE_OPEN, Pagination: &query.PageRequest{Limit: 200, Reverse: true},
				})
				if err == nil {
					mu.Lock()
					for _, t := range res.Tasks {
						open[t.Id] = t.BidWindowEnd
					}
					for id, end := range open {
						if end <= height.Load() {
							delete(open, id)
						}
					}
					mu.Unlock()
				}
			}
		}()
		for i, name := range names {
			wg.Add(1)
			go func(i int, name string) {
				defer wg.Done()
				c.sendLoop(runCtx, name, 400_000, func() sdk.Msg {
					created.Add(1)
					return marketTask(addrs[i])
				}, &atomic.Int64{}, rejected)
			}(i, name)
		}
		for i, name := range provNames {
			wg.Add(1)
			go func(i int, name string) {
				defer wg.Done()
				done := map[uint64]bool{}
				c.sendLoop(runCtx, name, 300_000, func() sdk.Msg {
					mu.Lock()
					defer mu.Unlock()
					best := uint64(0)
					for id, end := range open {
						if !done[id] && id > best && end > height.Load() {
							best = id
						}
					}
					if best == 0 {
						return nil
					}
					done[best] = true
					bids.Add(1)
					return &computetypes.MsgBid{Provider: provAddrs[i].String(), TaskId: best, Price: sdkmath.NewInt(500)}
				}, &atomic.Int64{}, rejected)
			}(i, name)
		}
		wg.Wait()
	})
}

// marketTask is a small seeded gemm task with a price every bench provider can cover. Nobody
// runs it; its deadline lies beyond the benchmark, so no timeout slashes the bench providers
// out of the market between rounds.
func marketTask(creator sdk.AccAddress) sdk.Msg {
	return &computetypes.MsgCreateTask{
		Creator: creator.String(),
		Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: 64, N: 64, K: 64, SeedA: 1, SeedB: 2},
		}},
		Requirements: stakinggputypes.Requirements{Workload: workload.GemmInt8V1},
		MaxPrice:     sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(1_000)),
		Deadline:     10_000,
		Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: sdkmath.LegacyZeroDec()},
	}
}
