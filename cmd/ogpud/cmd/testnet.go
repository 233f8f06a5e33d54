package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cometbft/cometbft/p2p"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/app"
)

// TestnetCmd groups the local network commands.
func TestnetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Local multi-validator networks",
	}
	cmd.AddCommand(testnetInitFilesCmd())
	return cmd
}

func testnetInitFilesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init-files",
		Short: "Write the homes of an N-validator network on 127.0.0.1 … 127.0.0.N",
		Long: `Write one home per validator under --output-dir (node0, node1, …). Node i listens on
127.0.0.(i+1) with the standard ports (P2P 26656, RPC 26657, gRPC 9090, REST 1317, JSON-RPC 8545/8546),
and all share one genesis with the 21,000,000 OGPU allocation. Start each with
  ogpud start --home DIR/nodeI`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, _ := cmd.Flags().GetInt("v")
			dir, _ := cmd.Flags().GetString("output-dir")
			chainID, _ := cmd.Flags().GetString("chain-id")
			evmChainID, _ := cmd.Flags().GetUint64("evm-chain-id")
			providers, _ := cmd.Flags().GetInt("providers")
			if n < 1 || n > 250 {
				return fmt.Errorf("--v %d: must be between 1 and 250", n)
			}
			if providers < 0 || providers > n {
				return fmt.Errorf("--providers %d: must be between 0 and --v (%d)", providers, n)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if err := InitTestnetFiles(self, dir, chainID, evmChainID, n, providers); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %d validator homes in %s (chain-id %s)\n", n, dir, chainID)
			return nil
		},
	}
	cmd.Flags().Int("v", 4, "number of validators")
	cmd.Flags().Int("providers", 2, "how many of the first nodes also hold a registered and bonded provider key")
	cmd.Flags().String("output-dir", ".localnet", "directory for the validator homes")
	cmd.Flags().String("chain-id", "ogpu-local-1", "chain id")
	cmd.Flags().Uint64("evm-chain-id", app.DefaultEVMChainID, "EVM chain id")
	return cmd
}

// NodeHost is the loopback address node i of a local network listens on.
func NodeHost(i int) string { return fmt.Sprintf("127.0.0.%d", i+1) }

// ProviderURL is where the provider sidecar beside node i serves its results.
func ProviderURL(i int) string { return "http://" + NodeHost(i) + ":8548" }

// Genesis funds and bond of the testnet's provider keys, in OGPU.
const (
	testnetProviderFund = 20_000
	testnetProviderBond = 10_000
)

// InitTestnetFiles writes n validator homes under dir sharing one genesis; the first nProviders
// of them also hold a provider key, registered and bonded at genesis.
func InitTestnetFiles(self, dir, chainID string, evmChainID uint64, n, nProviders int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("--output-dir %s: already exists; remove it first", dir)
	}
	homes := make([]string, n)
	validators := make([]DevAccount, n)
	for i := range homes {
		homes[i] = filepath.Join(dir, fmt.Sprintf("node%d", i))
		run := func(args ...string) ([]byte, error) { return runSelf(self, append(args, "--home", homes[i])...) }
		if _, err := run("init", fmt.Sprintf("node%d", i), "--chain-id", chainID); err != nil {
			return err
		}
		if validators[i], err = addKey(run, "validator"); err != nil {
			return err
		}
	}
	// the first nodes also hold a provider key, for provider-only sidecars beside them
	providers := make([]DevAccount, min(nProviders, n))
	for i := range providers {
		run := func(args ...string) ([]byte, error) { return runSelf(self, append(args, "--home", homes[i])...) }
		if providers[i], err = addKey(run, "provider"); err != nil {
			return err
		}
	}
	genesis0 := filepath.Join(homes[0], "config", "genesis.json")
	// validators are paid from the community share (3,150,000 OGPU): up to 600,000 OGPU each,
	// five sixths of it bonded
	perValidator := min(int64(600_000), 3_000_000/int64(n))
	fund := sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(perValidator).Mul(oneOGPU))
	for _, v := range validators {
		if _, err := runSelf(self, "genesis", "add-genesis-account", v.Address, fund.String(), "--home", homes[0]); err != nil {
			return err
		}
	}
	providerFund := sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(testnetProviderFund).Mul(oneOGPU))
	for _, p := range providers {
		if _, err := runSelf(self, "genesis", "add-genesis-account", p.Address, providerFund.String(), "--home", homes[0]); err != nil {
			return err
		}
	}

	gentxDir := filepath.Join(dir, "gentxs")
	if err := os.MkdirAll(gentxDir, 0o755); err != nil {
		return err
	}
	bond := sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(perValidator*5/6).Mul(oneOGPU))
	for i, home := range homes {
		if i > 0 {
			if err := copyFile(genesis0, filepath.Join(home, "config", "genesis.json")); err != nil {
				return err
			}
		}
		if _, err := runSelf(self, "genesis", "gentx", "validator", bond.String(), "--home", home,
			"--chain-id", chainID, "--keyring-backend", "test", "--gas-prices", genesisGasPrice,
			"--ip", NodeHost(i), "--output-document", filepath.Join(gentxDir, fmt.Sprintf("node%d.json", i))); err != nil {
			return err
		}
	}
	if _, err := runSelf(self, "genesis", "collect-gentxs", "--gentx-dir", gentxDir, "--home", homes[0]); err != nil {
		return err
	}
	team, err := addKey(func(args ...string) ([]byte, error) { return runSelf(self, append(args, "--home", homes[0])...) }, "team")
	if err != nil {
		return err
	}
	if _, err := runSelf(self, "genesis", "allocate", "--team", team.Address, "--home", homes[0]); err != nil {
		return err
	}
	operators := make([]string, n)
	for i := range validators {
		operators[i] = validators[i].Address
	}
	if err := registerGenesisVerifiers(genesis0, operators); err != nil {
		return err
	}
	for i, p := range providers {
		if err := registerGenesisProvider(genesis0, p.Address, fmt.Sprintf("provider%d", i), ProviderURL(i),
			sdkmath.NewInt(testnetProviderBond).Mul(oneOGPU)); err != nil {
			return err
		}
	}

	peers := make([]string, n)
	for i, home := range homes {
		key, err := p2p.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
		if err != nil {
			return err
		}
		peers[i] = fmt.Sprintf("%s@%s:26656", key.ID(), NodeHost(i))
	}
	for i, home := range homes {
		if i > 0 {
			if err := copyFile(genesis0, filepath.Join(home, "config", "genesis.json")); err != nil {
				return err
			}
		}
		others := append(append([]string{}, peers[:i]...), peers[i+1:]...)
		if err := configureNode(home, nodeAddrs{host: NodeHost(i), peers: strings.Join(others, ","), evmChainID: evmChainID}); err != nil {
			return err
		}
		// the node's embedded sidecar verifies for its validator (ogpud start --sidecar.embedded);
		// `ogpud sidecar --provider-key provider …` runs a provider beside nodes 0 and 1
		if err := editTOML(filepath.Join(home, "config", "app.toml"),
			tomlEdit{"sidecar", "address", quote(NodeHost(i) + ":26659")},
			tomlEdit{"sidecar", "validator-account", quote(validators[i].Address)},
			tomlEdit{"sidecar", "listen", quote(NodeHost(i) + ":8548")},
			tomlEdit{"sidecar", "public-url", quote(ProviderURL(i))},
			tomlEdit{"sidecar", "allow-private-fetch", "true"}, // providers serve on 127.0.0.x
		); err != nil {
			return err
		}
		// the CLI on this home then needs no --chain-id, --keyring-backend or --node
		for _, kv := range [][2]string{{"chain-id", chainID}, {"keyring-backend", "test"}, {"node", "tcp://" + NodeHost(i) + ":26657"}} {
			if _, err := runSelf(self, "config", "set", "client", kv[0], kv[1], "--home", home); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	bz, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, bz, 0o600)
}
