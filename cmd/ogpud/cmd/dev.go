package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/app"
)

const (
	// DevChainID is the chain id of `ogpud dev`.
	DevChainID = "ogpu-dev-1"
	// devKeysFile keeps the dev keys' mnemonics in the home, so a restart can print them again.
	devKeysFile = "dev-keys.json"
)

// DevAccount is a key `ogpud dev` creates in the test keyring.
type DevAccount struct {
	Name     string `json:"name"`
	Address  string `json:"address"`
	EthAddr  string `json:"eth_address"`
	Mnemonic string `json:"mnemonic"`
}

// devFunding is what each dev key receives from the community share, in OGPU. The team key
// holds the team share as a vesting account instead.
var devFunding = []struct {
	name   string
	amount int64
}{
	{"validator", 1_000_000},
	{"alice", 100_000},
	{"bob", 100_000},
	{"provider", 100_000},
}

// devSelfBond is the validator's stake on the dev chain, in OGPU.
const devSelfBond = 500_000

// DevCmd makes (or reuses) a single-validator dev chain and runs it.
func DevCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a single-validator dev chain (chain-id ogpu-dev-1, EVM chain id 1337, 1 s blocks)",
		Long: `Make a fresh single-validator chain in --home (default: a new temporary directory) and start it.
An existing home is reused and the same chain carries on; --reset wipes it first. Keys validator, alice,
bob, provider (funded from the community share) and team (the team share, vesting) are in the test
keyring of the home. Endpoints, all on 127.0.0.1: CometBFT RPC 26657, gRPC 9090, REST 1317,
JSON-RPC 8545, WebSocket 8546.`,
		Args: cobra.NoArgs,
		// dev makes its home itself and runs every step as a child process: the root's config
		// loading, which needs a home to exist, is not for it
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			reset, _ := cmd.Flags().GetBool("reset")
			if home == "" {
				dir, err := os.MkdirTemp("", "ogpu-dev-")
				if err != nil {
					return err
				}
				home = dir
			}
			home, err := filepath.Abs(home)
			if err != nil {
				return err
			}
			if reset {
				if err := os.RemoveAll(home); err != nil {
					return fmt.Errorf("--reset: %w", err)
				}
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}

			var accounts []DevAccount
			if _, err := os.Stat(filepath.Join(home, "config", "genesis.json")); err == nil {
				accounts, err = readDevAccounts(home)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Reusing the dev chain in %s\n", home)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "Making a dev chain in %s\n", home)
				if accounts, err = SetupDevHome(self, home); err != nil {
					return err
				}
			}
			printDevBanner(cmd, home, accounts)

			// the node (with its sidecar) replaces this process, so SIGINT and SIGTERM reach it directly
			return syscall.Exec(self, []string{self, "start", "--home", home, "--" + flagSidecarEmbedded}, os.Environ())
		},
	}
	cmd.Flags().String("home", "", "chain directory (default: a new temporary directory)")
	cmd.Flags().Bool("reset", false, "wipe --home before starting")
	return cmd
}

// The dev chain's sidecar: its Attestor address and the provider's bond.
const (
	devAttestorAddress = "127.0.0.1:26659"
	devProviderURL     = "http://127.0.0.1:8547"
	devProviderBond    = 10_000
)

// SetupDevHome writes a dev chain into home with the ogpud binary at self: genesis with the
// allocation, one validator, the dev keys, and configs on 127.0.0.1 with the standard ports.
func SetupDevHome(self, home string) ([]DevAccount, error) {
	run := func(args ...string) ([]byte, error) {
		return runSelf(self, append(args, "--home", home)...)
	}
	if _, err := run("init", "dev", "--chain-id", DevChainID); err != nil {
		return nil, err
	}

	var accounts []DevAccount
	for _, f := range devFunding {
		acc, err := addKey(run, f.name)
		if err != nil {
			return nil, err
		}
		accounts = append(accounts, acc)
		amount := sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(f.amount).Mul(oneOGPU))
		if _, err := run("genesis", "add-genesis-account", acc.Address, amount.String()); err != nil {
			return nil, err
		}
	}
	team, err := addKey(run, "team")
	if err != nil {
		return nil, err
	}
	accounts = append(accounts, team)
	bond := sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(devSelfBond).Mul(oneOGPU))
	if _, err := run("genesis", "gentx", "validator", bond.String(), "--chain-id", DevChainID,
		"--keyring-backend", "test", "--gas-prices", genesisGasPrice); err != nil {
		return nil, err
	}
	if _, err := run("genesis", "collect-gentxs"); err != nil {
		return nil, err
	}
	if _, err := run("genesis", "allocate", "--team", team.Address); err != nil {
		return nil, err
	}
	// the dev validator verifies results and the provider key runs them from the first block
	genFile := filepath.Join(home, "config", "genesis.json")
	if err := registerGenesisVerifiers(genFile, []string{accounts[0].Address}); err != nil {
		return nil, err
	}
	provider := accounts[slices.IndexFunc(accounts, func(a DevAccount) bool { return a.Name == "provider" })]
	if err := registerGenesisProvider(genFile, provider.Address, "dev-provider", devProviderURL,
		sdkmath.NewInt(devProviderBond).Mul(oneOGPU)); err != nil {
		return nil, err
	}

	if err := configureNode(home, nodeAddrs{host: "127.0.0.1", evmChainID: app.DevEVMChainID}); err != nil {
		return nil, err
	}
	// the embedded sidecar: the provider key runs tasks, the validator verifies them
	if err := editTOML(filepath.Join(home, "config", "app.toml"),
		tomlEdit{"sidecar", "address", quote(devAttestorAddress)},
		tomlEdit{"sidecar", "provider-key", quote("provider")},
		tomlEdit{"sidecar", "public-url", quote(devProviderURL)},
		tomlEdit{"sidecar", "validator-account", quote(accounts[0].Address)},
		tomlEdit{"sidecar", "allow-private-fetch", "true"}, // the provider serves on 127.0.0.1
	); err != nil {
		return nil, err
	}
	// the CLI then needs no --chain-id or --keyring-backend on this home
	for _, kv := range [][2]string{{"chain-id", DevChainID}, {"keyring-backend", "test"}} {
		if _, err := run("config", "set", "client", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	bz, err := json.MarshalIndent(accounts, "", "  ")
	if err != nil {
		return nil, err
	}
	return accounts, os.WriteFile(filepath.Join(home, devKeysFile), bz, 0o600)
}

var oneOGPU = sdkmath.NewIntWithDecimal(1, app.Decimals)

// genesisGasPrice pays for gentxs at the fee market's initial base fee (1 gwei).
const genesisGasPrice = "1000000000" + app.BaseDenom

// nodeAddrs are the listen addresses of one node.
type nodeAddrs struct {
	host       string // every service binds to this loopback address
	peers      string // persistent_peers, empty for a single node
	evmChainID uint64
}

// configureNode writes config.toml and app.toml of a test or dev node: every service on
// host, 1 s blocks, JSON-RPC with the dev namespaces, invariants checked every block.
func configureNode(home string, n nodeAddrs) error {
	if err := editTOML(filepath.Join(home, "config", "config.toml"),
		tomlEdit{"rpc", "laddr", quote("tcp://" + n.host + ":26657")},
		tomlEdit{"p2p", "laddr", quote("tcp://" + n.host + ":26656")},
		tomlEdit{"p2p", "persistent_peers", quote(n.peers)},
		tomlEdit{"p2p", "allow_duplicate_ip", "true"},
		tomlEdit{"p2p", "addr_book_strict", "false"},
		tomlEdit{"consensus", "timeout_commit", quote("1s")},
		tomlEdit{"mempool", "type", quote("app")},
		tomlEdit{"instrumentation", "prometheus", "false"},
	); err != nil {
		return err
	}
	return editTOML(filepath.Join(home, "config", "app.toml"),
		tomlEdit{"", "minimum-gas-prices", quote("0" + app.BaseDenom)},
		tomlEdit{"api", "enable", "true"},
		tomlEdit{"api", "address", quote("tcp://" + n.host + ":1317")},
		tomlEdit{"grpc", "address", quote(n.host + ":9090")},
		tomlEdit{"evm", "evm-chain-id", fmt.Sprint(n.evmChainID)},
		tomlEdit{"json-rpc", "enable", "true"},
		tomlEdit{"json-rpc", "address", quote(n.host + ":8545")},
		tomlEdit{"json-rpc", "ws-address", quote(n.host + ":8546")},
		tomlEdit{"json-rpc", "api", quote("eth,net,web3,txpool,debug")},
		tomlEdit{"json-rpc", "metrics-address", quote(n.host + ":6065")},
		tomlEdit{"ogpu", "check-invariants", "true"},
	)
}

// addKey creates a key in the test keyring and returns it with its mnemonic.
func addKey(run func(...string) ([]byte, error), name string) (DevAccount, error) {
	out, err := run("keys", "add", name, "--keyring-backend", "test", "--output", "json")
	if err != nil {
		return DevAccount{}, err
	}
	var acc DevAccount
	if err := json.Unmarshal(lastJSONLine(out), &acc); err != nil {
		return DevAccount{}, fmt.Errorf("keys add %s: %w (output %q)", name, err, out)
	}
	addr, err := sdk.AccAddressFromBech32(acc.Address)
	if err != nil {
		return DevAccount{}, err
	}
	acc.EthAddr = common.BytesToAddress(addr).Hex()
	return acc, nil
}

func lastJSONLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if bytes.HasPrefix(bytes.TrimSpace(lines[i]), []byte("{")) {
			return lines[i]
		}
	}
	return out
}

// runSelf runs the ogpud binary with args and returns its combined output.
func runSelf(self string, args ...string) ([]byte, error) {
	c := exec.Command(self, args...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("ogpud %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.Bytes(), nil
}

func readDevAccounts(home string) ([]DevAccount, error) {
	bz, err := os.ReadFile(filepath.Join(home, devKeysFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var accounts []DevAccount
	return accounts, json.Unmarshal(bz, &accounts)
}

func printDevBanner(cmd *cobra.Command, home string, accounts []DevAccount) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "\nogpu dev chain %s (EVM chain id %d), home %s\n\n", DevChainID, app.DevEVMChainID, home)
	fmt.Fprintln(w, "Keys (keyring-backend test):")
	for _, a := range accounts {
		fmt.Fprintf(w, "  %-9s %s  %s\n            mnemonic: %s\n", a.Name, a.Address, a.EthAddr, a.Mnemonic)
	}
	fmt.Fprint(w, `
Endpoints:
  CometBFT RPC  http://127.0.0.1:26657
  gRPC          127.0.0.1:9090
  REST          http://127.0.0.1:1317
  JSON-RPC      http://127.0.0.1:8545
  WebSocket     ws://127.0.0.1:8546

`)
}
