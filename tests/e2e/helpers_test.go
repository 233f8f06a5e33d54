package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/opengpu/ogpu/testutil/network"
)

// devAccount is an entry of dev-keys.json.
type devAccount struct {
	Name     string `json:"name"`
	Address  string `json:"address"`
	EthAddr  string `json:"eth_address"`
	Mnemonic string `json:"mnemonic"`
}

func readDevAccounts(t *testing.T, home string) map[string]devAccount {
	t.Helper()
	bz, err := os.ReadFile(filepath.Join(home, "dev-keys.json"))
	require.NoError(t, err)
	var list []devAccount
	require.NoError(t, json.Unmarshal(bz, &list))
	m := map[string]devAccount{}
	for _, a := range list {
		m[a.Name] = a
	}
	return m
}

// balance reads an account's aogpu balance over REST at the latest height.
func balance(t testing.TB, n *network.Node, addr string) sdkmath.Int {
	t.Helper()
	var res struct {
		Balance struct {
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, network.GetJSON(ctx, n.REST()+"/cosmos/bank/v1beta1/balances/"+addr+"/by_denom?denom=aogpu", &res))
	amt, ok := sdkmath.NewIntFromString(res.Balance.Amount)
	require.True(t, ok, "balance %q", res.Balance.Amount)
	return amt
}

// sendTx sends `ogpud tx ...` from the dev home and waits until the tx is in a block; it
// returns the tx's result code and raw log.
func sendTx(t *testing.T, bin, home string, args ...string) (uint32, string) {
	t.Helper()
	args = append(append([]string{"tx"}, args...), "--home", home, "--gas-prices", "1000000000aogpu",
		"--gas", "auto", "--gas-adjustment", "1.5", "--yes", "--output", "json")
	out, err := network.TryRun(bin, args...)
	if err != nil {
		// a tx rejected by simulation or CheckTx never reaches a block
		return 1, err.Error()
	}
	var res struct {
		TxHash string `json:"txhash"`
		Code   uint32 `json:"code"`
		RawLog string `json:"raw_log"`
	}
	require.NoError(t, json.Unmarshal(network.LastJSON(out), &res), "tx output %s", out)
	if res.Code != 0 {
		return res.Code, res.RawLog
	}
	query := []string{"q", "tx", res.TxHash, "--home", home, "--output", "json"}
	if i := slices.Index(args, "--node"); i >= 0 && i+1 < len(args) {
		query = append(query, "--node", args[i+1]) // the home's own node may be down
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := network.TryRun(bin, query...)
		if err == nil {
			var q struct {
				Code   uint32 `json:"code"`
				RawLog string `json:"raw_log"`
			}
			require.NoError(t, json.Unmarshal(network.LastJSON(out), &q))
			return q.Code, q.RawLog
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("tx %s not found in a block within 30 s", res.TxHash)
	return 0, ""
}

// ogpu returns n OGPU in aogpu.
func ogpu(n int64) sdkmath.Int { return sdkmath.NewInt(n).Mul(sdkmath.NewIntWithDecimal(1, 18)) }

func coin(amt sdkmath.Int) string { return fmt.Sprintf("%saogpu", amt) }

// waitServing waits until a sidecar answers on its blob and metrics server at base: it bids and
// verifies from its first pass after that.
func waitServing(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(base + "/metrics")
		if err == nil {
			res.Body.Close()
			return
		}
		require.True(t, time.Now().Before(deadline), "sidecar at %s never served: %v", base, err)
		time.Sleep(200 * time.Millisecond)
	}
}
