package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/app"
	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/client/stream"
	"github.com/opengpu/ogpu/gpu/cuda"
	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// StreamResult is what the stream benchmark (`ogpud bench --only stream`) measures: requests of
// one row through a 1-replica stream (vouchers, signatures, receipts checked) against plain HTTP
// POSTs of the same rows to a server in the bench process, and the chain's bytes per request.
type StreamResult struct {
	Widths   []int  `json:"widths"`
	Clients  int    `json:"clients"`
	Requests int    `json:"requests"`
	Executor string `json:"executor"`

	// Stream path: Response.Latency (from sending the request to the whole response, the
	// voucher's and request's signatures made before), and a caller's whole Infer (signing and
	// the wait for the replica, which takes one request of a client at a time, included).
	StreamP50Ms     float64 `json:"stream_p50_ms"`
	StreamP99Ms     float64 `json:"stream_p99_ms"`
	StreamCallP50Ms float64 `json:"stream_call_p50_ms"`
	StreamCallP99Ms float64 `json:"stream_call_p99_ms"`
	StreamPerSec    float64 `json:"stream_requests_per_second"`
	StreamFailed    int     `json:"stream_failed"`
	// Plain path: POST of the rows blob to a handler that runs the model, same clients.
	PlainP50Ms   float64 `json:"plain_p50_ms"`
	PlainP99Ms   float64 `json:"plain_p99_ms"`
	PlainPerSec  float64 `json:"plain_requests_per_second"`
	LatencyRatio float64 `json:"stream_over_plain_p50"`
	PerSecRatio  float64 `json:"stream_over_plain_requests_per_second"`

	// On chain, from the stream's live height to the end of the wait for its settlement.
	StreamID       uint64   `json:"stream_id"`
	Price          string   `json:"price_per_request"` // aogpu, the replica's subscription
	ReceiptPeriod  uint64   `json:"receipt_period_blocks"`
	LiveHeight     int64    `json:"live_height"`
	LastHeight     int64    `json:"last_height"`
	RunPeriods     []uint64 `json:"run_periods"`
	Paid           int      `json:"paid_requests"` // the warm-up's and the run's
	Settled        bool     `json:"settled"`
	SettleWait     string   `json:"settle_wait"`
	OpenBytes      int      `json:"open_bytes"`
	SubscribeBytes int      `json:"subscribe_bytes"`
	Commit         TxKind   `json:"commit_receipts"`
	Reveal         TxKind   `json:"reveal_samples"`
	Claim          TxKind   `json:"claim_stream"`
	// BytesPer1000 is commitments, reveals and claims over the paid requests, per 1,000.
	BytesPer1000 float64 `json:"bytes_per_1000_requests"`
}

// TxKind counts the txs of one kind of stream message and their bytes.
type TxKind struct {
	Txs   int `json:"txs"`
	Bytes int `json:"bytes"`
}

// streamWidths is MNIST's shape, the model every request runs.
var streamWidths = []int{784, 128, 10}

// streamMaxPrice is what a request may cost: 10× the dev provider's least price (1e15 aogpu),
// which is what a request of one row of streamWidths comes to.
var streamMaxPrice = sdkmath.NewInt(10_000_000_000_000_000)

// StreamBench opens a stream of a 784-128-10 model on a fresh dev chain in home, served by the
// dev home's sidecar, and measures clients concurrent clients sending requests requests of one
// row through it, against the same through plain HTTP; then it waits for the replica to commit,
// reveal and claim the run and counts the bytes those txs took.
func StreamBench(ctx context.Context, env Env, home string, clients, requests int) (StreamResult, error) {
	res := StreamResult{Widths: streamWidths, Clients: clients, Requests: requests}
	model := mlp.RandomModel(11, streamWidths)
	modelBytes := model.Encode()
	blobs := make([][]byte, requests)
	for i := range blobs {
		blobs[i] = mlp.EncodeRows(gemm.Generate(uint64(100+i), 1, streamWidths[0]), 1, streamWidths[0])
	}
	// one transport for both paths, with a connection kept for every client
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients + 2}}
	defer hc.CloseIdleConnections()

	c, err := startDevChain(ctx, env, home)
	if err != nil {
		return res, err
	}
	defer c.close()
	// the dev home's sidecar: its provider key serves the stream, its validator checks samples
	if _, err := c.ps.start(env.Binary, home, "127.0.0.1", filepath.Join(home, "sidecar.log"), "sidecar", "--home", home); err != nil {
		return res, err
	}

	if err := c.waitProvider(ctx); err != nil {
		return res, err
	}
	names, _, err := c.newAccounts(ctx, "streamer", 1, streamMaxPrice.MulRaw(int64(2*(requests+streamWarmUpAllowance))).Add(sdkmath.NewInt(10).Mul(oneOGPU)))
	if err != nil {
		return res, err
	}
	from := names[0]

	// the baseline first, on the running chain and sidecar, before the stream adds its own work
	exec, name := streamExecutor()
	if e, ok := exec.(*cuda.Executor); ok {
		defer e.Close()
	}
	res.Executor = name
	plain, err := plainRun(ctx, hc, model, exec, blobs, clients)
	if err != nil {
		return res, fmt.Errorf("plain path: %w", err)
	}
	res.PlainP50Ms, res.PlainP99Ms, res.PlainPerSec = plain.p50, plain.p99, plain.perSec

	modelSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(modelBytes) }))
	defer modelSrv.Close()
	openHeight, live, err := c.openStream(ctx, from, modelSrv.URL, modelBytes, requests)
	if err != nil {
		return res, err
	}
	res.StreamID, res.LiveHeight = live.Id, live.LiveHeight
	if len(live.Serving) > 0 {
		res.Price = live.Serving[0].Price.String()
	}
	s, err := stream.New(ctx, c.cl, c.kr, from, live.Id, stream.WithHTTPClient(hc), stream.WithModel(modelBytes))
	if err != nil {
		return res, err
	}
	warm, owed, err := streamWarmUp(ctx, s, blobs[0])
	if err != nil {
		return res, err
	}
	run, err := streamRun(ctx, s, blobs, clients)
	if err != nil {
		return res, fmt.Errorf("stream path: %w", err)
	}
	res.StreamP50Ms, res.StreamP99Ms, res.StreamPerSec = run.p50, run.p99, run.perSec
	res.StreamCallP50Ms, res.StreamCallP99Ms, res.StreamFailed = run.callP50, run.callP99, run.failed
	res.LatencyRatio, res.PerSecRatio = res.StreamP50Ms/res.PlainP50Ms, res.StreamPerSec/res.PlainPerSec
	res.Paid = warm + requests - run.failed
	if run.owed.GT(owed) {
		owed = run.owed
	}

	params, err := computetypes.NewQueryClient(c.cl.Conn()).Params(ctx, &computetypes.QueryParamsRequest{})
	if err != nil {
		return res, err
	}
	res.ReceiptPeriod = params.Params.Stream.ReceiptPeriod
	// the periods of every paid request's receipt, the warm-up's included
	first, last := int64(0), int64(0)
	for _, r := range s.Receipts() {
		if h := r.Receipt.Height; first == 0 || h < first {
			first = h
		}
		last = max(last, r.Receipt.Height)
	}
	for p := live.Period(first, res.ReceiptPeriod); p <= live.Period(last, res.ReceiptPeriod); p++ {
		res.RunPeriods = append(res.RunPeriods, p)
	}
	// at most a period for the claim and a commitment's, a draw's and a reveal's windows, twice
	bound := time.Duration(2*(res.ReceiptPeriod+2*params.Params.Stream.RevealWindow+2)) * time.Second
	res.Settled, res.SettleWait = c.waitSettled(ctx, live, res.ReceiptPeriod, res.RunPeriods, owed, bound)

	if res.LastHeight, err = waitHeight(ctx, c.rpc, 0, time.Minute); err != nil {
		return res, err
	}
	if err := c.streamTxBytes(ctx, &res, openHeight); err != nil {
		return res, err
	}
	if res.Paid > 0 {
		res.BytesPer1000 = float64(res.Commit.Bytes+res.Reveal.Bytes+res.Claim.Bytes) * 1000 / float64(res.Paid)
	}
	return res, nil
}

// streamWarmUpAllowance is the requests the deposit pays beyond the run: the warm-up's.
const streamWarmUpAllowance = 200

// streamExecutor is the executor the dev sidecar picks ("auto"): CUDA when a GPU is usable,
// else the CPU.
func streamExecutor() (gemm.Executor, string) {
	if e, err := cuda.Open(); err == nil {
		return e, e.Name()
	}
	return gemm.CPU{}, gemm.CPU{}.Name()
}

// waitProvider waits until the dev provider's sidecar serves at its registered endpoint (a
// stream nobody subscribes to closes at the end of its subscribe window) and has calibrated its
// executor (which takes the CPU a while at start, and would weigh on the plain path's run).
func (c *devChain) waitProvider(ctx context.Context) error {
	addr, err := address(c.kr, "provider")
	if err != nil {
		return err
	}
	p, err := c.cl.Provider(ctx, addr.String())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(p.Endpoint + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if calibrated(body) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				return nil // serving, without a measure of its executor: bids wait, streams do not
			}
			return fmt.Errorf("the dev provider's sidecar at %s never served: %w", p.Endpoint, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// calibrated says whether a sidecar's metrics hold a measure of its executor's speed.
func calibrated(metrics []byte) bool {
	for _, line := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(line, "ogpu_sidecar_executor_gmacs "); ok {
			g, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && g > 0
		}
	}
	return false
}

// openStream has from open a 1-replica stream of the model served at modelURL, with a deposit
// for requests and the warm-up at the maximum price, and waits until it is LIVE. It returns
// the height of the open and the stream.
func (c *devChain) openStream(ctx context.Context, from, modelURL string, model []byte, requests int) (int64, computetypes.Stream, error) {
	creator, err := address(c.kr, from)
	if err != nil {
		return 0, computetypes.Stream{}, err
	}
	widths := make([]uint32, len(streamWidths))
	for i, w := range streamWidths {
		widths[i] = uint32(w)
	}
	sum := sha256.Sum256(model)
	msg := &computetypes.MsgOpenStream{
		Creator: creator.String(),
		Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: widths, Rows: 1},
		}},
		Model:              computetypes.Blob{Uri: modelURL + "/model.bin", Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(model))},
		Requirements:       stakinggputypes.Requirements{Workload: workload.InferMlpInt8V1},
		Replicas:           1,
		MaxPricePerRequest: sdk.NewCoin(app.BaseDenom, streamMaxPrice),
		Duration:           3600,
		Deposit:            sdk.NewCoin(app.BaseDenom, streamMaxPrice.MulRaw(int64(requests+streamWarmUpAllowance))),
	}
	txRes, err := c.cl.SendAndWait(ctx, c.cl.TxFactory(c.kr, from), msg)
	if err != nil {
		return 0, computetypes.Stream{}, fmt.Errorf("open stream: %w", err)
	}
	id, err := ogpuclient.OpenedStreamID(txRes)
	if err != nil {
		return 0, computetypes.Stream{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := c.cl.WaitStream(wctx, id, ogpuclient.StreamIsLive)
	return txRes.Height, st, err
}

// streamWarmUp sends blob until the replica answers it: a replica serves once its sidecar has
// seen the stream go LIVE and loaded the model, a block or two after. It returns the requests
// answered and the last voucher's total.
func streamWarmUp(ctx context.Context, s *stream.Stream, blob []byte) (int, sdkmath.Int, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := s.InferBlob(rctx, blob)
		cancel()
		if err == nil {
			// a few more, so the run starts on a connection and a replica already warm
			n, last := 1, r.Voucher.Total
			for range 9 {
				if r, err = s.InferBlob(ctx, blob); err != nil {
					return n, last, fmt.Errorf("warm-up: %w", err)
				}
				n, last = n+1, r.Voucher.Total
			}
			return n, last, nil
		}
		if time.Now().After(deadline) {
			return 0, sdkmath.ZeroInt(), fmt.Errorf("no replica of stream %d serves: %w", s.ID(), err)
		}
		select {
		case <-ctx.Done():
			return 0, sdkmath.ZeroInt(), ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// pathRun is one path's figures over a run.
type pathRun struct {
	p50, p99         float64 // ms
	callP50, callP99 float64 // ms, the stream path's whole Infer
	perSec           float64
	failed           int
	owed             sdkmath.Int // the stream path's last voucher's total
}

// concurrently sends every blob once, from clients goroutines, and returns the wall time.
func concurrently(blobs [][]byte, clients int, send func(blob []byte)) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(blobs)); i = next.Add(1) - 1 {
				send(blobs[i])
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// millis is the p-th percentile of d in milliseconds.
func millis(d []time.Duration, p float64) float64 {
	ns := make([]int64, len(d))
	for i, v := range d {
		ns[i] = int64(v)
	}
	slices.Sort(ns)
	return float64(percentile(ns, p)) / 1e6
}

// plainRun serves the model from a handler in this process that decodes the rows blob, runs
// the model on exec and returns the result bytes, and POSTs every blob to it.
func plainRun(ctx context.Context, hc *http.Client, model *mlp.Model, exec gemm.Executor, blobs [][]byte, clients int) (pathRun, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		x, rows, _, err := mlp.DecodeRows(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out bytes.Buffer
		out.Grow(int(mlp.ResultSize(model.Widths(), rows)))
		if err := mlp.Infer(exec, model, x, rows, &out); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(out.Bytes())
	}))
	defer srv.Close()
	want := int(mlp.ResultSize(model.Widths(), 1))
	post := func(blob []byte) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/infer", bytes.NewReader(blob))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		elapsed := time.Since(start)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK || len(body) != want {
			return 0, fmt.Errorf("status %d, %d bytes, want %d", resp.StatusCode, len(body), want)
		}
		return elapsed, nil
	}
	for range 2 * clients { // warm: connections open, the model's pages in
		if _, err := post(blobs[0]); err != nil {
			return pathRun{}, err
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var errs []error
	wall := concurrently(blobs, clients, func(blob []byte) {
		d, err := post(blob)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		lat = append(lat, d)
	})
	if len(errs) > 0 {
		return pathRun{}, fmt.Errorf("%d of %d requests failed, the first: %w", len(errs), len(blobs), errs[0])
	}
	return pathRun{p50: millis(lat, 50), p99: millis(lat, 99), perSec: float64(len(blobs)) / wall.Seconds()}, nil
}

// streamRun sends every blob through s, each response's voucher, signature and receipt checked
// by the client.
func streamRun(ctx context.Context, s *stream.Stream, blobs [][]byte, clients int) (pathRun, error) {
	var mu sync.Mutex
	var lat, calls []time.Duration
	var errs []error
	run := pathRun{owed: sdkmath.ZeroInt()}
	wall := concurrently(blobs, clients, func(blob []byte) {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		start := time.Now()
		r, err := s.InferBlob(rctx, blob)
		call := time.Since(start)
		cancel()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		lat, calls = append(lat, r.Latency), append(calls, call)
		if r.Voucher.Total.GT(run.owed) {
			run.owed = r.Voucher.Total
		}
	})
	if len(lat) == 0 {
		return run, fmt.Errorf("every request failed, the first: %w", errs[0])
	}
	run.failed = len(errs)
	run.p50, run.p99 = millis(lat, 50), millis(lat, 99)
	run.callP50, run.callP99 = millis(calls, 50), millis(calls, 99)
	run.perSec = float64(len(lat)) / wall.Seconds()
	return run, nil
}

// waitSettled polls the stream until the replica has committed every period of periods (and
// revealed its samples) and claimed owed, or bound passes; it says which, and what was missing.
func (c *devChain) waitSettled(ctx context.Context, live computetypes.Stream, receiptPeriod uint64, periods []uint64, owed sdkmath.Int, bound time.Duration) (bool, string) {
	start := time.Now()
	settled := map[uint64]bool{}
	var missing string
	for {
		if d, err := c.cl.StreamDetail(ctx, live.Id); err == nil {
			held := map[uint64]computetypes.ReceiptCommitment{}
			for _, cm := range d.Commitments {
				held[cm.Period] = cm
			}
			h, _, _ := c.cl.LatestBlock(ctx)
			latest := live.Period(h, receiptPeriod)
			missing = ""
			for _, p := range periods {
				cm, ok := held[p]
				switch {
				case ok && cm.CommittedHeight != 0 && (cm.Revealed || cm.Count == 0 || (cm.SampledHeight > 0 && len(cm.Samples) == 0)):
					settled[p] = true
				case !ok && p+3 <= latest:
					// the query holds every commitment still pending, and the last 3 periods'
					settled[p] = true
				}
				if !settled[p] {
					missing += fmt.Sprintf(" period %d not committed and revealed;", p)
				}
			}
			if claimed := d.Stream.Claimed; claimed.IsNil() || !claimed.Equal(owed) {
				missing += fmt.Sprintf(" claimed %s of %s;", d.Stream.Claimed, owed)
			}
			if missing == "" {
				return true, fmt.Sprintf("%.0f s", time.Since(start).Seconds())
			}
		}
		if time.Since(start) > bound {
			return false, fmt.Sprintf("gave up after %s:%s", bound, missing)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err().Error()
		case <-time.After(time.Second):
		}
	}
}

// streamTxBytes sums the sizes of the txs carrying the stream's messages in blocks from the
// open to res.LastHeight, decoded with the app's tx decoder.
func (c *devChain) streamTxBytes(ctx context.Context, res *StreamResult, openHeight int64) error {
	decode := c.cl.TxConfig().TxDecoder()
	for h := openHeight; h <= res.LastHeight; h++ {
		blk, err := c.rpc.Block(ctx, &h)
		if err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
		for _, raw := range blk.Block.Txs {
			tx, err := decode(raw)
			if err != nil {
				continue // not a tx of the app's (none is in this chain's blocks but its own)
			}
			for _, m := range tx.GetMsgs() {
				kind := (*TxKind)(nil)
				switch m := m.(type) {
				case *computetypes.MsgOpenStream: // the only stream this chain has
					res.OpenBytes += len(raw)
				case *computetypes.MsgSubscribe:
					if m.StreamId == res.StreamID {
						res.SubscribeBytes += len(raw)
					}
				case *computetypes.MsgCommitReceipts:
					if m.StreamId == res.StreamID && h >= res.LiveHeight {
						kind = &res.Commit
					}
				case *computetypes.MsgRevealSamples:
					if m.StreamId == res.StreamID && h >= res.LiveHeight {
						kind = &res.Reveal
					}
				case *computetypes.MsgClaimStream:
					if m.Voucher.StreamId == res.StreamID && h >= res.LiveHeight {
						kind = &res.Claim
					}
				}
				if kind != nil {
					kind.Txs++
					kind.Bytes += len(raw)
					break // a tx is counted once, by its first stream message
				}
			}
		}
	}
	return nil
}

// streamLatencyBound is the most a stream request's p50 may take against a plain POST of the
// same rows: what vouchers, signatures and receipts may add.
const streamLatencyBound = 1.2

// rows are the stream part's rows of the table.
func (s *StreamResult) rows() []Row {
	shape := fmt.Sprintf("widths %v, 1 row a request, %d clients, %d requests, executor %s", s.Widths, s.Clients, s.Requests, s.Executor)
	failed := ""
	if s.StreamFailed > 0 {
		failed = fmt.Sprintf(", %d failed", s.StreamFailed)
	}
	chain := fmt.Sprintf("%.0f B / 1,000 requests (%d paid; commit %d txs %d B, reveal %d txs %d B, claim %d txs %d B)",
		s.BytesPer1000, s.Paid, s.Commit.Txs, s.Commit.Bytes, s.Reveal.Txs, s.Reveal.Bytes, s.Claim.Txs, s.Claim.Bytes)
	if !s.Settled {
		chain += "; not settled: " + s.SettleWait
	}
	return []Row{
		{
			ID: "stream-latency", Figure: "Stream request through a 1-replica stream (voucher, signatures, receipt checked; Response.Latency) against a plain HTTP POST of the same rows to the same model, " + shape,
			Measured: fmt.Sprintf("p50 %.2f ms, p99 %.2f ms%s", s.StreamP50Ms, s.StreamP99Ms, failed),
			Baseline: fmt.Sprintf("p50 %.2f ms, p99 %.2f ms", s.PlainP50Ms, s.PlainP99Ms),
			Ratio:    s.LatencyRatio, Target: fmt.Sprintf("≤ %.1f", streamLatencyBound), Met: met(s.StreamFailed == 0 && s.LatencyRatio <= streamLatencyBound),
		},
		{
			ID: "stream-throughput", Figure: "Stream requests/s against plain POSTs/s (a client sends one request at a time to a replica; a caller's whole Infer in brackets), " + shape,
			Measured: fmt.Sprintf("%.0f req/s (Infer p50 %.2f ms, p99 %.2f ms)", s.StreamPerSec, s.StreamCallP50Ms, s.StreamCallP99Ms),
			Baseline: fmt.Sprintf("%.0f req/s", s.PlainPerSec),
			Ratio:    s.PerSecRatio,
		},
		{
			ID: "stream-chain-bytes", Figure: fmt.Sprintf("Stream txs on chain (commitments, reveals, claims) from the live height to the run's settlement, per 1,000 paid requests, receipt_period %d blocks", s.ReceiptPeriod),
			Measured: chain,
			Baseline: fmt.Sprintf("once: open %d B, subscription %d B", s.OpenBytes, s.SubscribeBytes),
		},
	}
}
