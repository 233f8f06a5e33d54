package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/opengpu/ogpu/testutil/network"
)

// checkTxHost is the loopback address of TestCheckTx's node: the other end-to-end tests use
// 127.0.0.1-4 with the same ports, and may run at the same time.
const checkTxHost = "127.0.0.9"

// checkTxMaxTxBytes is the node's mempool max_tx_bytes: below the RPC's max_body_bytes (1 MB),
// so that a tx above it reaches the mempool's size check rather than the HTTP server's.
const checkTxMaxTxBytes = 64 << 10

// TestCheckTx sends malformed txs with CometBFT's broadcast_tx_sync to a one-validator chain:
// each gets its error answer at once, and a valid bank send right after is accepted.
func TestCheckTx(t *testing.T) {
	net := network.New(t, network.Config{ChainID: "ogpu-checktx-1", Validators: 1, Hosts: []string{checkTxHost},
		Setup: func(_ int, home string) { moveNode(t, home, checkTxHost) }})
	node, bin, home := net.Nodes[0], net.Bin, net.Homes[0]

	signed := signedBankSend(t, bin, home)
	random := make([]byte, 7)
	_, err := rand.Read(random)
	require.NoError(t, err)
	large := make([]byte, checkTxMaxTxBytes-1024)
	_, err = rand.Read(large)
	require.NoError(t, err)

	tests := []struct {
		name string
		tx   []byte
	}{
		{"7 random bytes", random},
		{"a valid tx cut in half", signed[:len(signed)/2]},
		{"a valid tx with a byte dropped", signed[:len(signed)-1]},
		{"random bytes just under max_tx_bytes", large},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, rpcErr := broadcastTxSync(t, node, tc.tx)
			require.Nil(t, rpcErr, "answered with a CheckTx response")
			require.Equal(t, sdkerrors.ErrTxDecode.Codespace(), res.Codespace, res.Log)
			require.Equal(t, sdkerrors.ErrTxDecode.ABCICode(), res.Code, res.Log)
			require.Contains(t, res.Log, sdkerrors.ErrTxDecode.Error())
		})
	}

	t.Run("a tx above max_tx_bytes", func(t *testing.T) {
		tx := make([]byte, checkTxMaxTxBytes+1)
		_, err := rand.Read(tx)
		require.NoError(t, err)
		// CometBFT's mempool refuses it before the app sees it, as an RPC error
		_, rpcErr := broadcastTxSync(t, node, tx)
		require.NotNil(t, rpcErr)
		require.Contains(t, strings.ToLower(rpcErr.Data), "tx too large")
		require.Contains(t, rpcErr.Data, fmt.Sprint(checkTxMaxTxBytes))
	})

	t.Run("a valid bank send right after is accepted", func(t *testing.T) {
		res, rpcErr := broadcastTxSync(t, node, signed)
		require.Nil(t, rpcErr)
		require.Zero(t, res.Code, res.Log)
	})
}

// moveNode makes a home written by `testnet init-files` for 127.0.0.1 listen on host instead,
// and lowers its mempool's max_tx_bytes to checkTxMaxTxBytes.
func moveNode(t *testing.T, home, host string) {
	t.Helper()
	for _, name := range []string{"config.toml", "app.toml", "client.toml"} {
		path := filepath.Join(home, "config", name)
		bz, err := os.ReadFile(path)
		require.NoError(t, err)
		s := strings.ReplaceAll(string(bz), "127.0.0.1:", host+":")
		s = strings.ReplaceAll(s, `"localhost:6060"`, `"`+host+`:6060"`) // pprof
		if name == "config.toml" {
			require.Contains(t, s, "\nmax_tx_bytes = 1048576\n")
			s = strings.Replace(s, "\nmax_tx_bytes = 1048576\n", fmt.Sprintf("\nmax_tx_bytes = %d\n", checkTxMaxTxBytes), 1)
		}
		require.NotContains(t, s, "127.0.0.1:", name)
		require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	}
}

// signedBankSend is the bytes of a signed bank send from the validator's key to the provider's.
func signedBankSend(t *testing.T, bin, home string) []byte {
	t.Helper()
	to := strings.TrimSpace(string(network.Run(t, bin, "keys", "show", "provider", "-a", "--home", home)))
	unsigned := filepath.Join(t.TempDir(), "unsigned.json")
	out := network.Run(t, bin, "tx", "bank", "send", "validator", to, "1000aogpu", "--home", home,
		"--gas", "200000", "--gas-prices", "1000000000aogpu", "--generate-only")
	require.NoError(t, os.WriteFile(unsigned, out, 0o600))
	signed := filepath.Join(t.TempDir(), "signed.json")
	network.Run(t, bin, "tx", "sign", unsigned, "--from", "validator", "--home", home, "--output-document", signed)
	encoded := strings.TrimSpace(string(network.Run(t, bin, "tx", "encode", signed, "--home", home)))
	bz, err := base64.StdEncoding.DecodeString(encoded)
	require.NoError(t, err, "tx encode output %q", encoded)
	return bz
}

// broadcastResult is the result of broadcast_tx_sync: the tx's CheckTx response.
type broadcastResult struct {
	Code      uint32 `json:"code"`
	Log       string `json:"log"`
	Codespace string `json:"codespace"`
}

// rpcError is a JSON-RPC error.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

// broadcastTxSync sends tx to the node's broadcast_tx_sync and returns its result or its error.
// The client gives up after 10 s: an answer that never comes fails the test instead of hanging
// it.
func broadcastTxSync(t *testing.T, node *network.Node, tx []byte) (broadcastResult, *rpcError) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync",
		"params": map[string]string{"tx": base64.StdEncoding.EncodeToString(tx)},
	})
	require.NoError(t, err)
	client := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, node.RPC(), bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	require.NoError(t, err, "broadcast_tx_sync of a %d-byte tx got no answer", len(tx))
	defer res.Body.Close()
	var answer struct {
		Result *broadcastResult `json:"result"`
		Error  *rpcError        `json:"error"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&answer))
	if answer.Error != nil {
		return broadcastResult{}, answer.Error
	}
	require.NotNil(t, answer.Result, "neither a result nor an error")
	return *answer.Result, nil
}
