// Package network is the one harness for process-level end-to-end tests and benchmarks. A Node
// is one ogpud process (a node or a sidecar) and the one way to start, stop, kill and restart
// one. A Network is a running chain of them with a client of each node (the client package, as
// the CLI and the sidecar use it) for its queries, waits and txs: New starts validators on
// 127.0.0.x (with scripted attestors or real sidecars, and provider sidecars beside them), Dev
// starts `ogpud dev`.
package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the ogpud binary under test: $OGPUD_BIN (what `make test` builds), else one
// built once into a temporary directory.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("OGPUD_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ogpud-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "ogpud")
		cmd := exec.Command("go", "build", "-ldflags=-extldflags=-Wl,-z,lazy", "-o", builtBin, "github.com/opengpu/ogpu/cmd/ogpud")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build ogpud: %w\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return builtBin
}

// Run runs ogpud with args and returns stdout; it fails the test on a non-zero exit.
func Run(t testing.TB, bin string, args ...string) []byte {
	t.Helper()
	out, err := TryRun(bin, args...)
	require.NoError(t, err)
	return out
}

// TryRun runs ogpud with args and returns stdout, or an error carrying stderr.
func TryRun(bin string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("ogpud %v: %w\nstdout: %s\nstderr: %s", args, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// Node is one running ogpud process.
type Node struct {
	Home string
	Host string // the loopback address its services listen on
	// LogPath is where the process's stdout and stderr go; empty means <home>.log beside the home.
	LogPath string
	bin     string
	args    []string
	cmd     *exec.Cmd
	done    chan struct{}
}

// NewNode describes a node; args are the ogpud arguments that start it (e.g. start --home H).
func NewNode(bin, home, host string, args ...string) *Node {
	return &Node{bin: bin, Home: home, Host: host, args: args}
}

func (n *Node) logPath() string {
	if n.LogPath != "" {
		return n.LogPath
	}
	return filepath.Join(filepath.Dir(n.Home), filepath.Base(n.Home)+".log")
}

// Start starts the process, logging to its LogPath; the test stops it at cleanup.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	require.NoError(t, n.Launch())
	logPath := n.logPath()
	t.Cleanup(func() {
		n.Stop(t)
		if t.Failed() { // the errors the process logged say what it saw
			if bz, err := os.ReadFile(logPath); err == nil {
				var errs []string
				for _, line := range strings.Split(string(bz), "\n") {
					if strings.Contains(line, "ERR") || strings.Contains(line, "panic") {
						errs = append(errs, line)
					}
				}
				t.Logf("errors in %s (last 30):\n%s", filepath.Base(logPath), strings.Join(errs[max(0, len(errs)-30):], "\n"))
			}
		}
	})
}

// Launch starts the process, logging to its LogPath, for callers that are not tests (the
// benchmarks); Shutdown ends it.
func (n *Node) Launch() error {
	if n.cmd != nil {
		return fmt.Errorf("node %s already running", n.Home)
	}
	if err := os.MkdirAll(n.Home, 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(n.logPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.bin, n.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s %v: %w", n.bin, n.args, err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}(n.cmd, n.done)
	return nil
}

// Stop sends SIGTERM and waits for a clean exit (SIGKILL after 30 s).
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	if err := n.Shutdown(); err != nil {
		t.Error(err)
	}
}

// Shutdown sends SIGTERM and waits for a clean exit; after 30 s it sends SIGKILL, waits, and
// says so in its error.
func (n *Node) Shutdown() error {
	if n.cmd == nil {
		return nil
	}
	defer func() { n.cmd = nil }()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
		return fmt.Errorf("node %s did not stop within 30 s of SIGTERM", n.Home)
	}
}

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// RPC is the node's CometBFT RPC address.
func (n *Node) RPC() string { return "http://" + n.Host + ":26657" }

// REST is the node's REST (gRPC-gateway) address.
func (n *Node) REST() string { return "http://" + n.Host + ":1317" }

// GRPC is the node's gRPC address (host:port, no scheme).
func (n *Node) GRPC() string { return n.Host + ":9090" }

// JSONRPC is the node's EVM JSON-RPC address.
func (n *Node) JSONRPC() string { return "http://" + n.Host + ":8545" }

// Status is the part of CometBFT's /status the tests read.
type Status struct {
	Height     int64
	AppHash    string
	CatchingUp bool
}

// Status reads the node's latest block height and app hash.
func (n *Node) Status(ctx context.Context) (Status, error) {
	var res struct {
		Result struct {
			SyncInfo struct {
				Height     string `json:"latest_block_height"`
				AppHash    string `json:"latest_app_hash"`
				CatchingUp bool   `json:"catching_up"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := GetJSON(ctx, n.RPC()+"/status", &res); err != nil {
		return Status{}, err
	}
	h, err := strconv.ParseInt(res.Result.SyncInfo.Height, 10, 64)
	return Status{Height: h, AppHash: res.Result.SyncInfo.AppHash, CatchingUp: res.Result.SyncInfo.CatchingUp}, err
}

// WaitHeight waits until the node has committed height h.
func (n *Node) WaitHeight(t testing.TB, h int64, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last Status
	var lastErr error
	for time.Now().Before(deadline) {
		require.True(t, n.Running(), "node %s exited; see its log", n.Home)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last, lastErr = n.Status(ctx)
		cancel()
		if lastErr == nil && last.Height >= h {
			return last.Height
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("node %s: height %d not reached within %s (last %d, err %v)", n.Home, h, timeout, last.Height, lastErr)
	return 0
}

// GetJSON GETs url and decodes the JSON answer into v.
func GetJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// PeakRSS is the most resident memory the running process has held (VmHWM in
// /proc/PID/status), in bytes.
func (n *Node) PeakRSS() (int64, error) {
	if n.cmd == nil {
		return 0, fmt.Errorf("node %s is not running", n.Home)
	}
	bz, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(bz), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", n.cmd.Process.Pid)
}

// Kill ends the process with SIGKILL, as a crash or a power cut would, and waits for it.
func (n *Node) Kill(t testing.TB) {
	t.Helper()
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
}

// LastJSON is the last line of a command's output that is a JSON object, or all of it.
func LastJSON(out []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "{") {
			return []byte(lines[i])
		}
	}
	return out
}
