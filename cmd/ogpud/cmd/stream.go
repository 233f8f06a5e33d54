package cmd

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/spf13/cobra"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

const (
	flagModelURI           = "model-uri"
	flagModelSha256        = "model-sha256"
	flagModelSize          = "model-size"
	flagReplicas           = "replicas"
	flagMaxPricePerRequest = "max-price-per-request"
	flagDuration           = "duration"
	flagDeposit            = "deposit"
	flagState              = "state"
	flagCreator            = "creator"
	flagProvider           = "provider"
)

// defaultStreamWait is how long open-stream --wait follows a stream to LIVE.
const defaultStreamWait = 10 * time.Minute

// streamTxCommands are the client's stream txs: open, fund and close a stream.
func streamTxCommands() []*cobra.Command {
	open := &cobra.Command{
		Use:                        "open-stream",
		Short:                      "Open a stream: replicas serve a model to you for a duration; the workload is a subcommand",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	open.AddCommand(openInferStreamCmd())
	return []*cobra.Command{open, fundStreamCmd(), closeStreamCmd(), challengeResponseCmd()}
}

func openInferStreamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "infer-mlp-int8 --widths 784,128,10 --rows N --model-uri URI --replicas K --max-price-per-request PRICE --duration BLOCKS --deposit AMOUNT",
		Short: "Open an " + workload.InferMlpInt8V1 + " stream: K replicas answer your requests of at most N rows with the model at --model-uri",
		Long: `Open a stream (docs/streams.md) and lock --deposit (the budget for requests) + the committee fee
+ the security deposit in escrow. Providers subscribe during the subscription window; the K best
serve the model, the next ones stand by. Each request pays its replica its price, at most
--max-price-per-request, with a voucher you sign ('ogpud stream infer'). --model-sha256 and
--model-size describe the model blob; without them it is fetched once here for both, and its
widths are checked against --widths. With --wait the command follows the stream until it is LIVE
and prints its replicas.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			msg, err := openStreamFromFlags(cmd, clientCtx.GetFromAddress().String())
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
				return fmt.Errorf("--%s follows a broadcast stream: it cannot go with --%s or --%s", flagWait, flags.FlagGenerateOnly, flags.FlagDryRun)
			}
			timeout, _ := cmd.Flags().GetDuration(flagWaitTimeout)
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			c := ogpuclient.New(clientCtx, clientCtx.TxConfig, ogpuclient.WithChainID(clientCtx.ChainID))
			txf, err := tx.NewFactoryCLI(clientCtx, cmd.Flags())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			res, err := sendAndWait(ctx, c, txf, out, msg)
			if err != nil {
				return fmt.Errorf("open-stream: %w", err)
			}
			id, err := ogpuclient.OpenedStreamID(res)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "stream %d opened\n", id)
			s, err := c.WaitStream(ctx, id, ogpuclient.StreamIsLive)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, streamLine(s))
			return nil
		},
	}
	f := cmd.Flags()
	f.String(flagWidths, "", "the model's layer widths: the input width, then each layer's output, e.g. 784,128,10 (required)")
	f.Uint32(flagRows, 0, "the most rows one request may carry (required)")
	f.String(flagModelURI, "", "http(s) URI of the model blob the replicas load (required)")
	f.String(flagModelSha256, "", "sha256 of the model blob, lowercase hex (default: fetch the blob for it)")
	f.Uint64(flagModelSize, 0, "size of the model blob in bytes (with --model-sha256)")
	f.Uint32(flagReplicas, 1, "how many providers serve at once")
	f.String(flagMaxPricePerRequest, "", "the most a replica may ask per request, in aogpu (required)")
	f.Uint64(flagDuration, 0, "blocks the stream is served once live (required)")
	f.String(flagDeposit, "", "the budget for requests, in aogpu; the committee fee and security deposit are locked on top (required)")
	f.Uint64(flagMinVRAM, 0, "least GPU memory in MiB (0: any, CPU providers included)")
	f.String(flagGPUModel, "", "GPU model a provider must have, e.g. H100")
	f.Uint32(flagGPUCount, 0, "how many matching GPUs a provider must have")
	f.String(flagMinCC, "", "least CUDA compute capability, e.g. 8.0")
	f.Bool(flagWait, false, "follow the stream until it is LIVE and print its replicas")
	f.Duration(flagWaitTimeout, defaultStreamWait, "with --wait: give up after this long")
	for _, req := range []string{flagWidths, flagRows, flagModelURI, flagMaxPricePerRequest, flagDuration, flagDeposit} {
		_ = cmd.MarkFlagRequired(req)
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

func openStreamFromFlags(cmd *cobra.Command, creator string) (*computetypes.MsgOpenStream, error) {
	f := cmd.Flags()
	widthsStr, _ := f.GetString(flagWidths)
	rows, _ := f.GetUint32(flagRows)
	uri, _ := f.GetString(flagModelURI)
	sha, _ := f.GetString(flagModelSha256)
	size, _ := f.GetUint64(flagModelSize)
	replicas, _ := f.GetUint32(flagReplicas)
	priceStr, _ := f.GetString(flagMaxPricePerRequest)
	duration, _ := f.GetUint64(flagDuration)
	depositStr, _ := f.GetString(flagDeposit)
	minVRAM, _ := f.GetUint64(flagMinVRAM)
	gpuModel, _ := f.GetString(flagGPUModel)
	count, _ := f.GetUint32(flagGPUCount)
	minCC, _ := f.GetString(flagMinCC)

	widths, err := parseWidths(widthsStr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagWidths, err)
	}
	if err := mlp.ValidateWidths(uint32sToInts(widths)); err != nil {
		return nil, fmt.Errorf("--%s: %w", flagWidths, err)
	}
	model := computetypes.Blob{Uri: uri, Sha256: strings.ToLower(sha), Size_: size}
	if sha == "" {
		blob, data, err := ogpuclient.New(nil, nil).FetchBlob(cmd.Context(), uri, maxBlobBytes)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagModelURI, err)
		}
		m, err := mlp.DecodeModel(data)
		if err != nil {
			return nil, fmt.Errorf("--%s %s: %w", flagModelURI, uri, err)
		}
		if got := uint32s(m.Widths()); !slices.Equal(got, widths) {
			return nil, fmt.Errorf("--%s %v: the model at --%s has widths %v", flagWidths, widths, flagModelURI, got)
		}
		model = blob
	} else if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 {
		return nil, fmt.Errorf("--%s %q: want 64 hex digits", flagModelSha256, sha)
	} else if size == 0 {
		return nil, fmt.Errorf("--%s: give the model's size with its sha256", flagModelSize)
	}
	price, err := parseAogpu(priceStr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagMaxPricePerRequest, err)
	}
	deposit, err := parseAogpu(depositStr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagDeposit, err)
	}
	w := computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
		InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: widths, Rows: rows},
	}}
	return &computetypes.MsgOpenStream{
		Creator:  creator,
		Workload: w,
		Model:    model,
		Requirements: stakinggputypes.Requirements{
			Workload: w.Name, MinVramMib: minVRAM, GpuModel: gpuModel, GpuCount: count, MinComputeCapability: minCC,
		},
		Replicas:           replicas,
		MaxPricePerRequest: price,
		Duration:           duration,
		Deposit:            deposit,
	}, nil
}

func fundStreamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fund-stream [id] [amount]",
		Short: "Add to your stream's budget; its committee fee and security deposit grow in proportion, and a PAUSED stream that can pay again goes LIVE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			id, err := parseStreamID(args[0])
			if err != nil {
				return err
			}
			amount, err := parseAogpu(args[1])
			if err != nil {
				return fmt.Errorf("amount: %w", err)
			}
			msg := &computetypes.MsgFundStream{Creator: clientCtx.GetFromAddress().String(), StreamId: id, Amount: amount}
			if err := msg.ValidateBasic(); err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

func closeStreamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "close-stream [id]",
		Short: "Close your stream early: replicas keep the reveal window to redeem their vouchers, then the rest of the escrow comes back",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			id, err := parseStreamID(args[0])
			if err != nil {
				return err
			}
			msg := &computetypes.MsgCloseStream{Creator: clientCtx.GetFromAddress().String(), StreamId: id}
			if err := msg.ValidateBasic(); err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

const (
	flagReceipt   = "receipt"
	flagInputURI  = "input-uri"
	flagOutputURI = "output-uri"
)

func challengeResponseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "challenge-response --receipt FILE --input-uri URI --output-uri URI",
		Short: "Challenge a response of your stream you believe wrong: its signed receipt becomes a check task, whose committee fee you pay",
		Long: `Send MsgChallengeResponse: the replica's signed receipt of a response, with http(s) URIs where
the request's rows blob (--input-uri) and the response's result (--output-uri) are served (their
sha256 and sizes are the receipt's). --receipt is a file holding one JSON object as 'ogpud stream
infer --json' prints it (its receipt_bytes and receipt_signature are what is sent). The check is
judged as a sampled one: a wrong response slashes and jails the replica and refunds you what it
claimed in that period.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			path, _ := f.GetString(flagReceipt)
			inURI, _ := f.GetString(flagInputURI)
			outURI, _ := f.GetString(flagOutputURI)
			receipt, sig, err := readReceiptFile(path)
			if err != nil {
				return fmt.Errorf("--%s %s: %w", flagReceipt, path, err)
			}
			msg := &computetypes.MsgChallengeResponse{
				Creator: clientCtx.GetFromAddress().String(), Receipt: receipt, Signature: sig, InputUri: inURI, OutputUri: outURI,
			}
			if err := msg.ValidateBasic(); err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	f := cmd.Flags()
	f.String(flagReceipt, "", "file of the response's JSON as 'ogpud stream infer --json' prints it (required)")
	f.String(flagInputURI, "", "http(s) URI of the request's rows blob (required)")
	f.String(flagOutputURI, "", "http(s) URI of the response's result (required)")
	for _, req := range []string{flagReceipt, flagInputURI, flagOutputURI} {
		_ = cmd.MarkFlagRequired(req)
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// readReceiptFile reads the receipt and its signature from a response's JSON.
func readReceiptFile(path string) (computetypes.Receipt, []byte, error) {
	var r computetypes.Receipt
	b, err := os.ReadFile(path)
	if err != nil {
		return r, nil, err
	}
	var res struct {
		Receipt   string `json:"receipt_bytes"`
		Signature string `json:"receipt_signature"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return r, nil, fmt.Errorf("want the JSON object of one response: %w", err)
	}
	rb, err := base64.StdEncoding.DecodeString(res.Receipt)
	if err != nil || len(rb) == 0 {
		return r, nil, errors.New("receipt_bytes: want the base64 of the receipt")
	}
	if err := r.Unmarshal(rb); err != nil {
		return r, nil, fmt.Errorf("receipt_bytes: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(res.Signature)
	if err != nil || len(sig) == 0 {
		return r, nil, errors.New("receipt_signature: want the base64 of the replica's signature")
	}
	return r, sig, nil
}

// streamQueryCommands are stream and streams.
func streamQueryCommands() []*cobra.Command {
	one := &cobra.Command{
		Use:   "stream [id]",
		Short: "Show a stream: its escrow, replicas, standbys, subscriptions and receipt commitments",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := parseStreamID(args[0])
			if err != nil {
				return err
			}
			res, err := ogpuclient.New(clientCtx, clientCtx.TxConfig).StreamDetail(cmd.Context(), id)
			if err != nil {
				return err
			}
			return clientCtx.PrintProto(res)
		},
	}
	flags.AddQueryFlagsToCmd(one)

	list := &cobra.Command{
		Use:   "streams",
		Short: "List streams by --state, --creator or --provider (a serving replica)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			stateStr, _ := f.GetString(flagState)
			creator, _ := f.GetString(flagCreator)
			provider, _ := f.GetString(flagProvider)
			state, err := parseStreamState(stateStr)
			if err != nil {
				return err
			}
			all, err := ogpuclient.New(clientCtx, clientCtx.TxConfig).Streams(cmd.Context(), &computetypes.QueryStreamsRequest{State: state, Creator: creator, Provider: provider})
			if err != nil {
				return err
			}
			return clientCtx.PrintProto(&computetypes.QueryStreamsResponse{Streams: all})
		},
	}
	list.Flags().String(flagState, "", "open, live, paused or closed (default: any)")
	list.Flags().String(flagCreator, "", "the account that opened the stream")
	list.Flags().String(flagProvider, "", "the account of a serving replica")
	flags.AddQueryFlagsToCmd(list)
	return []*cobra.Command{one, list}
}

func parseStreamID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stream id %q: want a number", s)
	}
	return id, nil
}

// parseStreamState reads "live" or "STREAM_STATE_LIVE"; "" is any state.
func parseStreamState(s string) (computetypes.StreamState, error) {
	if s == "" {
		return computetypes.STREAM_STATE_UNSPECIFIED, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "STREAM_STATE_") {
		name = "STREAM_STATE_" + name
	}
	v, ok := computetypes.StreamState_value[name]
	if !ok || v == 0 {
		return 0, fmt.Errorf("--%s %q: want open, live, paused or closed", flagState, s)
	}
	return computetypes.StreamState(v), nil
}

// streamLine is how --wait prints a stream.
func streamLine(s computetypes.Stream) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stream %d %s from height %d to %d; budget %s aogpu, each slot's share %s", s.Id, s.State, s.LiveHeight, s.EndHeight, s.Budget, s.SlotShare())
	for _, r := range s.Serving {
		fmt.Fprintf(&b, "\n  slot %d: %s at %s aogpu per request, %s", r.Slot, r.Provider, r.Price, r.Endpoint)
	}
	for i, sb := range s.Standbys {
		fmt.Fprintf(&b, "\n  standby %d: %s at %s aogpu per request", i+1, sb.Provider, sb.Price)
	}
	return b.String()
}

func uint32sToInts(v []uint32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}
