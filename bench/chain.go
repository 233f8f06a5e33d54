package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	evmhd "github.com/cosmos/evm/crypto/hd"

	sdkmath "cosmossdk.io/math"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/app"
	ogpuclient "github.com/opengpu/ogpu/client"
)

// oneOGPU is 1 ogpu in aogpu.
var oneOGPU = sdkmath.NewIntWithDecimal(1, app.Decimals)

// devChain is a dev chain started for a benchmark, with a client of its node and its keyring.
type devChain struct {
	ps  processes
	rpc *rpchttp.HTTP
	cl  *ogpuclient.Client
	kr  keyring.Keyring
}

// startDevChain writes a dev chain into home and starts its node (no sidecar), logging to
// node.log in home.
func startDevChain(ctx context.Context, env Env, home string) (*devChain, error) {
	if _, err := env.WriteDevHome(home); err != nil {
		return nil, err
	}
	c := &devChain{}
	node, err := c.ps.start(env.Binary, home, "127.0.0.1", filepath.Join(home, "node.log"), "start", "--home", home, "--log_level", "error")
	if err != nil {
		return nil, err
	}
	if c.rpc, err = rpchttp.New(node.RPC(), "/websocket"); err != nil {
		c.close()
		return nil, err
	}
	if _, err := waitHeight(ctx, c.rpc, 2, 2*time.Minute); err != nil {
		c.close()
		return nil, err
	}
	c.cl, err = ogpuclient.Dial(ogpuclient.Config{GRPC: node.GRPC(), RPC: node.RPC(), ChainID: env.DevChainID, EVMChainID: app.DevEVMChainID})
	if err != nil {
		c.close()
		return nil, err
	}
	if c.kr, err = c.cl.OpenKeyring(keyring.BackendTest, home); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *devChain) close() {
	if c.cl != nil {
		_ = c.cl.Close()
	}
	c.ps.stop()
}

// newAccounts makes n keys named prefix0… and funds each with amount from alice in one tx.
func (c *devChain) newAccounts(ctx context.Context, prefix string, n int, amount sdkmath.Int) ([]string, []sdk.AccAddress, error) {
	names := make([]string, n)
	addrs := make([]sdk.AccAddress, n)
	each := sdk.NewCoins(sdk.NewCoin(app.BaseDenom, amount))
	var outputs []banktypes.Output
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
		rec, _, err := c.kr.NewMnemonic(names[i], keyring.English, evmhd.BIP44HDPath, keyring.DefaultBIP39Passphrase, evmhd.EthSecp256k1)
		if err != nil {
			return nil, nil, err
		}
		if addrs[i], err = rec.GetAddress(); err != nil {
			return nil, nil, err
		}
		outputs = append(outputs, banktypes.Output{Address: addrs[i].String(), Coins: each})
	}
	alice, err := address(c.kr, "alice")
	if err != nil {
		return nil, nil, err
	}
	total := sdk.NewCoins(sdk.NewCoin(app.BaseDenom, amount.MulRaw(int64(n))))
	fund := &banktypes.MsgMultiSend{Inputs: []banktypes.Input{{Address: alice.String(), Coins: total}}, Outputs: outputs}
	if _, err := c.cl.SendAndWait(ctx, c.cl.TxFactory(c.kr, "alice"), fund); err != nil {
		return nil, nil, fmt.Errorf("fund %s accounts: %w", prefix, err)
	}
	return names, addrs, c.settle(ctx)
}

// settle waits two blocks, so what was sent is committed.
func (c *devChain) settle(ctx context.Context) error {
	h, err := waitHeight(ctx, c.rpc, 0, time.Minute)
	if err == nil {
		_, err = waitHeight(ctx, c.rpc, h+2, time.Minute)
	}
	return err
}

// window is what a measuring window committed.
type window struct {
	committed, blocks int64
	seconds           float64
}

func (w window) perSecond() float64 { return float64(w.committed) / w.seconds }

func (w window) add(o window) window {
	return window{committed: w.committed + o.committed, blocks: w.blocks + o.blocks, seconds: w.seconds + o.seconds}
}

// measure runs load for duration and counts the successful txs in the blocks of that window.
func (c *devChain) measure(ctx context.Context, duration time.Duration, load func(context.Context)) (window, error) {
	start, err := waitHeight(ctx, c.rpc, 0, time.Minute)
	if err != nil {
		return window{}, err
	}
	runCtx, cancel := context.WithTimeout(ctx, duration)
	load(runCtx)
	cancel()
	end, err := waitHeight(ctx, c.rpc, 0, time.Minute)
	if err != nil {
		return window{}, err
	}
	// let the blocks proposed from what is already in the mempool land
	if end, err = waitHeight(ctx, c.rpc, end+2, time.Minute); err != nil {
		return window{}, err
	}
	committed, seconds, err := committedTxs(ctx, c.rpc, start, end)
	if err != nil {
		return window{}, err
	}
	return window{committed: committed, blocks: end - start, seconds: seconds}, nil
}

// address is the address of the key name of kr.
func address(kr keyring.Keyring, name string) (sdk.AccAddress, error) {
	rec, err := kr.Key(name)
	if err != nil {
		return nil, err
	}
	return rec.GetAddress()
}

// loadFactory signs as name with a fixed gas limit and the account's number and sequence as the
// chain has them now.
func (c *devChain) loadFactory(ctx context.Context, name string, gas uint64) (clienttx.Factory, error) {
	addr, err := address(c.kr, name)
	if err != nil {
		return clienttx.Factory{}, err
	}
	info, err := authtypes.NewQueryClient(c.cl.Conn()).AccountInfo(ctx, &authtypes.QueryAccountInfoRequest{Address: addr.String()})
	if err != nil {
		return clienttx.Factory{}, fmt.Errorf("account %s: %w", name, err)
	}
	return c.cl.TxFactory(c.kr, name).WithSimulateAndExecute(false).WithGas(gas).
		WithAccountNumber(info.Info.AccountNumber).WithSequence(info.Info.Sequence), nil
}

// sendLoop signs and broadcasts next() from name until ctx ends, keeping its own sequence. A
// nil message skips a turn.
//
// It does not use the client's Send, which asks the node for the account (and the gas) before
// every tx and takes one tx of a Client at a time: here that would add queries to the node being
// measured and hold back the other keys. A load generator counts its own sequence, so it signs
// with client.Broadcast and asks the chain again only after a refusal.
func (c *devChain) sendLoop(ctx context.Context, name string, gas uint64, next func() sdk.Msg, broadcast, rejected *atomic.Int64) {
	f, err := c.loadFactory(ctx, name, gas)
	if err != nil {
		rejected.Add(1)
		return
	}
	for ctx.Err() == nil {
		msg := next()
		if msg == nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		_, err := c.cl.Broadcast(ctx, f, msg)
		var refused *ogpuclient.TxError
		switch {
		case errors.As(err, &refused):
			rejected.Add(1)
			// resynchronise the sequence with the chain after a rejection
			if nf, err := c.loadFactory(ctx, name, gas); err == nil {
				f = nf
			}
		case err != nil:
			if ctx.Err() == nil {
				rejected.Add(1)
			}
		default:
			broadcast.Add(1)
			f = f.WithSequence(f.Sequence() + 1)
		}
	}
}

// waitHeight waits until the node's latest height is at least h (and at least 1) and returns it.
func waitHeight(ctx context.Context, rpc *rpchttp.HTTP, h int64, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	for {
		if st, err := rpc.Status(ctx); err == nil {
			if cur := st.SyncInfo.LatestBlockHeight; cur >= h && cur > 0 {
				return cur, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("height %d not reached within %s", h, timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// committedTxs counts the successful txs in blocks (from, to] and the block-time span between
// from and to.
func committedTxs(ctx context.Context, rpc *rpchttp.HTTP, from, to int64) (int64, float64, error) {
	var total int64
	var first, last time.Time
	for h := from; h <= to; h++ {
		blk, err := rpc.Block(ctx, &h)
		if err != nil {
			return 0, 0, err
		}
		if h == from {
			first = blk.Block.Time
			continue
		}
		res, err := rpc.BlockResults(ctx, &h)
		if err != nil {
			return 0, 0, err
		}
		for _, r := range res.TxsResults {
			if r.Code == 0 {
				total++
			}
		}
		last = blk.Block.Time
	}
	return total, last.Sub(first).Seconds(), nil
}
