package network

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	// ProviderArgs are appended to each provider sidecar's command line.
	ProviderArgs []string
	// Height is the height node 0 reaches before New returns; 3 when zero.
	Height int64
	// Hosts are the loopback addresses of the first nodes when not 127.0.0.1, .2, …; Setup
	// moves those homes there.
	Hosts []string
}

// New writes the homes with `ogpud testnet init-files`, applies cfg's genesis edit and setup,
// starts every node and provider sidecar (stopped at cleanup) and waits for node 0 to reach
// cfg.Height.
func New(t testing.TB, cfg Config) *Network {
	t.Helper()
	validators := cmp.Or(cfg.Validators, 4)
	bin := Binary(t)
	dir := filepath.Join(t.TempDir(), "localnet")
	Run(t, bin, "testnet", "init-files", "--v", strconv.Itoa(validators), "--output-dir", dir, "--chain-id", cfg.ChainID,
		"--providers", strconv.Itoa(min(validators, max(2, cfg.Providers))))
	n := newNetwork(t, bin, dir, cfg.ChainID, testnetEVMChainID)
	for i := range validators {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if cfg.Genesis != nil {
			EditGenesis(t, filepath.Join(home, "config", "genesis.json"), cfg.Genesis)
		}
		if cfg.Setup != nil {
			cfg.Setup(i, home)
		}
		host := fmt.Sprintf("127.0.0.%d", i+1)
		if i < len(cfg.Hosts) {
			host = cfg.Hosts[i]
		}
		n.add(NewNode(bin, home, host, append([]string{"start", "--home", home}, cfg.StartArgs...)...))
	}
	for i := range cfg.Providers {
		n.Providers = append(n.Providers, NewNode(bin, filepath.Join(dir, fmt.Sprintf("provider%d", i)), n.Nodes[i].Host,
			append([]string{"sidecar", "--home", n.Homes[i], "--provider-key", "provider", "--validator-account", ""}, cfg.ProviderArgs...)...))
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
	n.T.Helper()
	for i := range n.Nodes {
		n.Start(i)
	}
	for _, p := range n.Providers {
		p.Start(n.T)
	}
}

// StopAll stops every provider sidecar, then every node.
func (n *Network) StopAll() {
	n.T.Helper()
	for _, p := range n.Providers {
		p.Stop(n.T)
	}
	for i := range n.Nodes {
		n.Stop(i)
	}
}

// Restart stops node i and starts it again, and waits until it has committed a block past the
// network's height (on a network of one node, two blocks past its height before the stop).
func (n *Network) Restart(i int) {
	n.T.Helper()
	st, err := n.Up().Status(context.Background())
	require.NoError(n.T, err)
	n.Stop(i)
	n.Start(i)
	want := st.Height + 1
	if len(n.Nodes) == 1 {
		want = st.Height + 2
	}
	n.Nodes[i].WaitHeight(n.T, want, 3*time.Minute)
}

// SetSidecarOption sets key = value in node i's [sidecar] section of app.toml (value "" removes
// it) and restarts the node, whose embedded sidecar reads it.
func (n *Network) SetSidecarOption(i int, key, value string) {
	n.T.Helper()
	path := filepath.Join(n.Homes[i], "config", "app.toml")
	bz, err := os.ReadFile(path)
	require.NoError(n.T, err)
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(string(bz), "\n"), "\n") {
		if !strings.HasPrefix(line, key+" =") {
			lines = append(lines, line)
		}
	}
	if value != "" {
		lines = append(lines, key+" = "+value) // [sidecar] is the last section
	}
	require.NoError(n.T, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	n.Restart(i)
}
