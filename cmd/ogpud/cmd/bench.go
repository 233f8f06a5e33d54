package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
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

// BenchCmd groups the benchmarks.
func BenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run every benchmark and print one table of ratios measured in the same run",
		Long: `Without a subcommand, run the benchmarks one after another, each on its own fresh chain or network
(the ports of 'ogpud dev' and 'make localnet' must be free), and print one Markdown table: every row
a figure, the baseline it is compared with in the same run, their ratio and its target. --out writes
the table as bench.md and everything measured as bench.json; --compare puts the ratios of an earlier
bench.json beside this run's. A subcommand runs one benchmark and prints its raw figures as JSON.`,
		Args: cobra.NoArgs,
		RunE: runBenchReport,
	}
	f := cmd.Flags()
	f.String("out", "", "directory to write bench.md and bench.json to")
	f.String("compare", "", "an earlier bench.json whose ratios are shown beside this run's")
	f.StringSlice("only", nil, "run only these parts: "+strings.Join(benchParts, ", "))
	f.Int("clients", 4, "market: concurrent clients, and as many providers")
	f.Duration("duration", 15*time.Second, "market: length of each measuring window")
	f.Int("tasks", 10, "latency: tasks per size")
	f.Int64("blocks", 15, "vote-extensions: blocks measured in each phase")
	cmd.AddCommand(benchBankCmd(), benchMarketCmd(), benchVoteExtensionsCmd(), benchLatencyCmd(), benchGemmCmd(),
		benchTimersCmd(), benchVerifyMemoryCmd())
	return cmd
}

func benchBankCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bank",
		Short: "Bank-send transactions per second on a fresh dev chain, from concurrent clients",
		Long: `Start a fresh dev chain, fund --clients accounts from alice, then let every client sign and
broadcast bank sends (sync mode, over gRPC) for --duration. The figure is the number of txs committed
in the blocks of the measuring window divided by the block time span of that window.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clients, _ := cmd.Flags().GetInt("clients")
			duration, _ := cmd.Flags().GetDuration("duration")
			if clients < 1 {
				return fmt.Errorf("--clients %d: must be at least 1", clients)
			}
			if duration <= 0 {
				return fmt.Errorf("--duration %s: must be positive", duration)
			}
			return benchRun(cmd, func(ctx context.Context, self, dir string) (any, error) {
				return BenchBankSend(ctx, self, dir, clients, duration)
			})
		},
	}
	cmd.Flags().Int("clients", 8, "concurrent clients, one account each")
	cmd.Flags().Duration("duration", 20*time.Second, "how long the clients send")
	return cmd
}

// benchRun runs a benchmark in a new directory it removes afterwards, and prints the result as
// JSON.
func benchRun(cmd *cobra.Command, run func(ctx context.Context, self, dir string) (any, error)) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	parent, err := os.MkdirTemp("", "ogpu-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parent)
	res, err := run(cmd.Context(), self, filepath.Join(parent, "chain"))
	if err != nil {
		return err
	}
	bz, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), string(bz))
	return nil
}

// BankBenchResult is what `ogpud bench bank` measures.
type BankBenchResult struct {
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

// BenchBankSend runs the bank-send benchmark on a new dev chain in home.
func BenchBankSend(ctx context.Context, self, home string, clients int, duration time.Duration) (BankBenchResult, error) {
	c, err := startBenchChain(ctx, self, home)
	if err != nil {
		return BankBenchResult{}, err
	}
	defer c.close()
	names, addrs, err := c.newAccounts(ctx, "bench", clients, sdkmath.NewInt(1_000).Mul(oneOGPU))
	if err != nil {
		return BankBenchResult{}, err
	}
	return c.benchBank(ctx, names, addrs, duration)
}

// benchBank has each account send 1 aogpu to the next, as fast as it can, for duration.
func (c *benchChain) benchBank(ctx context.Context, names []string, addrs []sdk.AccAddress, duration time.Duration) (BankBenchResult, error) {
	var broadcast, rejected atomic.Int64
	w, err := c.measure(ctx, duration, func(runCtx context.Context) {
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Add(1)
			go func(i int, name string) {
				defer wg.Done()
				msg := banktypes.NewMsgSend(addrs[i], addrs[(i+1)%len(addrs)], sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 1)))
				c.b.sendLoop(runCtx, name, 150_000, func() sdk.Msg { return msg }, &broadcast, &rejected)
			}(i, name)
		}
		wg.Wait()
	})
	if err != nil {
		return BankBenchResult{}, err
	}
	return BankBenchResult{
		Clients: len(names), Broadcast: broadcast.Load(), Rejected: rejected.Load(), Committed: w.committed,
		Blocks: w.blocks, Seconds: w.seconds, TxPerSecond: w.perSecond(), TxPerBlock: float64(w.committed) / float64(w.blocks),
		NumCPU: runtime.NumCPU(),
	}, nil
}

// benchChain is a dev chain started for a benchmark, with a gRPC connection and its keyring.
type benchChain struct {
	node *exec.Cmd
	rpc  *rpchttp.HTTP
	conn *grpc.ClientConn
	b    *bankBench
}

func startBenchChain(ctx context.Context, self, home string) (*benchChain, error) {
	if _, err := SetupDevHome(self, home); err != nil {
		return nil, err
	}
	node := exec.Command(self, "start", "--home", home, "--log_level", "error")
	logFile, err := os.Create(filepath.Join(home, "node.log"))
	if err != nil {
		return nil, err
	}
	node.Stdout, node.Stderr = logFile, logFile
	if err := node.Start(); err != nil {
		return nil, err
	}
	c := &benchChain{node: node}
	if c.rpc, err = rpchttp.New("http://127.0.0.1:26657", "/websocket"); err != nil {
		c.close()
		return nil, err
	}
	if _, err := waitHeight(ctx, c.rpc, 2, 2*time.Minute); err != nil {
		c.close()
		return nil, err
	}
	if c.conn, err = grpc.NewClient("127.0.0.1:9090", grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		c.close()
		return nil, err
	}
	enc := app.New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.EmptyAppOptions{})
	kr, err := keyring.New(app.Name, keyring.BackendTest, home, nil, enc.AppCodec(), evmhd.EthSecp256k1Option())
	if err != nil {
		c.close()
		return nil, err
	}
	c.b = &bankBench{conn: c.conn, kr: kr, cdc: enc.AppCodec(), txConfig: enc.TxConfig()}
	return c, nil
}

func (c *benchChain) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	_ = c.node.Process.Signal(os.Interrupt)
	_ = c.node.Wait()
}

// newAccounts makes n keys named prefix0… and funds each with amount from alice in one tx.
func (c *benchChain) newAccounts(ctx context.Context, prefix string, n int, amount sdkmath.Int) ([]string, []sdk.AccAddress, error) {
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
func (c *benchChain) settle(ctx context.Context) error {
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
func (c *benchChain) measure(ctx context.Context, duration time.Duration, load func(context.Context)) (window, error) {
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

type bankBench struct {
	chainID  string // DevChainID when empty
	conn     *grpc.ClientConn
	kr       keyring.Keyring
	cdc      codec.Codec
	txConfig client.TxConfig
}

func (b *bankBench) address(name string) (sdk.AccAddress, error) {
	rec, err := b.kr.Key(name)
	if err != nil {
		return nil, err
	}
	return rec.GetAddress()
}

// benchGasPrice is ten times the initial base fee, so rising base fees do not stall the run.
const benchGasPrice = "10000000000" + app.BaseDenom

func (b *bankBench) factory(name string, gas uint64) (clienttx.Factory, error) {
	addr, err := b.address(name)
	if err != nil {
		return clienttx.Factory{}, err
	}
	info, err := authtypes.NewQueryClient(b.conn).AccountInfo(context.Background(), &authtypes.QueryAccountInfoRequest{Address: addr.String()})
	if err != nil {
		return clienttx.Factory{}, fmt.Errorf("account %s: %w", name, err)
	}
	chainID := b.chainID
	if chainID == "" {
		chainID = DevChainID
	}
	return clienttx.Factory{}.
		WithTxConfig(b.txConfig).WithKeybase(b.kr).WithChainID(chainID).WithFromName(name).
		WithAccountNumber(info.Info.AccountNumber).WithSequence(info.Info.Sequence).
		WithGas(gas).WithGasPrices(benchGasPrice).WithSignMode(signing.SignMode_SIGN_MODE_DIRECT), nil
}

func (b *bankBench) sign(f clienttx.Factory, msgs ...sdk.Msg) ([]byte, error) {
	builder, err := f.BuildUnsignedTx(msgs...)
	if err != nil {
		return nil, err
	}
	if err := clienttx.Sign(context.Background(), f, f.FromName(), builder, true); err != nil {
		return nil, err
	}
	return b.txConfig.TxEncoder()(builder.GetTx())
}

func (b *bankBench) broadcast(ctx context.Context, txBytes []byte) (*sdk.TxResponse, error) {
	res, err := txtypes.NewServiceClient(b.conn).BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: txBytes, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
	if err != nil {
		return nil, err
	}
	return res.TxResponse, nil
}

func (b *bankBench) sendOne(ctx context.Context, name string, msg sdk.Msg, gas uint64) error {
	return b.sendMsgs(ctx, name, gas, msg)
}

// sendMsgs signs msgs in one tx from name and broadcasts it.
func (b *bankBench) sendMsgs(ctx context.Context, name string, gas uint64, msgs ...sdk.Msg) error {
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
func (b *bankBench) sendLoop(ctx context.Context, name string, gas uint64, next func() sdk.Msg, broadcast, rejected *atomic.Int64) {
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
