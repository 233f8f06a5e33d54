package network

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/app"
	"github.com/opengpu/ogpu/client"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// testnetEVMChainID is the EVM chain id `ogpud testnet init-files` writes by default.
const testnetEVMChainID = app.DefaultEVMChainID

// keyringBackend is the backend of every home the harness writes (`testnet init-files` and
// `ogpud dev` both set it in client.toml).
const keyringBackend = "test"

// txTimeout bounds how long a tx helper waits for its tx to be in a block.
const txTimeout = 45 * time.Second

var bech32Once sync.Once

// Network is a running chain for end-to-end tests: its nodes, each a separate ogpud process with
// its own home (a dev chain is one node, see Dev), the provider sidecars beside them, and a
// client of each node (testutil/network's queries, waits and txs go through the client
// package, as the CLI's and the sidecar's do).
type Network struct {
	T         testing.TB
	Bin       string
	Dir       string
	ChainID   string
	Homes     []string
	Nodes     []*Node
	Providers []*Node // the provider sidecars beside the first nodes

	evmChainID uint64
	mu         sync.Mutex
	clients    []*client.Client
	keyrings   map[string]keyring.Keyring
	keys       map[string][2]string // address → (home, key name), to sign as a task's creator
}

func newNetwork(t testing.TB, bin, dir, chainID string, evmChainID uint64) *Network {
	// the test process decodes and signs ogpu1… addresses as ogpud does
	bech32Once.Do(func() { app.SetBech32Prefixes(sdk.GetConfig()) })
	n := &Network{T: t, Bin: bin, Dir: dir, ChainID: chainID, evmChainID: evmChainID,
		keyrings: map[string]keyring.Keyring{}, keys: map[string][2]string{}}
	t.Cleanup(func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, c := range n.clients {
			if c != nil {
				_ = c.Close()
			}
		}
	})
	return n
}

// add makes node one of the network's, with a client of it.
func (n *Network) add(node *Node) {
	n.Homes = append(n.Homes, node.Home)
	n.Nodes = append(n.Nodes, node)
	n.clients = append(n.clients, nil)
	n.dial(len(n.Nodes) - 1)
}

// dial (re)connects the client of node i: a fresh connection after a restart, rather than one
// waiting out gRPC's reconnect backoff.
func (n *Network) dial(i int) {
	node := n.Nodes[i]
	c, err := client.Dial(client.Config{GRPC: node.GRPC(), RPC: node.RPC(), ChainID: n.ChainID, EVMChainID: n.evmChainID},
		client.WithPollInterval(300*time.Millisecond))
	require.NoError(n.T, err)
	n.mu.Lock()
	defer n.mu.Unlock()
	if old := n.clients[i]; old != nil {
		_ = old.Close()
	}
	n.clients[i] = c
}

// Start starts node i (stopped at cleanup) with a new client of it; it does not wait for blocks.
func (n *Network) Start(i int) {
	n.T.Helper()
	n.Nodes[i].Start(n.T)
	n.dial(i)
}

// Stop stops node i with SIGTERM and waits for it to exit.
func (n *Network) Stop(i int) {
	n.T.Helper()
	n.Nodes[i].Stop(n.T)
}

// Kill ends node i with SIGKILL, as a crash or a power cut would.
func (n *Network) Kill(i int) {
	n.T.Helper()
	n.Nodes[i].Kill(n.T)
}

// Up is a running node to query and send through.
func (n *Network) Up() *Node {
	return n.Nodes[n.up()]
}

func (n *Network) up() int {
	n.T.Helper()
	for i, node := range n.Nodes {
		if node.Running() {
			return i
		}
	}
	n.T.Fatal("no node is running")
	return -1
}

// Client is the client of a running node.
func (n *Network) Client() *client.Client { return n.ClientOf(n.up()) }

// ClientOf is the client of node i.
func (n *Network) ClientOf(i int) *client.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.clients[i]
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

// Keyring is the keyring of home.
func (n *Network) Keyring(home string) keyring.Keyring {
	n.T.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if kr, ok := n.keyrings[home]; ok {
		return kr
	}
	kr, err := n.clients[0].OpenKeyring(keyringBackend, home)
	require.NoError(n.T, err)
	n.keyrings[home] = kr
	return kr
}

// KeyAddr is the address of key name in home's keyring; the network remembers it, to sign as
// the creator of that address's tasks.
func (n *Network) KeyAddr(home, name string) string {
	n.T.Helper()
	rec, err := n.Keyring(home).Key(name)
	require.NoError(n.T, err, "key %s in %s", name, home)
	addr, err := rec.GetAddress()
	require.NoError(n.T, err)
	n.remember(addr.String(), home, name)
	return addr.String()
}

func (n *Network) remember(addr, home, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.keys[addr] = [2]string{home, name}
}

// Key is the home and key name of addr, if KeyAddr (or Dev) has seen it.
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
	addr, err := sdk.AccAddressFromBech32(n.Addr(i))
	require.NoError(n.T, err)
	return sdk.ValAddress(addr).String()
}

// NewAccount adds key to home's keyring, funds it with amount from the home's validator and
// returns its address.
func (n *Network) NewAccount(home, key string, amount sdk.Coin) string {
	n.T.Helper()
	Run(n.T, n.Bin, "keys", "add", key, "--home", home, "--output", "json")
	addr := n.KeyAddr(home, key)
	n.MustSend(home, "validator", &banktypes.MsgSend{FromAddress: n.KeyAddr(home, "validator"), ToAddress: addr, Amount: sdk.NewCoins(amount)})
	return addr
}

// TxFactory signs as key of home's keyring, with the client's defaults (simulated gas).
func (n *Network) TxFactory(home, key string) clienttx.Factory {
	n.T.Helper()
	return n.Client().TxFactory(n.Keyring(home), key)
}

// Send signs msgs as key of home's keyring and waits for them in a block, through a running
// node's client; a *client.TxError says why the chain refused them. Safe from any goroutine.
func (n *Network) Send(home, key string, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	return n.SendWith(n.TxFactory(home, key), msgs...)
}

// SendWith is Send with a factory of the caller's (e.g. a fixed gas limit).
func (n *Network) SendWith(txf clienttx.Factory, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), txTimeout)
	defer cancel()
	res, err := n.Client().SendAndWait(ctx, txf, msgs...)
	if err != nil {
		return res, fmt.Errorf("%s: %w", msgNames(msgs), err)
	}
	return res, nil
}

// MustSend is Send that fails the test on an error.
func (n *Network) MustSend(home, key string, msgs ...sdk.Msg) *sdk.TxResponse {
	n.T.Helper()
	res, err := n.Send(home, key, msgs...)
	require.NoError(n.T, err)
	return res
}

func msgNames(msgs []sdk.Msg) string {
	names := make([]string, len(msgs))
	for i, m := range msgs {
		names[i] = sdk.MsgTypeURL(m)
	}
	return strings.Join(names, ",")
}

// TryTx runs `ogpud tx ...` from home (args name the key with --from) and waits for the tx in a
// block: for tests of the CLI itself; others use Send. A home whose own node is down sends
// through a running one. Safe from any goroutine.
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
		// a tx refused by simulation or CheckTx never reaches a block
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
// (a *client.TxError) the tx ended with.
func (n *Network) WaitTx(hash string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), txTimeout)
	defer cancel()
	res, err := n.Client().WaitTx(ctx, hash)
	if err != nil {
		return 0, err
	}
	return res.Height, nil
}

// Task is task id as a running node shows it; the zero Task if it cannot be read.
func (n *Network) Task(id uint64) computetypes.Task {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t, _ := n.Client().Task(ctx, id)
	return t
}

// Tasks lists the tasks req selects (by state, creator, provider), oldest first.
func (n *Network) Tasks(req *computetypes.QueryTasksRequest) []computetypes.Task {
	n.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := n.Client().Tasks(ctx, req)
	require.NoError(n.T, err)
	slices.SortFunc(list, func(a, b computetypes.Task) int { return cmp.Compare(a.Id, b.Id) })
	return list
}

// TasksOf lists the tasks creator made, oldest first.
func (n *Network) TasksOf(creator string) []computetypes.Task {
	n.T.Helper()
	return n.Tasks(&computetypes.QueryTasksRequest{Creator: creator})
}

// WaitTask follows task id with the client's WaitTask until until holds for it (seen at each
// change of state) or it is final, and returns it then.
func (n *Network) WaitTask(id uint64, timeout time.Duration, until func(computetypes.Task) bool) computetypes.Task {
	n.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got *computetypes.Task
	last, err := n.Client().WaitTask(ctx, id, func(t computetypes.Task) {
		if got == nil && until(t) {
			got = &t
			cancel()
		}
	})
	if got != nil {
		return *got
	}
	require.NoError(n.T, err, "task %d: %s", id, last.String())
	return last
}

// WaitState waits until task id is in state and returns it.
func (n *Network) WaitState(id uint64, state computetypes.TaskState, timeout time.Duration) computetypes.Task {
	n.T.Helper()
	t := n.WaitTask(id, timeout, func(t computetypes.Task) bool { return t.State == state })
	require.Equal(n.T, state, t.State, "task %d: %s", id, t.Outcome)
	return t
}

// WaitFinal waits until the task is final and returns it. A VERIFIED task is accepted once by
// its creator (when the network knows the creator's key), as create-task --wait does, so its
// provider is paid at once.
func (n *Network) WaitFinal(id uint64, timeout time.Duration) computetypes.Task {
	n.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	accepted := false
	t, err := n.Client().WaitTask(ctx, id, func(t computetypes.Task) {
		if t.State != computetypes.TASK_STATE_VERIFIED || accepted {
			return
		}
		accepted = true
		if home, key, ok := n.Key(t.Creator); ok {
			// a refused accept (the window just closed) leaves the payment to the chain
			if _, err := n.Send(home, key, &computetypes.MsgAcceptResult{Creator: t.Creator, TaskId: id}); err != nil {
				n.T.Logf("task %d: accept: %v", id, err)
			}
		}
	})
	require.NoError(n.T, err, "task %d not final within %s", id, timeout)
	return t
}
