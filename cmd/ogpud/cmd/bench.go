package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opengpu/ogpu/app"
	"github.com/opengpu/ogpu/bench"
	"github.com/opengpu/ogpu/x/compute/workload"
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
	f.StringSlice("only", nil, "run only these parts: "+strings.Join(bench.Parts, ", "))
	f.Int("clients", 4, "market: concurrent clients, and as many providers")
	f.Duration("duration", 15*time.Second, "market: length of each measuring window")
	f.Int("tasks", 10, "latency: tasks per size")
	f.Int64("blocks", 15, "vote-extensions: blocks measured in each phase")
	f.Int("stream-clients", 4, "stream: concurrent clients of the stream and of the plain path")
	f.Int("stream-requests", 2000, "stream: requests of one row each path sends")
	cmd.AddCommand(benchBankCmd(), benchMarketCmd(), benchVoteExtensionsCmd(), benchLatencyCmd(), benchGemmCmd(), benchMLPCmd(),
		benchTimersCmd(), benchPrecompileCmd(), benchVerifyMemoryCmd(), benchStreamCmd())
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
			return benchRun(cmd, func(ctx context.Context, env bench.Env, dir string) (any, error) {
				return bench.BankSend(ctx, env, dir, clients, duration)
			})
		},
	}
	cmd.Flags().Int("clients", 8, "concurrent clients, one account each")
	cmd.Flags().Duration("duration", 20*time.Second, "how long the clients send")
	return cmd
}

// benchRun runs a benchmark in a new directory it removes afterwards, and prints the result as
// JSON.
func benchRun(cmd *cobra.Command, run func(ctx context.Context, env bench.Env, dir string) (any, error)) error {
	env, err := BenchEnv()
	if err != nil {
		return err
	}
	parent, err := os.MkdirTemp("", "ogpu-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parent)
	res, err := run(cmd.Context(), env, filepath.Join(parent, "chain"))
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

// BenchEnv is what the benchmarks need from this command: this binary, and the ways it writes
// a dev home and the localnet's homes and opens the application for `ogpud start`.
func BenchEnv() (bench.Env, error) {
	self, err := os.Executable()
	if err != nil {
		return bench.Env{}, err
	}
	return bench.Env{
		Binary:     self,
		DevChainID: DevChainID,
		WriteDevHome: func(home string) ([]bench.Account, error) {
			devAccounts, err := SetupDevHome(self, home)
			accounts := make([]bench.Account, len(devAccounts))
			for i, a := range devAccounts {
				accounts[i] = bench.Account{Name: a.Name, Address: a.Address}
			}
			return accounts, err
		},
		WriteTestnet: func(dir, chainID string, n int) error {
			return InitTestnetFiles(self, dir, chainID, app.DefaultEVMChainID, n, 2)
		},
		NodeHost: NodeHost,
		SetSidecarAddress: func(home, addr string) error {
			return editTOML(filepath.Join(home, "config", "app.toml"), tomlEdit{"sidecar", "address", quote(addr)})
		},
		NewApp: newApp,
	}, nil
}

func benchMarketCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "market",
		Short: "Task-market throughput (create-task + bid tx/s) against bank-send tx/s, on one fresh dev chain",
		Long: `Start a fresh dev chain with --clients client accounts and as many provider accounts (registered
and bonded). After a short warm-up of bank sends, --rounds times: the clients send bank transfers for
--duration, then for another --duration they create gemm tasks while the providers bid on every open
task. Both figures count the successful txs committed in their windows' blocks over the windows'
block-time span; the ratio is market / bank.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clients, _ := cmd.Flags().GetInt("clients")
			rounds, _ := cmd.Flags().GetInt("rounds")
			duration, _ := cmd.Flags().GetDuration("duration")
			if clients < 1 {
				return fmt.Errorf("--clients %d: must be at least 1", clients)
			}
			if rounds < 1 {
				return fmt.Errorf("--rounds %d: must be at least 1", rounds)
			}
			if duration <= 0 {
				return fmt.Errorf("--duration %s: must be positive", duration)
			}
			return benchRun(cmd, func(ctx context.Context, env bench.Env, dir string) (any, error) {
				return bench.Market(ctx, env, dir, clients, rounds, duration)
			})
		},
	}
	cmd.Flags().Int("clients", 4, "concurrent clients, and as many providers")
	cmd.Flags().Int("rounds", 2, "bank and market windows measured in turn")
	cmd.Flags().Duration("duration", 15*time.Second, "length of each measuring window")
	return cmd
}

func benchStreamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Requests through a 1-replica stream against plain HTTP POSTs of the same rows, and the stream's bytes on chain",
		Long: `Start a fresh dev chain and its sidecar (the dev provider). First, in this process, serve a random
784-128-10 model (MNIST's shape) from an HTTP handler that runs it on the executor the sidecar picks, and
POST --requests rows blobs of one row to it from --clients concurrent clients. Then open a stream of that
model (1 replica, 1 row a request) from a funded account, wait for it to go LIVE and for the replica to
answer, and send the same rows through it with the stream client (vouchers, signatures and receipts
checked) from as many clients sharing one stream client. Reports p50 and p99 latency and requests/s of
both paths and their ratios; then waits for the replica to commit and reveal the run's periods and
claim its last voucher, and sums the bytes of the commitment, reveal and claim txs from the live height
on, per 1,000 paid requests (the open and the subscription apart).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clients, _ := cmd.Flags().GetInt("clients")
			requests, _ := cmd.Flags().GetInt("requests")
			if clients < 1 {
				return fmt.Errorf("--clients %d: must be at least 1", clients)
			}
			if requests < 1 {
				return fmt.Errorf("--requests %d: must be at least 1", requests)
			}
			return benchRun(cmd, func(ctx context.Context, env bench.Env, dir string) (any, error) {
				return bench.StreamBench(ctx, env, dir, clients, requests)
			})
		},
	}
	cmd.Flags().Int("clients", 4, "concurrent clients of each path")
	cmd.Flags().Int("requests", 2000, "requests of one row each path sends")
	return cmd
}

func benchVoteExtensionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vote-extensions",
		Short: "Block time of a 4-validator network with full vote extensions against empty ones",
		Long: `Start 4 validators on 127.0.0.1-4, each with a scripted sidecar attestor. Measure the mean block
time over --blocks blocks while the attestors return nothing, then while each returns --attestations
attestations in every vote, and print both, their ratio, and the bytes per attestation. The
attestations name no real task, so they are signed, carried, verified and decoded, but not stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			blocks, _ := cmd.Flags().GetInt64("blocks")
			n, _ := cmd.Flags().GetInt("attestations")
			if blocks < 1 {
				return fmt.Errorf("--blocks %d: must be at least 1", blocks)
			}
			if n < 1 {
				return fmt.Errorf("--attestations %d: must be at least 1", n)
			}
			return benchRun(cmd, func(ctx context.Context, env bench.Env, dir string) (any, error) {
				return bench.VoteExtensions(ctx, env, dir, blocks, n)
			})
		},
	}
	cmd.Flags().Int64("blocks", 20, "blocks measured in each phase")
	cmd.Flags().Int("attestations", 256, "attestations per vote extension in the full phase")
	return cmd
}

func benchLatencyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "Create-task to verdict (VERIFIED) time on a 4-validator network with real sidecars",
		Long: `Start the network of 'make localnet' (4 validators, each with its sidecar embedded as verifier,
and 2 provider-only sidecars) in a new directory. For each size n, create --tasks seeded n×n×n gemm
tasks, one every 2 blocks, and report the blocks and seconds from the block that created each task
to the block of the committee's VALID verdict (p50, p95), against the bid window + 5 blocks: one
block more than before commit–reveal buys the draw after the submission; commit and reveal take
the others.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tasks, _ := cmd.Flags().GetInt("tasks")
			if tasks < 1 {
				return fmt.Errorf("--tasks %d: must be at least 1", tasks)
			}
			return benchRun(cmd, func(ctx context.Context, env bench.Env, dir string) (any, error) {
				return bench.Latency(ctx, env, dir, []int{256, 1024}, tasks)
			})
		},
	}
	cmd.Flags().Int("tasks", 10, "tasks per size")
	return cmd
}

func benchGemmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "gemm",
		Short: "Executor throughput against the naive loop (and bare cuBLAS on a GPU), and verification against execution",
		Long: `In this process: run the CPU executor and the naive triple loop on the same 512³ product, every
CPU kernel path this machine has (pure Go, AVX-512 BW, AVX-512 VNNI) at 1024³, and where a GPU and cuBLAS are found, the CUDA executor against a bare cublasGemmEx on resident buffers.
Then, for n = 512, 1024 and 2048, execute an n×n×n product on the best executor and check the result
with Freivalds as a verifier does, and report the ratio of the two times.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchRun(cmd, func(context.Context, bench.Env, string) (any, error) { return bench.Gemm([]int{512, 1024, 2048}) })
		},
	}
}

func benchMLPCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "mlp",
		Short: "MLP inference and training throughput, and a committee member's check against each run",
		Long: `In this process, on the CPU executor: run infer-mlp-int8 with a 2048-2048-2048-10 model over 2048 rows
and check its result as a committee member does (Freivalds on every layer, the requantization,
logits and argmax exactly); then train-mlp-int8 at MNIST's shape (784-128-10, 2000 steps of 64
rows, on a seeded dataset of 60,000 rows) and check it as a member does (10 sampled steps re-run,
the final state's model). Reports rows/s, steps/s and each check's time over its run's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchRun(cmd, func(context.Context, bench.Env, string) (any, error) { return bench.MLP() })
		},
	}
}

func benchTimersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "timers",
		Short: "Block time with --tasks task timers due at one height against an empty block, the app driven in this process",
		Long: `Write a dev chain's home (genesis and keys only; no node starts, no port is opened), then drive the
application in this process as CometBFT would: InitChain from the genesis, then FinalizeBlock and Commit
block after block, one second apart, on the node's database in the home. Each block's time is that of
FinalizeBlock and Commit together.

The baseline is the median of --empty empty blocks, and of as many again measured between the rounds.
--rounds times, one transaction creates --tasks gemm tasks that require a B200 GPU, which no provider of
the chain has, so their bid windows all end at one height with no bid and x/compute's EndBlocker expires
them there and after, at most max_timers_per_block a block. Then --rounds times the same with tasks the
chain's provider can take: it bids on every one in the next block, and at the window's end they are
matched. Reported per round: every block from the one where the timers fall due until all are
processed, how many each processed, and the slowest; per variant, the median over rounds of the slowest
block and its ratio to the empty block.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tasks, _ := cmd.Flags().GetInt("tasks")
			rounds, _ := cmd.Flags().GetInt("rounds")
			empty, _ := cmd.Flags().GetInt("empty")
			for _, f := range []struct {
				name  string
				value int
			}{{"tasks", tasks}, {"rounds", rounds}, {"empty", empty}} {
				if f.value < 1 {
					return fmt.Errorf("--%s %d: must be at least 1", f.name, f.value)
				}
			}
			return benchRun(cmd, func(ctx context.Context, env bench.Env, dir string) (any, error) {
				return bench.Timers(ctx, env, dir, tasks, rounds, empty)
			})
		},
	}
	cmd.Flags().Int("tasks", 1000, "tasks whose timers fall due at one height")
	cmd.Flags().Int("rounds", 5, "times each variant (expired, matched) is measured")
	cmd.Flags().Int("empty", 10, "empty blocks measured for the baseline")
	return cmd
}

func benchPrecompileCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "precompile",
		Short: "Gas and tx/s of a gemm createTask through the ICompute precompile against a Cosmos MsgCreateTask, the app driven in this process",
		Long: `Write a dev chain's home (genesis and keys only; no node starts, no port is opened) and drive the
application in this process as the timers benchmark does. Fund --accounts eth_secp256k1 accounts, then
--blocks times each, alternating, commit a block of --txs txs from them that each create the same seeded
8³ gemm task: once as EVM txs calling ICompute's createTask at 0x…c0DE (EIP-1559, signed with the
account's key, their gas limit eth_estimateGas + 10%), once as Cosmos MsgCreateTask txs. Every tx
must succeed and create its task. Empty blocks after each measured block take the tasks' bid-window
timers. Reports each kind's gas per tx (the EVM receipt's; the Cosmos tx's gas meter) and tx/s (the
block's txs over its FinalizeBlock and Commit, median over blocks), and the ratios precompile / Cosmos.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			accounts, _ := cmd.Flags().GetInt("accounts")
			txs, _ := cmd.Flags().GetInt("txs")
			blocks, _ := cmd.Flags().GetInt("blocks")
			for _, f := range []struct {
				name  string
				value int
			}{{"accounts", accounts}, {"txs", txs}, {"blocks", blocks}} {
				if f.value < 1 {
					return fmt.Errorf("--%s %d: must be at least 1", f.name, f.value)
				}
			}
			return benchRun(cmd, func(ctx context.Context, env bench.Env, dir string) (any, error) {
				return bench.Precompile(ctx, env, dir, accounts, txs, blocks)
			})
		},
	}
	cmd.Flags().Int("accounts", 8, "accounts sending the txs of a block, round-robin")
	cmd.Flags().Int("txs", 200, "txs in each measured block")
	cmd.Flags().Int("blocks", 10, "blocks measured of each kind")
	return cmd
}

func benchVerifyMemoryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify-memory",
		Short: "A verifier's peak heap for the largest task (16384³), streamed, against the whole-in-memory path",
		Long: `In this process: serve an n×n×n gemm task from a local HTTP server (A the identity, B generated, the
result B widened: every blob made on the fly, 1.5 GiB for n = 16384) and verify its result as a committee
member does, streaming A, B and the result through the check; the figure is the most heap the process
holds while it runs, over what was live before (sampled every millisecond). The baseline, measured once
in the same run, is the path it replaced: every blob read whole, the inputs copied to int8, then the
check (about 3.1 GiB for n = 16384); it is skipped when MemAvailable is short of it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, _ := cmd.Flags().GetInt("n")
			runs, _ := cmd.Flags().GetInt("runs")
			if runs < 1 {
				return fmt.Errorf("--runs %d: must be at least 1", runs)
			}
			return benchRun(cmd, func(ctx context.Context, _ bench.Env, _ string) (any, error) {
				return bench.VerifyMemory(ctx, n, runs)
			})
		},
	}
	cmd.Flags().Int("n", workload.GemmMaxDim, "m = n = k of the task")
	cmd.Flags().Int("runs", 3, "streamed verifications; the peak is the most of them")
	return cmd
}

// runBenchReport is `ogpud bench` without a subcommand: every benchmark, one table. It checks
// the flags and leaves the run and the table to bench.
func runBenchReport(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	outDir, _ := f.GetString("out")
	compare, _ := f.GetString("compare")
	only, _ := f.GetStringSlice("only")
	clients, _ := f.GetInt("clients")
	duration, _ := f.GetDuration("duration")
	blocks, _ := f.GetInt64("blocks")
	tasks, _ := f.GetInt("tasks")
	streamClients, _ := f.GetInt("stream-clients")
	streamRequests, _ := f.GetInt("stream-requests")
	for _, p := range only {
		if !slices.Contains(bench.Parts, p) {
			return fmt.Errorf("--only %q: must be among %s", p, strings.Join(bench.Parts, ", "))
		}
	}
	if len(only) == 0 {
		only = bench.Parts
	}
	for _, f := range []struct {
		name  string
		value int64
	}{{"clients", int64(clients)}, {"tasks", int64(tasks)}, {"blocks", blocks}, {"stream-clients", int64(streamClients)}, {"stream-requests", int64(streamRequests)}} {
		if f.value < 1 {
			return fmt.Errorf("--%s %d: must be at least 1", f.name, f.value)
		}
	}
	if duration <= 0 {
		return fmt.Errorf("--duration %s: must be positive", duration)
	}
	var earlier *bench.Report
	if compare != "" {
		var err error
		if earlier, err = bench.ReadReport(compare); err != nil {
			return fmt.Errorf("--compare: %w", err)
		}
	}
	env, err := BenchEnv()
	if err != nil {
		return err
	}
	progress := cmd.ErrOrStderr()
	r, err := bench.Run(cmd.Context(), env, bench.Options{
		Parts: only, Clients: clients, Duration: duration, Tasks: tasks, Blocks: blocks, StreamClients: streamClients, StreamRequests: streamRequests,
	}, progress)
	if err != nil {
		return err
	}

	md := r.Markdown(earlier)
	fmt.Fprint(cmd.OutOrStdout(), md)
	if outDir == "" {
		return nil
	}
	mdPath, jsonPath, err := r.WriteFiles(outDir, md)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "bench: wrote %s and %s\n", mdPath, jsonPath)
	return nil
}
