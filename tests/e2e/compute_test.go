package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/testutil/network"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// testComputeMarket runs the dev chain's market from the CLI: bob creates a gemm task with
// --wait; the embedded sidecar bids as the provider, runs it on the CPU executor, serves and
// submits the result, verifies it as the validator, and the vote extensions complete it. The
// result then downloads with `q compute result` and the hash on chain. A task priced below every
// bid expires.
func testComputeMarket(t *testing.T, net *network.Network, accounts map[string]network.DevAccount) {
	bin, home := net.Bin, net.Homes[0]
	createArgs := func(extra ...string) []string {
		return append([]string{"tx", "compute", "create-task", "gemm-int8",
			"--m", "96", "--n", "80", "--k", "64", "--seed-a", "11", "--seed-b", "12",
			"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes"}, extra...)
	}
	// create-task --wait is what this checks
	wait := exec.Command(bin, createArgs("--max-price", coin(ogpu(100)), "--deadline", "40", "--wait", "--wait-timeout", "2m")...)
	var out bytes.Buffer
	wait.Stdout, wait.Stderr = &out, &out
	require.NoError(t, wait.Run(), "create-task --wait: %s", out.String())
	for _, s := range []string{"TASK_STATE_OPEN", "TASK_STATE_ASSIGNED", "TASK_STATE_SUBMITTED", "TASK_STATE_COMPLETED"} {
		require.Contains(t, out.String(), s)
	}

	tk := net.Task(1)
	require.Equal(t, accounts["provider"].Address, tk.Provider)
	requirePaidInFull(t, tk)
	require.True(t, tk.Escrow.IsZero(), "escrow %s", tk.Escrow)
	require.Equal(t, uint64(32+4*96*80), tk.Result.Size_)

	// the result is private: an outsider is refused, its creator served (by the CLI, which this
	// checks)
	file := filepath.Join(t.TempDir(), "c.bin")
	refused, err := network.TryRun(bin, "q", "compute", "result", "1", "--out", file, "--home", home, "--from", "alice")
	require.Error(t, err, "%s", refused)
	require.Contains(t, err.Error()+string(refused), "neither the creator of task 1 nor on its committee")
	network.Run(t, bin, "q", "compute", "result", "1", "--out", file, "--home", home, "--from", "bob")
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	sum := sha256.Sum256(got)
	require.Equal(t, tk.Result.Sha256, hex.EncodeToString(sum[:]))

	// below the sidecar's minimum price nobody bids: the task expires, --wait exits non-zero
	start := time.Now()
	expired, err := network.TryRun(bin, createArgs("--max-price", "1000", "--deadline", "8", "--wait", "--wait-timeout", "2m")...)
	require.Error(t, err)
	require.Contains(t, err.Error(), "TASK_STATE_EXPIRED")
	require.Contains(t, string(expired)+err.Error(), "no eligible bid")
	require.Less(t, time.Since(start), time.Minute)
}

// testCheatingProvider runs a second sidecar for alice's provider record that underbids the dev
// provider and corrupts one element of every result: the validator's sidecar finds it out, the
// task FAILS (create-task --wait says so), alice is slashed and jailed, and bob gets his escrow
// back.
func testCheatingProvider(t *testing.T, net *network.Network, accounts map[string]network.DevAccount) {
	bin, home := net.Bin, net.Homes[0]
	cheat := network.NewNode(bin, filepath.Join(net.Dir, "cheat"), "127.0.0.1", "sidecar", "--home", home, "--provider-key", "alice",
		"--listen", "127.0.0.1:8548", "--public-url", "http://127.0.0.1:8548",
		"--min-price", "1000", "--price-per-gmac", "0", "--validator-account", "", "--corrupt-results")
	cheat.Start(t)
	defer cheat.Stop(t)
	waitServing(t, "http://127.0.0.1:8548")

	before := balance(t, net.Up(), accounts["bob"].Address)
	out, err := network.TryRun(bin, "tx", "compute", "create-task", "gemm-int8", "--m", "32", "--n", "32", "--k", "32",
		"--seed-a", "5", "--seed-b", "6", "--max-price", coin(ogpu(100)), "--deadline", "40", "--wait", "--wait-timeout", "2m",
		"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes")
	if err == nil {
		log, _ := os.ReadFile(filepath.Join(net.Dir, "cheat.log"))
		t.Fatalf("the task did not fail: %s\n%s", out, log)
	}
	require.Contains(t, err.Error(), "TASK_STATE_FAILED")
	require.Contains(t, string(out), accounts["alice"].Address, "alice's low bid won")

	require.True(t, providerRecord(t, net, accounts["alice"].Address).Jailed)
	// bob paid only the gas of his create-task: the escrow came back
	after := balance(t, net.Up(), accounts["bob"].Address)
	require.True(t, before.Sub(after).LT(ogpu(1)), "bob was refunded: %s → %s", before, after)
}

// testRestartMidTask stops the dev node, and with it the embedded sidecar, right after a large
// task is assigned, and starts it again: the sidecar finds the task still assigned to it, runs it
// again (the inputs come from seeds, so the result is the same) and the task completes.
func testRestartMidTask(t *testing.T, net *network.Network) {
	// at 10^9 multiply-adds a second, whatever the machine, the run takes about 4 s
	net.SetSidecarOption(0, "throttle-gmacs", "1")
	defer net.SetSidecarOption(0, "throttle-gmacs", "")
	id := create(net, net.Homes[0], "bob", gemmTask(net.KeyAddr(net.Homes[0], "bob"), 2048, 2048, 1024, 7, 8, ogpu(100), 80))
	net.WaitState(id, computetypes.TASK_STATE_ASSIGNED, time.Minute)
	net.Stop(0) // the sidecar is a second or so into 4.3·10^9 multiply-adds
	net.Start(0)
	net.WaitState(id, computetypes.TASK_STATE_COMPLETED, 3*time.Minute)
	// the REST server is up again too
	deadline := time.Now().Add(time.Minute)
	for {
		var info map[string]any
		err := network.GetJSON(context.Background(), net.Up().REST()+"/cosmos/base/tendermint/v1beta1/node_info", &info)
		if err == nil {
			return
		}
		require.True(t, time.Now().Before(deadline), "REST after the restart: %v", err)
		time.Sleep(500 * time.Millisecond)
	}
}

// testUploadedInputs runs tasks whose A and B are blobs the client serves: one completes with
// the product of the served matrices; for the other the client stops serving B after creating
// it, the provider reports it, the committee confirms, and the provider gets the deposit.
func testUploadedInputs(t *testing.T, net *network.Network) {
	bin, home := net.Bin, net.Homes[0]
	const m, n, k = 24, 40, 56
	a, b := make([]byte, m*k), make([]byte, k*n)
	for i := range a {
		a[i] = byte(i*7 + 3)
	}
	for i := range b {
		b[i] = byte(i*13 + 1)
	}
	var serveB atomic.Bool
	serveB.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			_, _ = w.Write(a)
		case "/b":
			if serveB.Load() {
				_, _ = w.Write(b)
				return
			}
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	args := func(extra ...string) []string {
		return append([]string{"tx", "compute", "create-task", "gemm-int8", "--m", "24", "--n", "40", "--k", "56",
			"--input-a", srv.URL + "/a", "--input-b", srv.URL + "/b", "--max-price", coin(ogpu(100)),
			"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes"}, extra...)
	}
	// create-task --wait, which fetches the inputs for their hashes, is what this checks
	out, err := network.TryRun(bin, args("--deadline", "40", "--wait", "--wait-timeout", "2m")...)
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "TASK_STATE_COMPLETED")

	// B disappears right after the task is created
	next := uint64(len(net.Tasks(&computetypes.QueryTasksRequest{})) + 1)
	cmd := exec.Command(bin, args("--deadline", "40", "--wait", "--wait-timeout", "2m")...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	require.NoError(t, cmd.Start())
	net.WaitTask(next, 30*time.Second, func(computetypes.Task) bool { return true }) // it exists
	serveB.Store(false)
	err = cmd.Wait()
	require.Error(t, err, "%s", buf.String())
	require.Contains(t, buf.String(), "inputs unavailable: the security deposit went to the provider")
}

// testToggledInputs plays a client that toggles its input server to get a result cheaply. B is
// missing when the provider first fetches it: the provider reports it, but B is back when the
// committee checks the report, so the report is rejected, nobody is slashed and the provider
// runs the task. Once the result is in, the client takes B down again: the committee fetches B
// from the provider, which keeps the inputs it ran on, finds the result valid, and the provider
// is paid the full price when the dispute window passes.
func testToggledInputs(t *testing.T, net *network.Network, accounts map[string]network.DevAccount) {
	const m, n, k = 16, 24, 32
	a, b := make([]byte, m*k), make([]byte, k*n)
	for i := range a {
		a[i] = byte(i*5 + 1)
	}
	for i := range b {
		b[i] = byte(i*11 + 7)
	}
	var requestsB atomic.Int32
	var downB atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			_, _ = w.Write(a)
		case "/b":
			// the client's own fetch, for the task's hashes, is the first request, the provider's
			// the second
			if requestsB.Add(1) == 2 || downB.Load() {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(b)
		}
	}))
	defer srv.Close()
	providerAddr := accounts["provider"].Address
	bondedBefore := providerRecord(t, net, providerAddr).Bonded

	msg := gemmTask(accounts["bob"].Address, m, n, k, 0, 0, ogpu(100), 60)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, uri := range []string{srv.URL + "/a", srv.URL + "/b"} {
		blob, err := net.Client().DescribeBlob(ctx, uri, m*k+k*n)
		require.NoError(t, err)
		msg.Inputs = append(msg.Inputs, blob)
	}
	id := create(net, net.Homes[0], "bob", msg)
	var seen []computetypes.TaskState
	tk := net.WaitTask(id, 3*time.Minute, func(tk computetypes.Task) bool {
		seen = append(seen, tk.State)
		if tk.State == computetypes.TASK_STATE_SUBMITTED && tk.Result.Sha256 != "" {
			downB.Store(true) // the result is in: B goes away again
		}
		return false // to its end
	})
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, "states %v: %s", seen, tk.Outcome)
	requirePaidInFull(t, tk)
	require.GreaterOrEqual(t, requestsB.Load(), int32(3), "the committee fetched B while it was back")
	require.Equal(t, bondedBefore.String(), providerRecord(t, net, providerAddr).Bonded.String(), "nobody slashed the provider")
	// it went back to ASSIGNED after the rejected report, then on to a result
	require.Contains(t, seen, computetypes.TASK_STATE_VERIFIED)
}

// requirePaidInFull: the provider got its price less the protocol fee, which went to the
// provider reward pool (5% by default).
func requirePaidInFull(t *testing.T, tk computetypes.Task) {
	t.Helper()
	require.Equal(t, tk.Price.MulRaw(5).QuoRaw(100).String(), tk.ProtocolFee.String(), "the protocol fee")
	require.Equal(t, tk.Price.String(), tk.Paid.Add(tk.ProtocolFee).String(), "the provider is paid its full price less the protocol fee")
}
