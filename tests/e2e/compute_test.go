package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/testutil/network"
)

type taskView struct {
	Task struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		Provider string `json:"provider"`
		Price    string `json:"price"`
		Paid     string `json:"paid"`
		Escrow   string `json:"escrow"`
		Outcome  string `json:"outcome"`
	} `json:"task"`
}

// testComputeMarket runs tasks through the market from the CLI: bob creates a gemm task with
// --wait, the test plays the provider (bid, submit a result it serves over HTTP) and posts the
// verdict as the dev chain's verdict authority (alice); then it downloads the result, and a
// task nobody bids on expires.
func testComputeMarket(t *testing.T, bin, home string, accounts map[string]devAccount) {
	// the provider's result store: one blob, which can be corrupted on demand
	const m, n, k = 16, 16, 16
	blob := make([]byte, 32+4*m*n)
	_, err := rand.Read(blob)
	require.NoError(t, err)
	sum := sha256.Sum256(blob)
	digest := hex.EncodeToString(sum[:])
	var corrupt atomic.Bool
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b := bytes.Clone(blob)
		if corrupt.Load() {
			b[100] ^= 1
		}
		_, _ = w.Write(b)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	uri := "http://" + ln.Addr().String() + "/v1/blobs/" + digest

	query := func(id int) (taskView, error) {
		var v taskView
		out, err := network.TryRun(bin, "q", "compute", "task", strconv.Itoa(id), "--home", home, "--output", "json")
		if err != nil {
			return v, err
		}
		return v, json.Unmarshal(out, &v)
	}
	task := func(id int) taskView {
		v, err := query(id)
		require.NoError(t, err)
		return v
	}
	waitState := func(id int, state string) taskView {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if v, err := query(id); err == nil && v.Task.State == state {
				return v
			}
			time.Sleep(300 * time.Millisecond)
		}
		t.Fatalf("task %d never reached %s; it is %+v", id, state, task(id).Task)
		return taskView{}
	}
	createArgs := func(extra ...string) []string {
		return append([]string{"tx", "compute", "create-task", "gemm-int8",
			"--m", "16", "--n", "16", "--k", "16", "--seed-a", "1", "--seed-b", "2",
			"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes"}, extra...)
	}

	price := ogpu(50)
	wait := exec.Command(bin, createArgs("--max-price", coin(ogpu(100)), "--deadline", "40", "--wait", "--wait-timeout", "3m")...)
	var waitOut bytes.Buffer
	wait.Stdout, wait.Stderr = &waitOut, &waitOut
	require.NoError(t, wait.Start())
	done := make(chan error, 1)
	go func() { done <- wait.Wait() }()

	waitState(1, "TASK_STATE_OPEN")
	code, log := sendTx(t, bin, home, "compute", "bid", "1", price.String(), "--from", "provider")
	require.Zero(t, code, log)
	code, log = sendTx(t, bin, home, "compute", "bid", "1", ogpu(101).String(), "--from", "alice")
	require.NotZero(t, code, "a bid above max price")
	require.Contains(t, log, "invalid price")

	v := waitState(1, "TASK_STATE_ASSIGNED")
	require.Equal(t, accounts["provider"].Address, v.Task.Provider)
	code, log = sendTx(t, bin, home, "compute", "submit-result", "1", digest, strconv.Itoa(len(blob)), uri, "--from", "alice")
	require.NotZero(t, code, "only the assignee submits")
	require.Contains(t, log, "not the task's assigned provider")
	code, log = sendTx(t, bin, home, "compute", "submit-result", "1", digest, strconv.Itoa(len(blob)), uri, "--from", "provider")
	require.Zero(t, code, log)
	waitState(1, "TASK_STATE_SUBMITTED")

	code, log = sendTx(t, bin, home, "compute", "apply-verdict", "1", "valid", "--from", "bob")
	require.NotZero(t, code, "only the verdict authority")
	code, log = sendTx(t, bin, home, "compute", "apply-verdict", "1", "valid", "--from", "alice")
	require.Zero(t, code, log)

	select {
	case err := <-done:
		require.NoError(t, err, "create-task --wait: %s", waitOut.String())
	case <-time.After(60 * time.Second):
		_ = wait.Process.Kill()
		t.Fatalf("create-task --wait did not return: %s", waitOut.String())
	}
	out := waitOut.String()
	for _, s := range []string{"task 1 created", "TASK_STATE_OPEN", "TASK_STATE_ASSIGNED", "TASK_STATE_SUBMITTED", "TASK_STATE_COMPLETED"} {
		require.Contains(t, out, s)
	}
	v = task(1)
	require.Equal(t, price.String(), v.Task.Paid)
	require.Equal(t, "0", v.Task.Escrow)

	file := filepath.Join(t.TempDir(), "c.bin")
	network.Run(t, bin, "q", "compute", "result", "1", "--out", file, "--home", home)
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, blob, got)

	corrupt.Store(true)
	bad := filepath.Join(t.TempDir(), "bad.bin")
	_, err = network.TryRun(bin, "q", "compute", "result", "1", "--out", bad, "--home", home)
	require.ErrorContains(t, err, "downloaded blob does not match")
	require.NoFileExists(t, bad, "a mismatching download is not kept")

	// nobody bids: the task expires, the client is refunded, and --wait exits non-zero
	expired, err := network.TryRun(bin, createArgs("--max-price", coin(ogpu(10)), "--deadline", "8", "--wait", "--wait-timeout", "2m")...)
	require.Error(t, err)
	require.Contains(t, err.Error(), "TASK_STATE_EXPIRED")
	require.Contains(t, string(expired)+err.Error(), "no eligible bid")
	t.Log(string(expired))
}
