package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	"cosmossdk.io/math"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// computeTxCommand holds create-task and the client's stream txs; autocli adds the other
// compute txs.
func computeTxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        computetypes.ModuleName,
		Short:                      "Compute market transactions: create tasks, bid, submit results",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	create := &cobra.Command{
		Use:                        "create-task",
		Short:                      "Create a batch task; the workload is a subcommand",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	create.AddCommand(createGemmTaskCmd(), createInferTaskCmd(), createTrainTaskCmd())
	cmd.AddCommand(create)
	cmd.AddCommand(streamTxCommands()...)
	return cmd
}

// computeQueryCommand holds result, stream and streams; autocli adds the other compute queries.
func computeQueryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        computetypes.ModuleName,
		Short:                      "Querying commands for the compute module",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(resultCmd())
	cmd.AddCommand(streamQueryCommands()...)
	return cmd
}

const (
	flagM               = "m"
	flagN               = "n"
	flagK               = "k"
	flagSeedA           = "seed-a"
	flagSeedB           = "seed-b"
	flagMaxPrice        = "max-price"
	flagDeadline        = "deadline"
	flagExecutionBlocks = "execution-blocks"
	flagDecayAfter      = "decay-after"
	flagMinFraction     = "min-fraction"
	flagMinVRAM         = "min-vram-mib"
	flagGPUModel        = "gpu-model"
	flagGPUCount        = "gpu-count"
	flagMinCC           = "min-compute-capability"
	flagInputA          = "input-a"
	flagInputB          = "input-b"
	flagWait            = "wait"
	flagWaitTimeout     = "wait-timeout"
)

func createGemmTaskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gemm-int8 --m M --n N --k K --seed-a A --seed-b B --max-price PRICE --deadline BLOCKS",
		Short: "Create a " + workload.GemmInt8V1 + " task: C (m×n, int32) = A (m×k) · B (k×n), int8 inputs from seeds",
		Long: `Create a ` + workload.GemmInt8V1 + ` task and lock max_price + committee fee + security deposit in escrow.
--max-price is an amount of aogpu ("100000000000000000000aogpu" or just the number). The payment is
fixed unless --decay-after is set: then full until that many blocks after creation, falling linearly
to --min-fraction of the price at the deadline. With --wait the command follows the task and prints
every change of state until it ends; it exits non-zero if the task FAILED, EXPIRED or was CANCELLED.`,
		Args: cobra.NoArgs,
		RunE: runCreateTask(gemmTaskFromFlags),
	}
	f := cmd.Flags()
	f.Uint32(flagM, 0, "rows of A and C (1..16384)")
	f.Uint32(flagN, 0, "columns of B and C (1..16384)")
	f.Uint32(flagK, 0, "columns of A, rows of B (1..16384)")
	f.Uint64(flagSeedA, 0, "seed of A")
	f.Uint64(flagSeedB, 0, "seed of B")
	f.String(flagInputA, "", "http(s) URI of A (m·k int8 bytes, row-major) instead of --seed-a; fetched once here for its sha256 and size")
	f.String(flagInputB, "", "http(s) URI of B (k·n int8 bytes, row-major) instead of --seed-b")
	addTaskFlags(cmd)
	for _, req := range []string{flagM, flagN, flagK} {
		_ = cmd.MarkFlagRequired(req)
	}
	return cmd
}

func gemmTaskFromFlags(cmd *cobra.Command, creator sdk.AccAddress) (*computetypes.MsgCreateTask, error) {
	f := cmd.Flags()
	m, _ := f.GetUint32(flagM)
	n, _ := f.GetUint32(flagN)
	k, _ := f.GetUint32(flagK)
	seedA, _ := f.GetUint64(flagSeedA)
	seedB, _ := f.GetUint64(flagSeedB)
	var inputs []computetypes.Blob
	inA, _ := f.GetString(flagInputA)
	inB, _ := f.GetString(flagInputB)
	if inA != "" || inB != "" {
		if inA == "" || inB == "" {
			return nil, fmt.Errorf("--%s and --%s: give both or neither", flagInputA, flagInputB)
		}
		for _, uri := range []string{inA, inB} {
			b, err := ogpuclient.New(nil, nil).DescribeBlob(cmd.Context(), uri, maxInputBytes)
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, b)
		}
	}
	return taskFromFlags(cmd, creator, computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
		GemmInt8: &computetypes.GemmInt8Params{M: m, N: n, K: k, SeedA: seedA, SeedB: seedB},
	}}, inputs)
}

// taskFromFlags is the task of workload w on inputs with the price, deadline, payment and
// hardware flags every create-task command has.
func taskFromFlags(cmd *cobra.Command, creator sdk.AccAddress, w computetypes.Workload, inputs []computetypes.Blob) (*computetypes.MsgCreateTask, error) {
	f := cmd.Flags()
	priceStr, _ := f.GetString(flagMaxPrice)
	deadline, _ := f.GetUint64(flagDeadline)
	execution, _ := f.GetUint64(flagExecutionBlocks)
	decayAfter, _ := f.GetInt64(flagDecayAfter)
	minFraction, _ := f.GetString(flagMinFraction)
	minVRAM, _ := f.GetUint64(flagMinVRAM)
	model, _ := f.GetString(flagGPUModel)
	count, _ := f.GetUint32(flagGPUCount)
	minCC, _ := f.GetString(flagMinCC)

	price, err := parseAogpu(priceStr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagMaxPrice, err)
	}
	payment := computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: math.LegacyZeroDec()}
	if decayAfter >= 0 {
		frac, err := math.LegacyNewDecFromStr(minFraction)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flagMinFraction, minFraction, err)
		}
		payment = computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_LINEAR_DECAY, FullUntilBlocks: uint64(decayAfter), MinFraction: frac}
	}
	return &computetypes.MsgCreateTask{
		Inputs:   inputs,
		Creator:  creator.String(),
		Workload: w,
		Requirements: stakinggputypes.Requirements{
			Workload: w.Name, MinVramMib: minVRAM, GpuModel: model, GpuCount: count, MinComputeCapability: minCC,
		},
		MaxPrice:        price,
		Deadline:        deadline,
		ExecutionBlocks: execution,
		Payment:         payment,
	}, nil
}

// addTaskFlags adds the flags of taskFromFlags, --wait and the tx flags.
func addTaskFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String(flagMaxPrice, "", "the most you pay the provider, in aogpu (required)")
	f.Uint64(flagDeadline, 0, "blocks after creation by which the result must be submitted (required)")
	f.Uint64(flagExecutionBlocks, 0, "blocks each assigned provider gets before the task moves to the next bid (0: until the deadline)")
	f.Int64(flagDecayAfter, -1, "pay in full until this many blocks after creation, then decay linearly (default: fixed payment)")
	f.String(flagMinFraction, "0.5", "with --decay-after: the fraction of the price paid at the deadline")
	f.Uint64(flagMinVRAM, 0, "least GPU memory in MiB (0: any, CPU providers included)")
	f.String(flagGPUModel, "", "GPU model the provider must have, e.g. H100")
	f.Uint32(flagGPUCount, 0, "how many matching GPUs the provider must have")
	f.String(flagMinCC, "", "least CUDA compute capability, e.g. 8.0")
	f.Bool(flagWait, false, "follow the task until it ends and print each change of state")
	f.Duration(flagWaitTimeout, 10*time.Minute, "with --wait: give up after this long")
	for _, req := range []string{flagMaxPrice, flagDeadline} {
		_ = cmd.MarkFlagRequired(req)
	}
	flags.AddTxFlagsToCmd(cmd)
}

// runCreateTask is the RunE of a create-task command: build the task, then broadcast it, or
// with --wait follow it to its end.
func runCreateTask(build func(cmd *cobra.Command, creator sdk.AccAddress) (*computetypes.MsgCreateTask, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		clientCtx, err := client.GetClientTxContext(cmd)
		if err != nil {
			return err
		}
		msg, err := build(cmd, clientCtx.GetFromAddress())
		if err != nil {
			return err
		}
		if err := msg.ValidateBasic(); err != nil {
			return err
		}
		wait, _ := cmd.Flags().GetBool(flagWait)
		if !wait {
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		}
		if clientCtx.GenerateOnly || clientCtx.Simulate {
			return fmt.Errorf("--%s follows a broadcast task: it cannot go with --%s or --%s", flagWait, flags.FlagGenerateOnly, flags.FlagDryRun)
		}
		timeout, _ := cmd.Flags().GetDuration(flagWaitTimeout)
		return createAndWait(cmd, clientCtx, msg, timeout)
	}
}

// parseAogpu reads "123aogpu" or "123".
func parseAogpu(s string) (sdk.Coin, error) {
	if amount, ok := math.NewIntFromString(s); ok {
		return sdk.NewCoin(computetypes.DefaultDenom, amount), nil
	}
	c, err := sdk.ParseCoinNormalized(s)
	if err != nil {
		return sdk.Coin{}, fmt.Errorf("%q: want an amount of aogpu, e.g. 100000000000000000000aogpu", s)
	}
	return c, nil
}

// createAndWait signs and broadcasts the task, reads its id from the tx result and follows it to
// its end. When the committee has verified the result it downloads it, checks it itself with
// Freivalds' algorithm on the task's inputs, and accepts it (the provider is paid now) or, if it
// is wrong, disputes it.
func createAndWait(cmd *cobra.Command, clientCtx client.Context, msg *computetypes.MsgCreateTask, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	c := ogpuclient.New(clientCtx, clientCtx.TxConfig)
	txf, err := tx.NewFactoryCLI(clientCtx, cmd.Flags())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	res, err := sendAndWait(ctx, c, txf, out, msg)
	if err != nil {
		return fmt.Errorf("create-task: %w", err)
	}
	id, err := ogpuclient.CreatedTaskID(res)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "task %d created\n", id)
	signer, err := creatorSigner(clientCtx)
	if err != nil {
		return err
	}
	judged := false
	t, err := c.WaitTask(ctx, id, func(t computetypes.Task) {
		fmt.Fprintln(out, taskLine(t))
		if t.State != computetypes.TASK_STATE_VERIFIED || judged {
			return
		}
		judged = true
		if err := judgeResult(ctx, c, txf, out, msg.Creator, t, signer); err != nil {
			fmt.Fprintf(out, "task %d: %v\n", id, err)
		}
	})
	if err != nil {
		return err
	}
	if t.State != computetypes.TASK_STATE_COMPLETED {
		return fmt.Errorf("task %d ended %s: %s", id, t.State, t.Outcome)
	}
	return nil
}

// judgeResult checks a verified result itself and accepts it, or disputes it if it is wrong.
func judgeResult(ctx context.Context, c *ogpuclient.Client, txf tx.Factory, out io.Writer, creator string, t computetypes.Task, signer blobauth.Signer) error {
	verdict := c.CheckResult(ctx, t, signer)
	if verdict == nil {
		fmt.Fprintf(out, "task %d: the result passes our own check; accepting it\n", t.Id)
		_, err := sendAndWait(ctx, c, txf, out, &computetypes.MsgAcceptResult{Creator: creator, TaskId: t.Id})
		return err
	}
	if !errors.Is(verdict, ogpuclient.ErrWrongResult) {
		// nothing proves it wrong: the provider is paid when the dispute window passes
		fmt.Fprintf(out, "task %d: could not check the result (%v); neither accepting nor disputing it\n", t.Id, verdict)
		return nil
	}
	fmt.Fprintf(out, "task %d: the result fails our own check (%v); disputing it\n", t.Id, verdict)
	_, err := sendAndWait(ctx, c, txf, out, &computetypes.MsgDisputeResult{Creator: creator, TaskId: t.Id})
	return err
}

// sendAndWait sends msg, says so, and waits for it to be in a block.
func sendAndWait(ctx context.Context, c *ogpuclient.Client, txf tx.Factory, out io.Writer, msg sdk.Msg) (*sdk.TxResponse, error) {
	hash, err := c.Send(ctx, txf, msg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "tx %s sent\n", hash)
	return c.WaitTx(ctx, hash)
}

// taskLine is how --wait prints a task's new state.
func taskLine(t computetypes.Task) string {
	line := fmt.Sprintf("task %d %s", t.Id, t.State)
	switch t.State {
	case computetypes.TASK_STATE_OPEN:
		line += fmt.Sprintf(" (bids until height %d)", t.BidWindowEnd)
	case computetypes.TASK_STATE_ASSIGNED:
		line += fmt.Sprintf(" to %s at %s aogpu, deadline height %d", t.Provider, t.Price, t.AssignmentDeadline)
	case computetypes.TASK_STATE_SUBMITTED:
		line += fmt.Sprintf(" result %s (%d bytes) at %s", t.Result.Sha256, t.Result.Size_, t.Result.Uri)
	case computetypes.TASK_STATE_VERIFIED:
		line += fmt.Sprintf(" by its committee; disputable until height %d", t.DisputeEnd)
	default:
		line += fmt.Sprintf(": %s; paid %s, refunded %s", t.Outcome, t.Paid, t.Refunded)
	}
	return line
}

func resultCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "result [task-id] --out FILE",
		Short: "Download a task's result from its URI and check its size and sha256",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("task id %q: %w", args[0], err)
			}
			out, _ := cmd.Flags().GetString("out")
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			keySigner, err := creatorSigner(clientCtx)
			if err != nil {
				return err
			}
			var signer blobauth.Signer = keySigner
			if forAddr, _ := cmd.Flags().GetString(flagFor); forAddr != "" {
				contract, err := parseAccount(forAddr)
				if err != nil {
					return fmt.Errorf("--%s %q: %w", flagFor, forAddr, err)
				}
				signer = ogpuclient.ForContract(keySigner, contract)
			}
			c := ogpuclient.New(clientCtx, clientCtx.TxConfig)
			t, err := c.Task(cmd.Context(), id)
			if err != nil {
				return err
			}
			r := t.Result
			if r.Sha256 == "" {
				return fmt.Errorf("task %d is %s and has no result", id, t.State)
			}
			if err := c.DownloadFile(cmd.Context(), r, id, signer, out); err != nil {
				return fmt.Errorf("task %d: %w", id, err)
			}
			summary, _ := json.Marshal(map[string]any{"task_id": id, "state": t.State.String(), "sha256": r.Sha256, "size": r.Size_, "file": out})
			fmt.Fprintln(cmd.OutOrStdout(), string(summary))
			return nil
		},
	}
	cmd.Flags().String("out", "", "file to write the result to (required)")
	_ = cmd.MarkFlagRequired("out")
	flags.AddQueryFlagsToCmd(cmd)
	cmd.Flags().String(flags.FlagFrom, "", "the task's creator key: the provider serves the result to its creator only, once the verdict is in (required)")
	cmd.Flags().String(flagFor, "", "the creator is this contract (0x… or ogpu1…), which approves --from's signature by ERC-1271's isValidSignature")
	cmd.Flags().String(flags.FlagKeyringBackend, "", "keyring backend of --from (default: the home's client.toml)")
	_ = cmd.MarkFlagRequired(flags.FlagFrom)
	return cmd
}

// flagFor names the contract a result is read for.
const flagFor = "for"

// parseAccount reads an account address in either form: 0x… (as the EVM writes it) or ogpu1….
func parseAccount(s string) (sdk.AccAddress, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if !common.IsHexAddress(s) {
			return nil, errors.New("must be a 20-byte hex address")
		}
		return sdk.AccAddress(common.HexToAddress(s).Bytes()), nil
	}
	return sdk.AccAddressFromBech32(s)
}

// creatorSigner signs blob reads with the --from key, the task's creator.
func creatorSigner(clientCtx client.Context) (ogpuclient.KeyringSigner, error) {
	if clientCtx.FromName == "" || clientCtx.Keyring == nil {
		return ogpuclient.KeyringSigner{}, errors.New("--from: the key of the task's creator is needed to read its result")
	}
	s, err := ogpuclient.NewKeyringSigner(clientCtx.Keyring, clientCtx.FromName)
	if err != nil {
		return s, fmt.Errorf("--from: %w", err)
	}
	return s, nil
}

// maxInputBytes is the largest gemm input: 16384 × 16384 int8.
const maxInputBytes = 16384 * 16384
