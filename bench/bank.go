package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/app"
)

// BankResult is what the bank benchmark (`ogpud bench bank`) measures.
type BankResult struct {
	Clients     int     `json:"clients"`
	Broadcast   int64   `json:"broadcast"`
	Rejected    int64   `json:"rejected"`
	Committed   int64   `json:"committed"`
	Blocks      int64   `json:"blocks"`
	Seconds     float64 `json:"seconds"`
	TxPerSecond float64 `json:"tx_per_second"`
	TxPerBlock  float64 `json:"tx_per_block"`
	NumCPU      int     `json:"num_cpu"`
}

// BankSend runs the bank-send benchmark on a new dev chain in home.
func BankSend(ctx context.Context, env Env, home string, clients int, duration time.Duration) (BankResult, error) {
	c, err := startDevChain(ctx, env, home)
	if err != nil {
		return BankResult{}, err
	}
	defer c.close()
	names, addrs, err := c.newAccounts(ctx, "bench", clients, sdkmath.NewInt(1_000).Mul(oneOGPU))
	if err != nil {
		return BankResult{}, err
	}
	return c.benchBank(ctx, names, addrs, duration)
}

// benchBank has each account send 1 aogpu to the next, as fast as it can, for duration.
func (c *devChain) benchBank(ctx context.Context, names []string, addrs []sdk.AccAddress, duration time.Duration) (BankResult, error) {
	var broadcast, rejected atomic.Int64
	w, err := c.measure(ctx, duration, func(runCtx context.Context) {
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Add(1)
			go func(i int, name string) {
				defer wg.Done()
				msg := banktypes.NewMsgSend(addrs[i], addrs[(i+1)%len(addrs)], sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 1)))
				c.sendLoop(runCtx, name, 150_000, func() sdk.Msg { return msg }, &broadcast, &rejected)
			}(i, name)
		}
		wg.Wait()
	})
	if err != nil {
		return BankResult{}, err
	}
	return BankResult{
		Clients: len(names), Broadcast: broadcast.Load(), Rejected: rejected.Load(), Committed: w.committed,
		Blocks: w.blocks, Seconds: w.seconds, TxPerSecond: w.perSecond(), TxPerBlock: float64(w.committed) / float64(w.blocks),
		NumCPU: runtime.NumCPU(),
	}, nil
}
