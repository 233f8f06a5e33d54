package network

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/app"
)

// DevChainID is the chain id of `ogpud dev`.
const DevChainID = "ogpu-dev-1"

// DevAccount is an entry of the dev-keys.json `ogpud dev` writes in its home.
type DevAccount struct {
	Name     string `json:"name"`
	Address  string `json:"address"`
	EthAddr  string `json:"eth_address"`
	Mnemonic string `json:"mnemonic"`
}

// DevConfig says how Dev starts a dev chain.
type DevConfig struct {
	// Home is the chain's home; empty runs `ogpud dev` with no --home, as a new user does (the
	// chain then makes its own directory under $TMPDIR, and the network knows no keys).
	Home string
	// Height is the height the node reaches before Dev returns; 3 when zero.
	Height int64
}

// Dev starts `ogpud dev` (one validator on 127.0.0.1 with its embedded sidecar as provider and
// verifier), stopped at cleanup, as a Network of one node, and waits for cfg.Height. The dev
// keys of its home (alice, bob, provider, team, …) are known to the network by address.
func Dev(t testing.TB, cfg DevConfig) *Network {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	n := newNetwork(t, bin, dir, DevChainID, app.DevEVMChainID)
	if cfg.Home == "" {
		n.add(NewNode(bin, filepath.Join(dir, "dev"), "127.0.0.1", "dev"))
	} else {
		n.add(NewNode(bin, cfg.Home, "127.0.0.1", "dev", "--home", cfg.Home))
	}
	n.Start(0)
	n.Nodes[0].WaitHeight(t, cmp.Or(cfg.Height, 3), 3*time.Minute)
	if cfg.Home != "" {
		for _, a := range n.DevAccounts() {
			n.remember(a.Address, cfg.Home, a.Name)
		}
	}
	return n
}

// DevAccounts are the dev keys of the dev chain's home, by name.
func (n *Network) DevAccounts() map[string]DevAccount {
	n.T.Helper()
	bz, err := os.ReadFile(filepath.Join(n.Homes[0], "dev-keys.json"))
	require.NoError(n.T, err)
	var list []DevAccount
	require.NoError(n.T, json.Unmarshal(bz, &list))
	m := map[string]DevAccount{}
	for _, a := range list {
		m[a.Name] = a
	}
	return m
}
