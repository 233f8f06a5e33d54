package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/opengpu/ogpu/testutil/network"
)

// taskView is `ogpud q compute task`'s answer.
type taskView struct {
	Task network.Task `json:"task"`
}

// testComputeMarket runs the dev chain's market from the CLI alone: bob creates a gemm task with
// --wait; the embedded sidecar bids as the provider, runs it on the CPU executor, serves and
// submits the result, verifies it as the validator, and the vote extensions complete it. The
// result then downloads with the hash on chain. A task priced below every bid expires.
func testComputeMarket(t *testing.T, bin, home string, accounts map[string]devAccount) {
	createArgs := func(extra ...string) []string {
		return append([]string{"tx", "compute", "create-task", "gemm-int8",
			"--m", "96", "--n", "80", "--k", "64", "--seed-a", "11", "--seed-b", "12",
			"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes"}, extra...)
	}
	wait := exec.Command(bin, createArgs("--max-price", coin(ogpu(100)), "--deadline", "40", "--wait", "--wait-timeout", "2m")...)
	var out bytes.Buffer
	wait.Stdout, wait.Stderr = &out, &out
	require.NoError(t, wait.Run(), "create-task --wait: %s", out.String())
	for _, s := range []string{"TASK_STATE_OPEN", "TASK_STATE_ASSIGNED", "TASK_STATE_SUBMITTED", "TASK_STATE_COMPLETED"} {
		require.Contains(t, out.String(), s)
	}

	var v taskView
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "compute", "task", "1", "--home", home, "--output", "json"), &v))
	require.Equal(t, accounts["provider"].Address, v.Task.Provider)
	requirePaidInFull(t, v.Task)
	require.Equal(t, "0", v.Task.Escrow)
	require.Equal(t, strconv.Itoa(32+4*96*80), v.Task.Result.Size)

	// the result is private: an outsider is refused, its creator served
	file := filepath.Join(t.TempDir(), "c.bin")
	refused, err := network.TryRun(bin, "q", "compute", "result", "1", "--out", file, "--home", home, "--from", "alice")
	require.Error(t, err, "%s", refused)
	require.Contains(t, err.Error()+string(refused), "neither the creator of task 1 nor on its committee")
	network.Run(t, bin, "q", "compute", "result", "1", "--out", file, "--home", home, "--from", "bob")
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	sum := sha256.Sum256(got)
	require.Equal(t, v.Task.Result.Sha256, hex.EncodeToString(sum[:]))

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
// task FAILS, alice is slashed and jailed, and bob gets his escrow back.
func testCheatingProvider(t *testing.T, bin, home string, accounts map[string]devAccount) {
	cheat := exec.Command(bin, "sidecar", "--home", home, "--provider-key", "alice",
		"--listen", "127.0.0.1:8548", "--public-url", "http://127.0.0.1:8548",
		"--min-price", "1000", "--price-per-gmac", "0", "--validator-account", "", "--corrupt-results")
	var log bytes.Buffer
	cheat.Stdout, cheat.Stderr = &log, &log
	require.NoError(t, cheat.Start())
	defer func() {
		_ = cheat.Process.Kill()
		_ = cheat.Wait()
	}()
	waitServing(t, "http://127.0.0.1:8548")

	before := balance(t, network.NewNode(bin, home, "127.0.0.1"), accounts["bob"].Address)
	out, err := network.TryRun(bin, "tx", "compute", "create-task", "gemm-int8", "--m", "32", "--n", "32", "--k", "32",
		"--seed-a", "5", "--seed-b", "6", "--max-price", coin(ogpu(100)), "--deadline", "40", "--wait", "--wait-timeout", "2m",
		"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes")
	require.Error(t, err, "the task fails: %s\n%s", out, log.String())
	require.Contains(t, err.Error(), "TASK_STATE_FAILED")
	require.Contains(t, string(out), accounts["alice"].Address, "alice's low bid won")

	var p struct {
		Provider struct {
			Jailed bool `json:"jailed"`
		} `json:"provider"`
	}
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "staking-gpu", "provider", accounts["alice"].Address, "--home", home, "--output", "json"), &p))
	require.True(t, p.Provider.Jailed)
	// bob paid only the gas of his create-task: the escrow came back
	after := balance(t, network.NewNode(bin, home, "127.0.0.1"), accounts["bob"].Address)
	require.True(t, before.Sub(after).LT(ogpu(1)), "bob was refunded: %s → %s", before, after)
}

// testRestartMidTask stops the dev node, and with it the embedded sidecar, right after a large
// task is assigned, and starts it again: the sidecar finds the task still assigned to it, runs it
// again (the inputs come from seeds, so the result is the same) and the task completes.
// parent owns the restarted node: a subtest's cleanup would stop it.
func testRestartMidTask(t, parent *testing.T, bin, home string, node *network.Node) {
	var list struct {
		Tasks []struct {
			ID string `json:"id"`
		} `json:"tasks"`
	}
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "compute", "tasks", "--home", home, "--output", "json"), &list))
	id := len(list.Tasks) + 1
	code, log := sendTx(t, bin, home, "compute", "create-task", "gemm-int8", "--m", "2048", "--n", "2048", "--k", "1024",
		"--seed-a", "7", "--seed-b", "8", "--max-price", coin(ogpu(100)), "--deadline", "80", "--from", "bob")
	require.Zero(t, code, log)
	state := func() string {
		var v taskView
		out, err := network.TryRun(bin, "q", "compute", "task", strconv.Itoa(id), "--home", home, "--output", "json")
		if err != nil || json.Unmarshal(out, &v) != nil {
			return ""
		}
		return v.Task.State
	}
	deadline := time.Now().Add(time.Minute)
	for state() != "TASK_STATE_ASSIGNED" {
		require.True(t, time.Now().Before(deadline), "task %d never assigned", id)
		time.Sleep(200 * time.Millisecond)
	}
	node.Stop(t) // the sidecar is a few seconds into 4.3·10^9 multiply-adds
	node.Start(parent)
	deadline = time.Now().Add(3 * time.Minute)
	for s := state(); s != "TASK_STATE_COMPLETED"; s = state() {
		require.NotContains(t, []string{"TASK_STATE_FAILED", "TASK_STATE_EXPIRED"}, s)
		require.True(t, time.Now().Before(deadline), "task %d is %s", id, s)
		time.Sleep(500 * time.Millisecond)
	}
	// the REST server is up again too
	deadline = time.Now().Add(time.Minute)
	for {
		var info map[string]any
		err := network.GetJSON(context.Background(), node.REST()+"/cosmos/base/tendermint/v1beta1/node_info", &info)
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
func testUploadedInputs(t *testing.T, bin, home string) {
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
	out, err := network.TryRun(bin, args("--deadline", "40", "--wait", "--wait-timeout", "2m")...)
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "TASK_STATE_COMPLETED")

	// B disappears right after the task is created
	var list struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "compute", "tasks", "--home", home, "--output", "json"), &list))
	next := strconv.Itoa(len(list.Tasks) + 1)
	cmd := exec.Command(bin, args("--deadline", "40", "--wait", "--wait-timeout", "2m")...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := network.TryRun(bin, "q", "compute", "task", next, "--home", home); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
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
func testToggledInputs(t *testing.T, bin, home string, accounts map[string]devAccount) {
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
			// the create-task command's own fetch is the first request, the provider's the second
			if requestsB.Add(1) == 2 || downB.Load() {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(b)
		}
	}))
	defer srv.Close()
	provider := accounts["provider"].Address
	bondedBefore := providerBonded(t, bin, home, provider)

	var list struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "compute", "tasks", "--home", home, "--output", "json"), &list))
	id := strconv.Itoa(len(list.Tasks) + 1)
	code, log := sendTx(t, bin, home, "compute", "create-task", "gemm-int8", "--m", strconv.Itoa(m), "--n", strconv.Itoa(n), "--k", strconv.Itoa(k),
		"--input-a", srv.URL+"/a", "--input-b", srv.URL+"/b", "--max-price", coin(ogpu(100)), "--deadline", "60", "--from", "bob")
	require.Zero(t, code, log)
	var seen []string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var v taskView
		out, err := network.TryRun(bin, "q", "compute", "task", id, "--home", home, "--output", "json")
		if err == nil && json.Unmarshal(out, &v) == nil {
			if len(seen) == 0 || seen[len(seen)-1] != v.Task.State {
				seen = append(seen, v.Task.State)
			}
			if v.Task.State == "TASK_STATE_SUBMITTED" && v.Task.Result.Sha256 != "" {
				downB.Store(true) // the result is in: B goes away again
			}
			if v.Task.State == "TASK_STATE_COMPLETED" {
				requirePaidInFull(t, v.Task)
				break
			}
			require.NotContains(t, []string{"TASK_STATE_FAILED", "TASK_STATE_EXPIRED"}, v.Task.State, "states %v: %s", seen, v.Task.Outcome)
		}
		require.True(t, time.Now().Before(deadline), "task %s: states %v", id, seen)
		time.Sleep(200 * time.Millisecond)
	}
	require.GreaterOrEqual(t, requestsB.Load(), int32(3), "the committee fetched B while it was back")
	require.Equal(t, bondedBefore.String(), providerBonded(t, bin, home, provider).String(), "nobody slashed the provider")
	// it went back to ASSIGNED after the rejected report, then on to a result
	require.Contains(t, seen, "TASK_STATE_VERIFIED")
}

func providerBonded(t *testing.T, bin, home, addr string) sdkmath.Int {
	var p struct {
		Provider struct {
			Bonded string `json:"bonded"`
		} `json:"provider"`
	}
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "staking-gpu", "provider", addr, "--home", home, "--output", "json"), &p))
	amt, ok := sdkmath.NewIntFromString(p.Provider.Bonded)
	require.True(t, ok)
	return amt
}

// requirePaidInFull: the provider got its price less the protocol fee, which went to the
// provider reward pool (5% by default).
func requirePaidInFull(t *testing.T, tk network.Task) {
	t.Helper()
	price, ok1 := sdkmath.NewIntFromString(tk.Price)
	paid, ok2 := sdkmath.NewIntFromString(tk.Paid)
	fee, ok3 := sdkmath.NewIntFromString(tk.ProtocolFee)
	require.True(t, ok1 && ok2 && ok3, "%+v", tk)
	require.Equal(t, price.MulRaw(5).QuoRaw(100).String(), fee.String(), "the protocol fee")
	require.Equal(t, price.String(), paid.Add(fee).String(), "the provider is paid its full price less the protocol fee")
}
