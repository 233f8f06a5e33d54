package cmd

import (
	cmtcfg "github.com/cometbft/cometbft/config"

	evmhd "github.com/cosmos/evm/crypto/hd"
	evmserverconfig "github.com/cosmos/evm/server/config"

	serverconfig "github.com/cosmos/cosmos-sdk/server/config"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/app"
)

// AppConfig is app.toml: the SDK server, the EVM and its JSON-RPC, and ogpu's own section.
type AppConfig struct {
	serverconfig.Config `mapstructure:",squash"`

	EVM     evmserverconfig.EVMConfig     `mapstructure:"evm"`
	JSONRPC evmserverconfig.JSONRPCConfig `mapstructure:"json-rpc"`
	TLS     evmserverconfig.TLSConfig     `mapstructure:"tls"`
	Ogpu    OgpuConfig                    `mapstructure:"ogpu"`
	Sidecar SidecarConfig                 `mapstructure:"sidecar"`
}

// SidecarConfig is the [sidecar] section of app.toml: where the node finds its sidecar, and
// the sidecar's own settings when it runs embedded (`ogpud start --sidecar.embedded`) or as
// `ogpud sidecar`.
type SidecarConfig struct {
	// Address is host:port of the sidecar's Attestor gRPC service; empty votes without attestations.
	Address          string `mapstructure:"address"`
	ProviderKey      string `mapstructure:"provider-key"`
	Listen           string `mapstructure:"listen"`
	PublicURL        string `mapstructure:"public-url"`
	ValidatorAccount string `mapstructure:"validator-account"`
	PricePerGMAC     string `mapstructure:"price-per-gmac"`
	MinPrice         string `mapstructure:"min-price"`
	MaxConcurrent    int    `mapstructure:"max-concurrent"`
	RegisterBond     string `mapstructure:"register-bond"`
	Executor         string `mapstructure:"executor"`
	BlobRetention    string `mapstructure:"blob-retention"`
	BlockTime        string `mapstructure:"block-time"`
	// MaxConcurrentVerifications bounds the results the verifier checks at once.
	MaxConcurrentVerifications int `mapstructure:"max-concurrent-verifications"`
	// StreamConcurrency bounds the stream requests a replica runs at once.
	StreamConcurrency int `mapstructure:"stream-concurrency"`
	// AllowPrivateFetch lets fetches reach loopback and private addresses: dev and test chains.
	AllowPrivateFetch bool `mapstructure:"allow-private-fetch"`
}

// OgpuConfig is the [ogpu] section of app.toml.
type OgpuConfig struct {
	// CheckInvariants ends every block with a check of all invariants (test and dev chains).
	CheckInvariants bool `mapstructure:"check-invariants"`
}

const ogpuConfigTemplate = `
###############################################################################
###                                  ogpu                                   ###
###############################################################################

[ogpu]

# Check every invariant (fixed supply, module balances) at the end of every block; a broken
# invariant halts the chain. On for dev and test chains; it costs time on a busy chain.
check-invariants = {{ .Ogpu.CheckInvariants }}

[sidecar]

# host:port of this validator's sidecar Attestor service (gRPC). The node asks it for
# attestations in every vote; when it is empty, down or slow (over 500 ms) the node votes with an
# empty extension and the chain goes on.
address = "{{ .Sidecar.Address }}"

# The sidecar's own settings, used by "ogpud start --sidecar.embedded" and "ogpud sidecar".
# Provider role: the key that bids and submits, where results are served, the prices (aogpu per
# 10^9 multiply-adds, and the least bid), how many won tasks it holds at once (it bids only while
# it holds fewer, and runs at most that many together), and a bond to register with when the key
# is not a provider yet (empty: do not register).
provider-key = "{{ .Sidecar.ProviderKey }}"
listen = "{{ .Sidecar.Listen }}"
public-url = "{{ .Sidecar.PublicURL }}"
price-per-gmac = "{{ .Sidecar.PricePerGMAC }}"
min-price = "{{ .Sidecar.MinPrice }}"
max-concurrent = {{ .Sidecar.MaxConcurrent }}
register-bond = "{{ .Sidecar.RegisterBond }}"
# Executor: "auto" (CUDA through the driver and cuBLAS when a GPU is usable, else the CPU), "cpu", "cuda".
executor = "{{ .Sidecar.Executor }}"
# How long results and the inputs kept for the committee stay in the blob store after their task
# settles (COMPLETED, FAILED, EXPIRED or CANCELLED), as a duration ("24h", "90m").
blob-retention = "{{ .Sidecar.BlobRetention }}"
# The block time the bid engine assumes until it has measured the chain's: it skips tasks whose
# execution window is too short for the work ahead of them.
block-time = "{{ .Sidecar.BlockTime }}"
# Verifier role: the account of this validator's operator (empty: no verifier role), and how many
# results it checks at once (the rest wait in a queue).
validator-account = "{{ .Sidecar.ValidatorAccount }}"
max-concurrent-verifications = {{ .Sidecar.MaxConcurrentVerifications }}
# stream requests a replica runs at once
stream-concurrency = {{ .Sidecar.StreamConcurrency }}
# Let fetches of inputs and results reach loopback, private and link-local addresses. Only for dev
# and test chains, whose providers serve on 127.0.0.x: on a public chain a task could otherwise
# make the sidecar probe its own host and network.
allow-private-fetch = {{ .Sidecar.AllowPrivateFetch }}
`

// appConfigTemplate is the app.toml template.
const appConfigTemplate = serverconfig.DefaultConfigTemplate + evmserverconfig.DefaultEVMConfigTemplate + ogpuConfigTemplate

// defaultAppConfig is what `ogpud init` writes: zero minimum gas price for Cosmos txs (the EVM
// fee market sets the base fee), the EVM chain id 1071, and JSON-RPC on so dApps work.
func defaultAppConfig(evmChainID uint64) AppConfig {
	srv := serverconfig.DefaultConfig()
	srv.MinGasPrices = "0" + app.BaseDenom

	evm := evmserverconfig.DefaultEVMConfig()
	evm.EVMChainID = evmChainID

	rpc := evmserverconfig.DefaultJSONRPCConfig()
	rpc.Enable = true

	return AppConfig{
		Config:  *srv,
		EVM:     *evm,
		JSONRPC: *rpc,
		TLS:     *evmserverconfig.DefaultTLSConfig(),
		Sidecar: SidecarConfig{
			Listen: "127.0.0.1:8547", PricePerGMAC: "1000000000000", MinPrice: "1000000000000000", MaxConcurrent: 2, Executor: "auto",
			BlobRetention: "24h", BlockTime: "1s", MaxConcurrentVerifications: 2, StreamConcurrency: 4,
		},
	}
}

// defaultCometConfig is config.toml: CometBFT's defaults (1 s blocks) with the app-side
// mempool the EVM mempool needs.
func defaultCometConfig() *cmtcfg.Config {
	cfg := cmtcfg.DefaultConfig()
	cfg.Mempool.Type = cmtcfg.MempoolTypeApp
	return cfg
}

// SetSDKConfig sets the bech32 prefixes and the Ethereum HD path (coin type 60) once per process.
func SetSDKConfig() {
	cfg := sdk.GetConfig()
	app.SetBech32Prefixes(cfg)
	cfg.SetCoinType(evmhd.Bip44CoinType)
	cfg.SetPurpose(sdk.Purpose)
	cfg.Seal()
}
