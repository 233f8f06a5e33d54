package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	dbm "github.com/cosmos/cosmos-db"
	evmhd "github.com/cosmos/evm/crypto/hd"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/app"
)

// oneOGPU is 1 ogpu in aogpu.
var oneOGPU = sdkmath.NewIntWithDecimal(1, app.Decimals)

// devChain is a dev chain started for a benchmark, with a gRPC connection and its keyring.
type devChain struct {
	ps   processes
	rpc  *rpchttp.HTTP
	conn *grpc.ClientConn
	b    *sender
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
	if c.conn, err = grpc.NewClient(node.GRPC(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		c.close()
		return nil, err
	}
	enc := app.New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.EmptyAppOptions{})
	kr, err := keyring.New(app.Name, keyring.BackendTest, home, nil, enc.AppCodec(), evmhd.EthSecp256k1Option())
	if err != nil {
		c.close()
		return nil, err
	}
	c.b = &sender{chainID: env.DevChainID, conn: c.conn, kr: kr, cdc: enc.AppCodec(), txConfig: enc.TxConfig()}
	return c, nil
}

func (c *devChain) close() {
	if c.conn != nil {
		_ = c.conn.Close()
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
		rec, _, err := c.b.kr.NewMnemonic(names[i], keyring.English, evmhd.BIP44HDPath, keyring.DefaultBIP39Passphrase, evmhd.EthSecp256k1)
		if err != nil {
			return nil, nil, err
		}
		if addrs[i], err = rec.GetAddress(); err != nil {
			return nil, nil, err
		}
		outputs = append(outputs, banktypes.Output{Address: addrs[i].String(), Coins: each})
	}
	alice, err := c.b.address("alice")
	if err != nil {
		return nil, nil, err
	}
	total := sdk.NewCoins(sdk.NewCoin(app.BaseDenom, amount.MulRaw(int64(n))))
	fund := &banktypes.MsgMultiSend{Inputs: []banktypes.Input{{Address: alice.String(), Coins: total}}, Outputs: outputs}
	if err := c.b.sendOne(ctx, "alice", fund, 200_000+uint64(n)*40_000); err != nil {
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

// sender signs and broadcasts txs from the keys of a keyring over gRPC.
type sender struct {
	chainID  string
	conn     *grpc.ClientConn
	kr       keyring.Keyring
	cdc      codec.Codec
	txConfig client.TxConfig
}

func (b *sender) address(name string) (sdk.AccAddress, error) {
	rec, err := b.kr.Key(name)
	if err != nil {
		return nil, err
	}
	return rec.GetAddress()
}

// gasPrice is ten times the initial base fee, so rising base fees do not stall the run.
const gasPrice = "10000000000" + app.BaseDenom

func (b *sender) factory(name string, gas uint64) (clienttx.Factory, error) {
	addr, err := b.address(name)
	if err != nil {
		return clienttx.Factory{}, err
	}
	info, err := authtypes.NewQueryClient(b.conn).AccountInfo(context.Background(), &authtypes.QueryAccountInfoRequest{Address: addr.String()})
	if err != nil {
		return clienttx.Factory{}, fmt.Errorf("account %s: %w", name, err)
	}
	return clienttx.Factory{}.
		WithTxConfig(b.txConfig).WithKeybase(b.kr).WithChainID(b.chainID).WithFromName(name).
		WithAccountNumber(info.Info.AccountNumber).WithSequence(info.Info.Sequence).
		WithGas(gas).WithGasPrices(gasPrice).WithSignMode(signing.SignMode_SIGN_MODE_DIRECT), nil
}

func (b *sender) sign(f clienttx.Factory, msgs ...sdk.Msg) ([]byte, error) {
	builder, err := f.BuildUnsignedTx(msgs...)
	if err != nil {
		return nil, err
	}
	if err := clienttx.Sign(context.Background(), f, f.FromName(), builder, true); err != nil {
		return nil, err
	}
	return b.txConfig.TxEncoder()(builder.GetTx())
}

func (b *sender) broadcast(ctx context.Context, txBytes []byte) (*sdk.TxResponse, error) {
	res, err := txtypes.NewServiceClient(b.conn).BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: txBytes, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
	if err != nil {
		return nil, err
	}
	return res.TxResponse, nil
}

func (b *sender) sendOne(ctx context.Context, name string, msg sdk.Msg, gas uint64) error {
	return b.sendMsgs(ctx, name, gas, msg)
}

// sendMsgs signs msgs in one tx from name and broadcasts it.
func (b *sender) sendMsgs(ctx context.Context, name string, gas uint64, msgs ...sdk.Msg) error {
	f, err := b.factory(name, gas)
	if err != nil {
		return err
	}
	txBytes, err := b.sign(f, msgs...)
	if err != nil {
		return err
	}
	res, err := b.broadcast(ctx, txBytes)
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("code %d: %s", res.Code, res.RawLog)
	}
	return nil
}

// sendLoop signs and broadcasts next() from name until ctx ends, keeping its own sequence. A
// nil message skips a turn.
func (b *sender) sendLoop(ctx context.Context, name string, gas uint64, next func() sdk.Msg, broadcast, rejected *atomic.Int64) {
	f, err := b.factory(name, gas)
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
		txBytes, err := b.sign(f, msg)
		if err != nil {
			rejected.Add(1)
			return
		}
		res, err := b.broadcast(ctx, txBytes)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				rejected.Add(1)
			}
		case res.Code != 0:
			rejected.Add(1)
			// resynchronise the sequence with the chain after a rejection
			if nf, err := b.factory(name, gas); err == nil {
				f = nf
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
