package cmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	"github.com/cosmos/gogoproto/proto"
	"github.com/spf13/cobra"

	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// computeTxCommand holds create-task; autocli adds the other compute txs.
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
	create.AddCommand(createGemmTaskCmd())
	cmd.AddCommand(create)
	return cmd
}

// computeQueryCommand holds result; autocli adds the other compute queries.
func computeQueryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        computetypes.ModuleName,
		Short:                      "Querying commands for the compute module",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(resultCmd())
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			msg, err := gemmTaskFromFlags(cmd, clientCtx.GetFromAddress())
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
		},
	}
	f := cmd.Flags()
	f.Uint32(flagM, 0, "rows of A and C (1..16384)")
	f.Uint32(flagN, 0, "columns of B and C (1..16384)")
	f.Uint32(flagK, 0, "columns of A, rows of B (1..16384)")
	f.Uint64(flagSeedA, 0, "seed of A")
	f.Uint64(flagSeedB, 0, "seed of B")
	f.String(flagMaxPrice, "", "the most you pay the provider, in aogpu (required)")
	f.Uint64(flagDeadline, 0, "blocks after creation by which the result must be submitted (required)")
	f.Uint64(flagExecutionBlocks, 0, "blocks each assigned provider gets before the task moves to the next bid (0: until the deadline)")
	f.Int64(flagDecayAfter, -1, "pay in full until this many blocks after creation, then decay linearly (default: fixed payment)")
	f.String(flagMinFraction, "0.5", "with --decay-after: the fraction of the price paid at the deadline")
	f.Uint64(flagMinVRAM, 0, "least GPU memory in MiB (0: any, CPU providers included)")
	f.String(flagGPUModel, "", "GPU model the provider must have, e.g. H100")
	f.Uint32(flagGPUCount, 0, "how many matching GPUs the provider must have")
	f.String(flagMinCC, "", "least CUDA compute capability, e.g. 8.0")
	f.String(flagInputA, "", "http(s) URI of A (m·k int8 bytes, row-major) instead of --seed-a; fetched once here for its sha256 and size")
	f.String(flagInputB, "", "http(s) URI of B (k·n int8 bytes, row-major) instead of --seed-b")
	f.Bool(flagWait, false, "follow the task until it ends and print each change of state")
	f.Duration(flagWaitTimeout, 10*time.Minute, "with --wait: give up after this long")
	for _, req := range []string{flagM, flagN, flagK, flagMaxPrice, flagDeadline} {
		_ = cmd.MarkFlagRequired(req)
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

func gemmTaskFromFlags(cmd *cobra.Command, creator sdk.AccAddress) (*computetypes.MsgCreateTask, error) {
	f := cmd.Flags()
	m, _ := f.GetUint32(flagM)
	n, _ := f.GetUint32(flagN)
	k, _ := f.GetUint32(flagK)
	seedA, _ := f.GetUint64(flagSeedA)
	seedB, _ := f.GetUint64(flagSeedB)
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
	var inputs []computetypes.Blob
	inA, _ := f.GetString(flagInputA)
	inB, _ := f.GetString(flagInputB)
	if inA != "" || inB != "" {
		if inA == "" || inB == "" {
			return nil, fmt.Errorf("--%s and --%s: give both or neither", flagInputA, flagInputB)
		}
		for _, uri := range []string{inA, inB} {
			b, err := describeBlob(cmd.Context(), uri)
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, b)
		}
	}
	return &computetypes.MsgCreateTask{
		Inputs:  inputs,
		Creator: creator.String(),
		Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: m, N: n, K: k, SeedA: seedA, SeedB: seedB},
		}},
		Requirements: stakinggputypes.Requirements{
			Workload: workload.GemmInt8V1, MinVramMib: minVRAM, GpuModel: model, GpuCount: count, MinComputeCapability: minCC,
		},
		MaxPrice:        price,
		Deadline:        deadline,
		ExecutionBlocks: execution,
		Payment:         payment,
	}, nil
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
	data, err := signAndWait(ctx, cmd, clientCtx, msg)
	if err != nil {
		return fmt.Errorf("create-task: %w", err)
	}
	id, err := createdTaskID(data)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "task %d created\n", id)
	q := computetypes.NewQueryClient(clientCtx)
	signer, err := newKeyringSigner(clientCtx)
	if err != nil {
		return err
	}
	return waitTask(ctx, q, out, id, func(t computetypes.Task) error {
		verdict := checkResult(ctx, t, signer)
		if verdict == nil {
			fmt.Fprintf(out, "task %d: the result passes our own check; accepting it\n", id)
			_, err := signAndWait(ctx, cmd, clientCtx, &computetypes.MsgAcceptResult{Creator: msg.Creator, TaskId: id})
			return err
		}
		if !errors.Is(verdict, gemm.ErrWrongResult) {
			// nothing proves it wrong: the provider is paid when the dispute window passes
			fmt.Fprintf(out, "task %d: could not check the result (%v); neither accepting nor disputing it\n", id, verdict)
			return nil
		}
		fmt.Fprintf(out, "task %d: the result fails our own check (%v); disputing it\n", id, verdict)
		_, err := signAndWait(ctx, cmd, clientCtx, &computetypes.MsgDisputeResult{Creator: msg.Creator, TaskId: id})
		return err
	})
}

// signAndWait signs msg from the command's key and flags, broadcasts it and waits for it to be
// in a block; it returns the tx result's data.
func signAndWait(ctx context.Context, cmd *cobra.Command, clientCtx client.Context, msg sdk.Msg) (string, error) {
	txf, err := tx.NewFactoryCLI(clientCtx, cmd.Flags())
	if err != nil {
		return "", err
	}
	if txf, err = txf.Prepare(clientCtx); err != nil {
		return "", err
	}
	if txf.SimulateAndExecute() {
		_, gas, err := tx.CalculateGas(clientCtx, txf, msg)
		if err != nil {
			return "", err
		}
		txf = txf.WithGas(gas)
	}
	builder, err := txf.BuildUnsignedTx(msg)
	if err != nil {
		return "", err
	}
	if err := tx.Sign(ctx, txf, clientCtx.FromName, builder, true); err != nil {
		return "", err
	}
	bz, err := clientCtx.TxConfig.TxEncoder()(builder.GetTx())
	if err != nil {
		return "", err
	}
	res, err := clientCtx.BroadcastTx(bz)
	if err != nil {
		return "", err
	}
	if res.Code != 0 {
		return "", fmt.Errorf("refused (code %d): %s", res.Code, res.RawLog)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "tx %s sent\n", res.TxHash)
	for {
		if txRes, err := authtx.QueryTx(clientCtx, res.TxHash); err == nil {
			if txRes.Code != 0 {
				return "", fmt.Errorf("failed (code %d): %s", txRes.Code, txRes.RawLog)
			}
			return txRes.Data, nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return "", fmt.Errorf("tx %s not in a block: %w", res.TxHash, err)
		}
	}
}

// checkResult downloads a verified result (capped at its size, hash-checked; the creator proves
// who it is to the provider's blob server) and checks it against the task's inputs with
// Freivalds' algorithm; nil means it is right.
func checkResult(ctx context.Context, t computetypes.Task, signer blobauth.Signer) error {
	g := t.Workload.GetGemmInt8()
	if g == nil {
		return fmt.Errorf("workload %s: no local check", t.Workload.Name)
	}
	shape := gemm.Shape{M: int(g.M), N: int(g.N), K: int(g.K)}
	var a, b []int8
	if len(t.Inputs) == 0 {
		seedA, seedB, _ := t.GemmInputSeeds()
		a, b = gemm.Generate(seedA, shape.M, shape.K), gemm.Generate(seedB, shape.K, shape.N)
	} else {
		for i, in := range t.Inputs {
			body, err := fetchBlob(ctx, in.Uri, in.Sha256, in.Size_, 0, nil)
			if err != nil {
				return fmt.Errorf("input %d: %w", i, err)
			}
			m := make([]int8, len(body))
			for j, v := range body {
				m[j] = int8(v)
			}
			if i == 0 {
				a = m
			} else {
				b = m
			}
		}
	}
	body, err := fetchBlob(ctx, t.Result.Uri, t.Result.Sha256, t.Result.Size_, t.Id, signer)
	if err != nil {
		return err
	}
	return gemm.Verify(bytes.NewReader(body), shape, a, b)
}

// fetchBlob downloads a blob into memory, at most size bytes, and checks its sha256; with a
// signer it reads as that reader of task.
func fetchBlob(ctx context.Context, uri, wantSHA string, size, task uint64, signer blobauth.Signer) ([]byte, error) {
	var buf bytes.Buffer
	if err := download(ctx, uri, task, signer, wantSHA, size, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// createdTaskID reads the MsgCreateTaskResponse from a tx result's data (hex TxMsgData).
func createdTaskID(data string) (uint64, error) {
	bz, err := hex.DecodeString(data)
	if err != nil {
		return 0, fmt.Errorf("tx data: %w", err)
	}
	var msgData sdk.TxMsgData
	if err := msgData.Unmarshal(bz); err != nil {
		return 0, fmt.Errorf("tx data: %w", err)
	}
	for _, any := range msgData.MsgResponses {
		var r computetypes.MsgCreateTaskResponse
		if any.TypeUrl == "/"+proto.MessageName(&r) {
			if err := r.Unmarshal(any.Value); err != nil {
				return 0, err
			}
			return r.TaskId, nil
		}
	}
	return 0, errors.New("tx data holds no MsgCreateTaskResponse")
}

// waitTask prints each state the task goes through and returns when it is final. onVerified,
// when not nil, runs once when the task is VERIFIED.
func waitTask(ctx context.Context, q computetypes.QueryClient, out io.Writer, id uint64, onVerified func(computetypes.Task) error) error {
	last := computetypes.TASK_STATE_UNSPECIFIED
	for {
		res, err := q.Task(ctx, &computetypes.QueryTaskRequest{TaskId: id})
		if err == nil && res.Task.State != last {
			t := res.Task
			last = t.State
			line := fmt.Sprintf("task %d %s", id, t.State)
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
			fmt.Fprintln(out, line)
			if t.State == computetypes.TASK_STATE_VERIFIED && onVerified != nil {
				if err := onVerified(t); err != nil {
					fmt.Fprintf(out, "task %d: %v\n", id, err)
				}
				onVerified = nil
			}
			if t.State.IsFinal() {
				if t.State != computetypes.TASK_STATE_COMPLETED {
					return fmt.Errorf("task %d ended %s: %s", id, t.State, t.Outcome)
				}
				return nil
			}
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("task %d still %s: %w", id, last, err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
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
			signer, err := newKeyringSigner(clientCtx)
			if err != nil {
				return err
			}
			res, err := computetypes.NewQueryClient(clientCtx).Task(cmd.Context(), &computetypes.QueryTaskRequest{TaskId: id})
			if err != nil {
				return err
			}
			r := res.Task.Result
			if r.Sha256 == "" {
				return fmt.Errorf("task %d is %s and has no result", id, res.Task.State)
			}
			if err := DownloadBlob(cmd.Context(), r.Uri, id, signer, r.Sha256, r.Size_, out); err != nil {
				return fmt.Errorf("task %d: %w", id, err)
			}
			summary, _ := json.Marshal(map[string]any{"task_id": id, "state": res.Task.State.String(), "sha256": r.Sha256, "size": r.Size_, "file": out})
			fmt.Fprintln(cmd.OutOrStdout(), string(summary))
			return nil
		},
	}
	cmd.Flags().String("out", "", "file to write the result to (required)")
	_ = cmd.MarkFlagRequired("out")
	flags.AddQueryFlagsToCmd(cmd)
	cmd.Flags().String(flags.FlagFrom, "", "the task's creator key: the provider serves the result to its creator only, once the verdict is in (required)")
	cmd.Flags().String(flags.FlagKeyringBackend, "", "keyring backend of --from (default: the home's client.toml)")
	_ = cmd.MarkFlagRequired(flags.FlagFrom)
	return cmd
}

// ErrBlobMismatch is a download whose size or sha256 is not the one on chain.
var ErrBlobMismatch = errors.New("downloaded blob does not match")

// DownloadBlob fetches uri into path, reading at most size+1 bytes, and keeps the file only if
// it is exactly size bytes with the given sha256. With a signer it reads as that reader of task.
func DownloadBlob(ctx context.Context, uri string, task uint64, signer blobauth.Signer, wantSHA string, size uint64, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".result-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = download(ctx, uri, task, signer, wantSHA, size, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// download streams the blob at uri into w, reading at most size+1 bytes, and says whether it
// was exactly size bytes with the given sha256.
func download(ctx context.Context, uri string, task uint64, signer blobauth.Signer, wantSHA string, size uint64, w io.Writer) error {
	resp, err := get(ctx, uri, task, signer)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: %s", uri, refusal(resp))
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(resp.Body, int64(size)+1))
	if err != nil {
		return fmt.Errorf("fetch %s: %w", uri, err)
	}
	if uint64(n) != size {
		return fmt.Errorf("%w: %s gave %d bytes or more, the chain says %d", ErrBlobMismatch, uri, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantSHA {
		return fmt.Errorf("%w: sha256 %s, the chain says %s", ErrBlobMismatch, got, wantSHA)
	}
	return nil
}

// get fetches uri, proving who reads it to the provider's blob server when signer is not nil
// (and asking again for a few seconds while the provider's node catches up with the verdict).
func get(ctx context.Context, uri string, task uint64, signer blobauth.Signer) (*http.Response, error) {
	if signer != nil {
		return blobauth.GetRetrying(ctx, http.DefaultClient, uri, task, signer, 5*time.Second)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// refusal is a non-OK answer with the server's reason.
func refusal(resp *http.Response) string {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return strings.TrimSpace(resp.Status + ": " + strings.TrimSpace(string(msg)))
}

// keyringSigner signs blob reads with a key of the client's keyring (the --from key).
type keyringSigner struct {
	kr   keyring.Keyring
	name string
	addr string
	pub  []byte
}

func newKeyringSigner(clientCtx client.Context) (keyringSigner, error) {
	if clientCtx.FromName == "" || clientCtx.Keyring == nil {
		return keyringSigner{}, errors.New("--from: the key of the task's creator is needed to read its result")
	}
	rec, err := clientCtx.Keyring.Key(clientCtx.FromName)
	if err != nil {
		return keyringSigner{}, fmt.Errorf("--from %s: %w", clientCtx.FromName, err)
	}
	pk, err := rec.GetPubKey()
	if err != nil {
		return keyringSigner{}, err
	}
	return keyringSigner{kr: clientCtx.Keyring, name: clientCtx.FromName, addr: sdk.AccAddress(pk.Address()).String(), pub: pk.Bytes()}, nil
}

func (s keyringSigner) Signer() string { return s.addr }
func (s keyringSigner) PubKey() []byte { return s.pub }
func (s keyringSigner) Sign(msg []byte) ([]byte, error) {
	sig, _, err := s.kr.Sign(s.name, msg, signing.SignMode_SIGN_MODE_DIRECT)
	return sig, err
}

// maxInputBytes is the largest gemm input: 16384 × 16384 int8.
const maxInputBytes = 16384 * 16384

// describeBlob fetches uri once to name it by sha256 and size for the task.
func describeBlob(ctx context.Context, uri string) (computetypes.Blob, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return computetypes.Blob{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return computetypes.Blob{}, fmt.Errorf("fetch %s: %w", uri, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return computetypes.Blob{}, fmt.Errorf("fetch %s: %s", uri, res.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(res.Body, maxInputBytes+1))
	if err != nil {
		return computetypes.Blob{}, fmt.Errorf("fetch %s: %w", uri, err)
	}
	if n > maxInputBytes {
		return computetypes.Blob{}, fmt.Errorf("%s: larger than the %d bytes an input can have", uri, maxInputBytes)
	}
	return computetypes.Blob{Uri: uri, Sha256: hex.EncodeToString(h.Sum(nil)), Size_: uint64(n)}, nil
}
