package e2e

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/testutil/network"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// testProviderCLI registers a dev key as a provider with --auto (this machine has no GPU, so it
// becomes a CPU provider), bonds, queries and unbonds through the CLI. (The dev chain's own
// `provider` key is registered by its sidecar.)
func testProviderCLI(t *testing.T, net *network.Network, provider network.DevAccount) {
	home := net.Homes[0]
	query := func(out any, args ...string) {
		t.Helper()
		args = append(append([]string{"q", "staking-gpu"}, args...), "--home", home, "--output", "json")
		require.NoError(t, json.Unmarshal(network.Run(t, net.Bin, args...), out))
	}
	// the CLI's txs are what this checks
	tx := func(args ...string) error { return net.TryTx(home, append(args, "--from", provider.Name)...) }

	require.NoError(t, tx("staking-gpu", "register-provider", "--auto", "--moniker", "dev-provider", "--endpoint", "http://127.0.0.1:8547"))

	var p struct {
		Provider struct {
			Operator  string   `json:"operator"`
			Moniker   string   `json:"moniker"`
			Endpoint  string   `json:"endpoint"`
			Gpus      []any    `json:"gpus"`
			Workloads []string `json:"workloads"`
			Bonded    string   `json:"bonded"`
		} `json:"provider"`
	}
	query(&p, "provider", provider.Address)
	require.Equal(t, provider.Address, p.Provider.Operator)
	require.Equal(t, "dev-provider", p.Provider.Moniker)
	require.Empty(t, p.Provider.Gpus, "no GPU here: a CPU provider")
	require.Equal(t, workload.Names(), p.Provider.Workloads, "a CPU provider runs every workload")

	err := tx("staking-gpu", "register-provider", "--auto", "--moniker", "again", "--endpoint", "http://127.0.0.1:8547")
	require.ErrorContains(t, err, "provider already registered")

	require.NoError(t, tx("staking-gpu", "bond", coin(ogpu(5_000))))
	require.ErrorContains(t, tx("staking-gpu", "unbond", coin(ogpu(6_000))), "insufficient bonded stake")
	require.NoError(t, tx("staking-gpu", "unbond", coin(ogpu(2_000))))

	var stake struct {
		Bonded    string `json:"bonded"`
		Unbonding string `json:"unbonding"`
		Entries   []struct {
			Amount         string `json:"amount"`
			CompletionTime string `json:"completion_time"`
		} `json:"entries"`
	}
	query(&stake, "stake", provider.Address)
	require.Equal(t, ogpu(3_000).String(), stake.Bonded)
	require.Equal(t, ogpu(2_000).String(), stake.Unbonding)
	require.Len(t, stake.Entries, 1)
	require.NotEmpty(t, stake.Entries[0].CompletionTime)

	var list struct {
		Providers []struct {
			Operator string `json:"operator"`
		} `json:"providers"`
	}
	query(&list, "providers", "--workload", "gemm-int8/v1", "--jailed", "not-jailed")
	var ops []string
	for _, p := range list.Providers {
		ops = append(ops, p.Operator)
	}
	require.Contains(t, ops, provider.Address)
	list.Providers = nil
	query(&list, "providers", "--gpu-model", "H100")
	require.Empty(t, list.Providers)

	var pool struct {
		Pool struct {
			Total string `json:"total"`
		} `json:"pool"`
		Remaining string `json:"remaining"`
	}
	query(&pool, "reward-pool")
	require.Equal(t, ogpu(10_500_000).String(), pool.Pool.Total, "the release starts from the 50% provider share")
}
