package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/client/stream"
	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/testutil/network"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// streamWidths is the model every stream of these tests serves: small, so that thousands of
// requests take seconds.
var streamWidths = []int{64, 32, 10}

// streamRows is the most rows one request carries.
const streamRows = 4

// minRequestPrice is the testnet providers' least price, which a request of streamWidths costs.
var minRequestPrice = sdkmath.NewInt(1_000_000_000_000_000)

// modelServer serves the model blob over HTTP as a client would, and returns its blob.
func modelServer(t *testing.T) (computetypes.Blob, []byte) {
	t.Helper()
	model := mlp.RandomModel(7, streamWidths).Encode()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(model) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(model)
	return computetypes.Blob{Uri: srv.URL + "/model.bin", Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(model))}, model
}

// openStream has key of home open a stream of the model with replicas replicas for duration
// blocks and waits until it is LIVE.
func openStream(l *network.Network, home, key string, model computetypes.Blob, replicas uint32, maxPrice, deposit sdkmath.Int, duration uint64) computetypes.Stream {
	l.T.Helper()
	widths := make([]uint32, len(streamWidths))
	for i, w := range streamWidths {
		widths[i] = uint32(w)
	}
	msg := &computetypes.MsgOpenStream{
		Creator: l.KeyAddr(home, key),
		Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: widths, Rows: streamRows},
		}},
		Model:              model,
		Requirements:       stakinggputypes.Requirements{Workload: workload.InferMlpInt8V1},
		Replicas:           replicas,
		MaxPricePerRequest: aogpu(maxPrice),
		Duration:           duration,
		Deposit:            aogpu(deposit),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id, err := l.Client().OpenStream(ctx, l.TxFactory(home, key), msg)
	require.NoError(l.T, err)
	st, err := l.Client().WaitStream(ctx, id, client.StreamIsLive)
	require.NoError(l.T, err)
	return st
}

// waitStream waits until cond holds for stream id.
func waitStream(l *network.Network, id uint64, timeout time.Duration, cond func(computetypes.Stream) bool) computetypes.Stream {
	l.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := l.Client().WaitStream(ctx, id, cond)
	require.NoError(l.T, err)
	return st
}

// warmUp sends one request to s until a replica answers it: a replica starts serving when its
// sidecar has seen the stream go LIVE and loaded the model, a block or two after.
func warmUp(t *testing.T, s *stream.Stream) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.Infer(ctx, requestRows(5, 1))
		cancel()
		if err == nil {
			return
		}
		require.True(t, time.Now().Before(deadline), "no replica of stream %d serves: %v", s.ID(), err)
		time.Sleep(500 * time.Millisecond)
	}
}

// pollStream waits until cond holds for stream id, through its close and settlement.
func pollStream(l *network.Network, id uint64, timeout time.Duration, cond func(computetypes.Stream) bool) computetypes.Stream {
	l.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := l.Client().Stream(ctx, id)
		cancel()
		if err == nil && cond(st) {
			return st
		}
		require.True(l.T, time.Now().Before(deadline), "stream %d: %+v, %v", id, st, err)
		time.Sleep(300 * time.Millisecond)
	}
}

// requestRows are the rows of one request, drawn from seed.
func requestRows(seed uint64, rows int) [][]int8 {
	x := gemm.Generate(seed, rows, streamWidths[0])
	out := make([][]int8, rows)
	for i := range out {
		out[i] = x[i*streamWidths[0] : (i+1)*streamWidths[0]]
	}
	return out
}

func servingProviders(st computetypes.Stream) []string {
	out := make([]string, len(st.Serving))
	for i, r := range st.Serving {
		out[i] = r.Provider
	}
	return out
}

// checkTasksOf are the check tasks of stream id.
func checkTasksOf(l *network.Network, creator string, id uint64) []computetypes.Task {
	var out []computetypes.Task
	for _, tk := range l.TasksOf(creator) {
		if tk.StreamId == id {
			out = append(out, tk)
		}
	}
	return out
}

// load sends requests to s from workers goroutines until stop is closed or n requests were
// answered (n = 0: no limit); it returns the answered count and every error.
func load(s *stream.Stream, workers, n int, stop <-chan struct{}, seed uint64) (int64, []error) {
	var answered, next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1)
				if n > 0 && i > int64(n) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := s.Infer(ctx, requestRows(seed+uint64(i), 1+int(i)%streamRows))
				cancel()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					if errors.Is(err, stream.ErrWrongResponse) || len(errs) > 20 {
						return
					}
					continue
				}
				answered.Add(1)
			}
		})
	}
	wg.Wait()
	return answered.Load(), errs
}

// TestStreams drives streams on the local network with real sidecars: three providers
// subscribe, two serve and one stands by; clients send thousands of requests paid by vouchers;
// a replica is killed and replaced; a replica that corrupts one answer in twenty is caught by
// sampling; a stream that runs out of funds pauses and closes with its books balanced.
func TestStreams(t *testing.T) {
	l := network.New(t, network.Config{ChainID: "ogpu-stream-1", StartArgs: []string{"--sidecar.embedded"}, Providers: 3,
		Genesis: func(app map[string]any) {
			s := app["compute"].(map[string]any)["params"].(map[string]any)["stream"].(map[string]any)
			s["subscribe_window"] = "3"
			s["receipt_period"] = "5"
			s["stream_samples"] = 16
			s["reveal_window"] = "4"
			s["probe_period"] = "3"
			s["max_probe_failures"] = 2
			s["stream_grace_blocks"] = "8"
		}})
	model, modelBytes := modelServer(t)
	providers := []string{l.KeyAddr(l.Homes[0], "provider"), l.KeyAddr(l.Homes[1], "provider"), l.KeyAddr(l.Homes[2], "provider")}
	kr := l.Keyring(l.Homes[0])
	clientName := "streamer"
	network.Run(t, l.Bin, "keys", "add", clientName, "--home", l.Homes[0], "--output", "json")
	creator := l.KeyAddr(l.Homes[0], clientName)
	l.MustSend(l.Homes[0], "validator", multiSend(l.Addr(0), ogpu(1_000), creator))
	checkBooks(l)

	var live computetypes.Stream
	var s *stream.Stream
	t.Run("four clients send 2,000 requests to a 2-replica stream, every response checks, samples are checked and replicas paid", func(t *testing.T) {
		live = openStream(l, l.Homes[0], clientName, model, 2, minRequestPrice.MulRaw(10), ogpu(20), 400)
		require.Len(t, live.Serving, 2)
		require.Len(t, live.Standbys, 1, "three subscribed: the third stands by")
		for _, p := range servingProviders(live) {
			require.Contains(t, providers, p)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		s, err = stream.New(ctx, l.Client(), kr, clientName, live.Id, stream.WithModel(modelBytes), stream.WithSpotCheck(1))
		require.NoError(t, err)
		answered, errs := load(s, 4, 2000, nil, 1)
		require.Empty(t, errs)
		require.EqualValues(t, 2000, answered, "every response came back and its spot-check passed")
		served := map[string]int{}
		for _, r := range s.Receipts() {
			served[r.Receipt.Provider]++
		}
		require.Len(t, served, 2, "both replicas served: %v", served)

		// the replicas commit their receipts, the committee checks the samples, the replicas
		// redeem their vouchers
		st := waitStream(l, live.Id, 2*time.Minute, func(st computetypes.Stream) bool {
			return st.Claimed.IsPositive() && len(checkTasksOf(l, creator, live.Id)) > 0
		})
		require.Equal(t, computetypes.STREAM_STATE_LIVE, st.State)
		for _, tk := range checkTasksOf(l, creator, live.Id) {
			tk = l.WaitFinal(tk.Id, 2*time.Minute)
			require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, "check task %d: %s", tk.Id, tk.Outcome)
		}
		checkBooks(l)
	})

	t.Run("a replica killed mid-stream: clients fail over and lose no request, probes replace it and the standby serves", func(t *testing.T) {
		require.NotNil(t, s)
		stop := make(chan struct{})
		type result struct {
			n    int64
			errs []error
		}
		done := make(chan result)
		go func() {
			n, errs := load(s, 4, 0, stop, 1_000_000)
			done <- result{n, errs}
		}()
		time.Sleep(2 * time.Second)
		victim := live.Serving[0].Provider
		standby := live.Standbys[0].Provider
		killed := l.Providers[slices.Index(providers, victim)]
		bondedBefore, _ := providerOf(l, victim)
		killed.Kill(t)
		from := l.Up()
		h0, err := from.Status(context.Background())
		require.NoError(t, err)

		st := waitStream(l, live.Id, 3*time.Minute, func(st computetypes.Stream) bool {
			return slices.Contains(servingProviders(st), standby)
		})
		h1, err := from.Status(context.Background())
		require.NoError(t, err)
		t.Logf("standby %s took the slot of %s %d blocks after the kill", standby, victim, h1.Height-h0.Height)
		require.NotContains(t, servingProviders(st), victim)
		// probe rounds of 3 blocks, 2 failed in a row, a block for the votes to land, or the
		// missed commitment of the period it died in: within 20 blocks
		require.LessOrEqual(t, h1.Height-h0.Height, int64(20))

		// the standby serves once the client sees it
		deadline := time.Now().Add(time.Minute)
		for {
			require.NoError(t, s.Refresh(context.Background()))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			res, err := s.Infer(ctx, requestRows(99, 1))
			cancel()
			require.NoError(t, err)
			if res.Replica == standby {
				break
			}
			require.True(t, time.Now().Before(deadline), "the standby never served")
		}
		close(stop)
		r := <-done
		require.Empty(t, r.errs, "no request lost beyond retries")
		require.Positive(t, r.n)
		// a replica that stops answering is replaced; it is slashed at most 1% for the period it
		// did not commit, unless it died between a commitment and its reveal: drawn samples not
		// published count as the wrong answers they may hide (10% and jail)
		bonded, jailed := providerOf(l, victim)
		least := bondedBefore.Sub(bondedBefore.QuoRaw(100))
		if jailed {
			t.Logf("the killed replica had committed a period and could not reveal its samples: jailed")
			least = bondedBefore.Sub(bondedBefore.QuoRaw(10)).Sub(bondedBefore.QuoRaw(100))
		}
		require.True(t, bonded.GTE(least), "bonded %s, before %s", bonded, bondedBefore)
		killed.Start(l.T) // the network outlives this subtest
		checkBooks(l)
	})

	t.Run("a replica that corrupts one answer in twenty is caught by sampling, slashed, jailed and replaced", func(t *testing.T) {
		// node3's validator account turns provider and runs a sidecar that underbids everyone and
		// corrupts every twentieth response
		home := l.Homes[3]
		cheat := l.KeyAddr(home, "validator")
		l.MustSend(home, "validator", &stakinggputypes.MsgRegisterProvider{Operator: cheat, Moniker: "cheat", Endpoint: "http://127.0.0.4:8549", Workloads: workload.Names()},
			bond(cheat, ogpu(2_000)))
		sc := network.NewNode(l.Bin, filepath.Join(l.Dir, "stream-cheat"), "127.0.0.4", "sidecar", "--home", home,
			"--provider-key", "validator", "--listen", "127.0.0.4:8549", "--public-url", "http://127.0.0.4:8549",
			"--min-price", "100000000000000", "--price-per-gmac", "0", "--validator-account", "", "--corrupt-every", "20")
		sc.Start(t)
		defer sc.Stop(t)
		waitServing(t, "http://127.0.0.4:8549")

		st := openStream(l, l.Homes[0], clientName, model, 2, minRequestPrice.MulRaw(10), ogpu(20), 400)
		require.Contains(t, servingProviders(st), cheat, "the lowest price serves")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := stream.New(ctx, l.Client(), kr, clientName, st.Id)
		require.NoError(t, err)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = load(cs, 4, 0, stop, 2_000_000)
		}()
		st = waitStream(l, st.Id, 4*time.Minute, func(st computetypes.Stream) bool {
			return !slices.Contains(servingProviders(st), cheat)
		})
		close(stop)
		<-done
		var failed []computetypes.Task
		for _, tk := range checkTasksOf(l, creator, st.Id) {
			if tk.Provider != cheat {
				continue
			}
			if tk = l.WaitFinal(tk.Id, 2*time.Minute); tk.State == computetypes.TASK_STATE_FAILED {
				failed = append(failed, tk)
			}
		}
		require.NotEmpty(t, failed, "a sampled check found the cheat")
		require.Equal(t, cheat, failed[0].Provider)
		bonded, jailed := providerOf(l, cheat)
		require.True(t, jailed)
		// one conviction per replica and stream, however many of its answers the checks caught
		require.Equal(t, ogpu(1_800).String(), bonded.String(), "slashed 10%% once (%d wrong answers caught)", len(failed))
		require.Len(t, st.Serving, 2, "a standby took the slot")
		checkBooks(l)
	})

	t.Run("a stream that runs out of funds pauses, then closes with the books balanced", func(t *testing.T) {
		before := balance(t, l.Up(), creator)
		deposit := minRequestPrice.MulRaw(60)
		st := openStream(l, l.Homes[0], clientName, model, 1, minRequestPrice, deposit, 400)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ps, err := stream.New(ctx, l.Client(), kr, clientName, st.Id)
		require.NoError(t, err)
		warmUp(t, ps)
		answered, errs := load(ps, 1, 59, nil, 3_000_000)
		require.Empty(t, errs)
		require.EqualValues(t, 59, answered, "the slot's share pays 60 requests: the warm-up and 59")
		_, err = ps.Infer(ctx, requestRows(1, 1))
		require.Error(t, err, "no voucher is left to sign")

		// it pauses when its replica redeems the last voucher, and closes at the grace's end
		st = pollStream(l, st.Id, 2*time.Minute, func(st computetypes.Stream) bool { return st.Settled })
		require.Positive(t, st.PausedHeight, "it was PAUSED first")
		require.Equal(t, "not funded within stream_grace_blocks", st.Outcome)
		require.Equal(t, st.PausedHeight+8, st.ClosedHeight, "closed at the end of the grace")
		require.True(t, st.Escrow.IsZero(), "settled: escrow %s", st.Escrow)
		require.Equal(t, deposit.String(), st.Claimed.String(), "the replica redeemed every request")
		fees := sdkmath.ZeroInt()
		for _, tk := range checkTasksOf(l, creator, st.Id) {
			tk = l.WaitFinal(tk.Id, 2*time.Minute)
			fees = fees.Add(tk.CommitteePaid)
		}
		spent := before.Sub(balance(t, l.Up(), creator))
		gas := spent.Sub(deposit).Sub(fees)
		require.True(t, !gas.IsNegative() && gas.LT(ogpu(1)), "the client paid the requests, the committee and gas only: spent %s, requests %s, committee %s", spent, deposit, fees)
		checkBooks(l)
	})
}
