package network

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Config says how New builds a network.
type Config struct {
	ChainID    string
	Validators int // 4 when zero
	// Genesis edits the app_state of every node's genesis before the nodes start.
	Genesis func(app map[string]any)
	// Setup prepares node i's home before it starts (e.g. points its sidecar at a scripted
	// attestor).
	Setup func(i int, home string)
	// StartArgs are appended to each node's `ogpud start` (e.g. --sidecar.embedded).
	StartArgs []string
	// Providers runs a provider-only sidecar beside each of the first Providers nodes, signing
	// with the key "provider" of that node's home.
	Providers int
	// Height is the height node 0 reaches before New returns; 3 when zero.
	Height int64
}

// Network is a network of validators on 127.0.0.1..N, each a separate ogpud process with its
// own home written by `ogpud testnet init-files`, and any provider sidecars beside them.
type Network struct {
	T         testing.TB
	Bin       string
	Dir       string
	Homes     []string
	Nodes     []*Node
	Providers []*Node // the provider sidecars beside the first nodes

	mu   sync.Mutex
	keys map[string][2]string // address → (home, key name), to sign as a task's creator
}

// New writes the homes, applies cfg's genesis edit and setup, starts every node and provider
// sidecar (stopped at cleanup) and waits for node 0 to reach cfg.Height.
func New(t testing.TB, cfg Config) *Network {
	t.Helper()
	validators := cmp.Or(cfg.Validators, 4)
	bin := Binary(t)
	dir := filepath.Join(t.TempDir(), "localnet")
	Run(t, bin, "testnet", "init-files", "--v", strconv.Itoa(validators), "--output-dir", dir, "--chain-id", cfg.ChainID)
	n := &Network{T: t, Bin: bin, Dir: dir}
	for i := range validators {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if cfg.Genesis != nil {
			EditGenesis(t, filepath.Join(home, "config", "genesis.json"), cfg.Genesis)
		}
		if cfg.Setup != nil {
			cfg.Setup(i, home)
		}
		n.Homes = append(n.Homes, home)
		n.Nodes = append(n.Nodes, NewNode(bin, home, fmt.Sprintf("127.0.0.%d", i+1), append([]string{"start", "--home", home}, cfg.StartArgs...)...))
	}
	for i := range cfg.Providers {
		n.Providers = append(n.Providers, NewNode(bin, filepath.Join(dir, fmt.Sprintf("provider%d", i)), n.Nodes[i].Host,
			"sidecar", "--home", n.Homes[i], "--provider-key", "provider", "--validator-account", ""))
	}
	n.StartAll()
	n.Nodes[0].WaitHeight(t, cmp.Or(cfg.Height, 3), 4*time.Minute)
	return n
}

// EditGenesis applies edit to the app_state of the genesis file at path.
func EditGenesis(t testing.TB, path string, edit func(app map[string]any)) {
	t.Helper()
	bz, err := os.ReadFile(path)
	require.NoError(t, err)
	var g map[string]any
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.UseNumber() // big integers stay exact
	require.NoError(t, dec.Decode(&g))
	edit(g["app_state"].(map[string]any))
	bz, err = json.MarshalIndent(g, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bz, 0o600))
}

// StartAll starts every node, then every provider sidecar.
func (n *Network) StartAll() {
	for _, node := range n.Nodes {
		node.Start(n.T)
	}
	for _, p := range n.Providers {
		p.Start(n.T)
	}
}

// StopAll stops every provider sidecar, then every node.
func (n *Network) StopAll() {
	for _, p := range n.Providers {
		p.Stop(n.T)
	}
	for _, node := range n.Nodes {
		node.Stop(n.T)
	}
}

// Restart stops node i and starts it again, and waits until it has committed a block past the
// network's height.
func (n *Network) Restart(i int) {
	n.T.Helper()
	st, err := n.Up().Status(context.Background())
	require.NoError(n.T, err)
	n.Nodes[i].Stop(n.T)
	n.Nodes[i].Start(n.T)
	n.Nodes[i].WaitHeight(n.T, st.Height+1, 2*time.Minute)
}

// Up is a running node to query and send through.
func (n *Network) Up() *Node {
	for _, node := range n.Nodes {
		if node.Running() {
			return node
		}
	}
	n.T.Fatal("no node is running")
	return nil
}

// Get GETs path from a running node's REST server and decodes the answer into v.
func (n *Network) Get(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return GetJSON(ctx, n.Up().REST()+path, v)
}

// MustGet is Get that fails the test on an error.
func (n *Network) MustGet(path string, v any) {
	n.T.Helper()
	require.NoError(n.T, n.Get(path, v), path)
}

// KeyAddr is the address of key name in home's keyring; the network remembers it, to sign as
// the creator of that address's tasks.
func (n *Network) KeyAddr(home, name string) string {
	n.T.Helper()
	addr := strings.TrimSpace(string(Run(n.T, n.Bin, "keys", "show", name, "-a", "--home", home)))
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.keys == nil {
		n.keys = map[string][2]string{}
	}
	n.keys[addr] = [2]string{home, name}
	return addr
}

// Key is the home and key name of addr, if KeyAddr has seen it.
func (n *Network) Key(addr string) (home, name string, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k, ok := n.keys[addr]
	return k[0], k[1], ok
}

// Addr is the address of node i's validator key.
func (n *Network) Addr(i int) string { return n.KeyAddr(n.Homes[i], "validator") }

// Valoper is the validator operator address of node i's validator key.
func (n *Network) Valoper(i int) string {
	return strings.TrimSpace(string(Run(n.T, n.Bin, "keys", "show", "validator", "--bech", "val", "-a", "--home", n.Homes[i])))
}

// NewAccount adds key to home's keyring, funds it with amount (a coin, e.g. 5aogpu) from the
// home's validator and returns its address.
func (n *Network) NewAccount(home, key, amount string) string {
	n.T.Helper()
	Run(n.T, n.Bin, "keys", "add", key, "--home", home, "--output", "json")
	addr := n.KeyAddr(home, key)
	n.Tx(home, "bank", "send", "validator", addr, amount, "--from", "validator")
	return addr
}

// TryTx sends `ogpud tx ...` from home (args name the key with --from) and waits for it in a
// block; a home whose own node is down sends through a running one. Safe from any goroutine.
func (n *Network) TryTx(home string, args ...string) error {
	args = append(append([]string{"tx"}, args...), "--home", home, "--gas-prices", "1000000000aogpu",
		"--gas", "auto", "--gas-adjustment", "1.5", "--yes", "--output", "json", "--broadcast-mode", "sync")
	for i, node := range n.Nodes {
		if n.Homes[i] == home && !node.Running() && !slices.Contains(args, "--node") {
			args = append(args, "--node", n.Up().RPC())
		}
	}
	out, err := TryRun(n.Bin, args...)
	if err != nil {
		// a tx rejected by simulation or CheckTx never reaches a block
		return err
	}
	var res struct {
		TxHash string `json:"txhash"`
		Code   uint32 `json:"code"`
		RawLog string `json:"raw_log"`
	}
	if err := json.Unmarshal(LastJSON(out), &res); err != nil {
		return fmt.Errorf("tx output %s: %w", out, err)
	}
	if res.Code != 0 {
		return fmt.Errorf("%v: code %d: %s", args, res.Code, res.RawLog)
	}
	if _, err := n.WaitTx(res.TxHash); err != nil {
		return fmt.Errorf("%v: %w", args, err)
	}
	return nil
}

// Tx is TryTx that fails the test on an error.
func (n *Network) Tx(home string, args ...string) {
	n.T.Helper()
	require.NoError(n.T, n.TryTx(home, args...))
}

// WaitTx waits for the tx with hash in a block and returns the block's height, or the error
// the tx ended with.
func (n *Network) WaitTx(hash string) (int64, error) {
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		var q struct {
			TxResponse struct {
				Height string `json:"height"`
				Code   uint32 `json:"code"`
				RawLog string `json:"raw_log"`
			} `json:"tx_response"`
		}
		if err := n.Get("/cosmos/tx/v1beta1/txs/"+hash, &q); err == nil {
			if q.TxResponse.Code != 0 {
				return 0, fmt.Errorf("code %d: %s", q.TxResponse.Code, q.TxResponse.RawLog)
			}
			return strconv.ParseInt(q.TxResponse.Height, 10, 64)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return 0, fmt.Errorf("tx %s not in a block within 45 s", hash)
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

// Task is a task as REST shows it.
type Task struct {
	ID              string   `json:"id"`
	Creator         string   `json:"creator"`
	State           string   `json:"state"`
	Provider        string   `json:"provider"`
	Price           string   `json:"price"`
	Paid            string   `json:"paid"`
	Escrow          string   `json:"escrow"`
	ProtocolFee     string   `json:"protocol_fee"`
	Outcome         string   `json:"outcome"`
	CreatedHeight   string   `json:"created_height"`
	FinalHeight     string   `json:"final_height"`
	FailedProviders []string `json:"failed_providers"`
	Committee       []string `json:"committee"`
	InputNonce      []byte   `json:"input_nonce"`
	Result          struct {
		Sha256 string `json:"sha256"`
		Size   string `json:"size"`
	} `json:"result"`
}

// FinalStates are the states a task never leaves.
var FinalStates = []string{"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELLED", "TASK_STATE_EXPIRED"}

// Task is task id as a running node shows it; the zero Task if it cannot be read.
func (n *Network) Task(id string) Task {
	var v struct {
		Task Task `json:"task"`
	}
	_ = n.Get("/ogpu/compute/v1/tasks/"+id, &v)
	return v.Task
}

// TasksOf lists the tasks creator made, oldest first.
func (n *Network) TasksOf(creator string) []Task {
	n.T.Helper()
	var v struct {
		Tasks []Task `json:"tasks"`
	}
	n.MustGet("/ogpu/compute/v1/tasks?pagination.limit=10000&creator="+creator, &v)
	slices.SortFunc(v.Tasks, func(a, b Task) int {
		x, _ := strconv.ParseUint(a.ID, 10, 64)
		y, _ := strconv.ParseUint(b.ID, 10, 64)
		return cmp.Compare(x, y)
	})
	return v.Tasks
}

// WaitState waits until task id is in state and returns it.
func (n *Network) WaitState(id, state string, timeout time.Duration) Task {
	n.T.Helper()
	deadline := time.Now().Add(timeout)
	var last Task
	for time.Now().Before(deadline) {
		if last = n.Task(id); last.State == state {
			return last
		}
		time.Sleep(300 * time.Millisecond)
	}
	n.T.Fatalf("task %s did not reach %s in %s: %+v", id, state, timeout, last)
	return last
}

// WaitFinal waits until the task is in a final state and returns it. A VERIFIED task is
// accepted by its creator, as create-task --wait does, so its provider is paid at once.
func (n *Network) WaitFinal(id string, timeout time.Duration) Task {
	n.T.Helper()
	deadline := time.Now().Add(timeout)
	var last Task
	accepted := false
	for time.Now().Before(deadline) {
		if last = n.Task(id); slices.Contains(FinalStates, last.State) {
			return last
		}
		if last.State == "TASK_STATE_VERIFIED" && !accepted {
			if home, key, ok := n.Key(last.Creator); ok {
				accepted = n.TryTx(home, "compute", "accept-result", id, "--from", key) == nil
			}
		}
		time.Sleep(400 * time.Millisecond)
	}
	n.T.Fatalf("task %s not final within %s: %+v", id, timeout, last)
	return last
}
