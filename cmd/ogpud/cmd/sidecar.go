package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/client/flags"
	sdkserver "github.com/cosmos/cosmos-sdk/server"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"

	"github.com/opengpu/ogpu/sidecar"
)

const flagSidecarEmbedded = "sidecar.embedded"

// sidecarConfig reads the [sidecar] section (and the node's gRPC address and chain ids) of the
// app.toml behind opts.
func sidecarConfig(opts servertypes.AppOptions) (sidecar.Config, error) {
	home := cast.ToString(opts.Get(flags.FlagHome))
	chainID, err := chainIDFromOpts(opts)
	if err != nil {
		return sidecar.Config{}, err
	}
	intOf := func(key string) (sdkmath.Int, error) {
		s := cast.ToString(opts.Get(key))
		if s == "" {
			return sdkmath.ZeroInt(), nil
		}
		v, ok := sdkmath.NewIntFromString(s)
		if !ok {
			return v, fmt.Errorf("app.toml %s = %q: want an amount of aogpu", key, s)
		}
		return v, nil
	}
	cfg := sidecar.Config{
		Home: home, KeyringBackend: "test", ChainID: chainID,
		EVMChainID:       cast.ToUint64(opts.Get("evm.evm-chain-id")),
		GRPC:             cast.ToString(opts.Get("grpc.address")),
		RPC:              rpcURL(cast.ToString(opts.Get("rpc.laddr"))),
		Listen:           cast.ToString(opts.Get("sidecar.listen")),
		PublicURL:        cast.ToString(opts.Get("sidecar.public-url")),
		AttestorListen:   cast.ToString(opts.Get("sidecar.address")),
		ProviderKey:      cast.ToString(opts.Get("sidecar.provider-key")),
		MaxConcurrent:    cast.ToInt(opts.Get("sidecar.max-concurrent")),
		ValidatorAccount: cast.ToString(opts.Get("sidecar.validator-account")),
		Executor:         cast.ToString(opts.Get("sidecar.executor")),
	}
	if kb := cast.ToString(opts.Get("sidecar.keyring-backend")); kb != "" {
		cfg.KeyringBackend = kb
	}
	cfg.Provider = cfg.ProviderKey != ""
	cfg.Verifier = cfg.ValidatorAccount != ""
	if cfg.PricePerGMAC, err = intOf("sidecar.price-per-gmac"); err != nil {
		return cfg, err
	}
	if cfg.MinPrice, err = intOf("sidecar.min-price"); err != nil {
		return cfg, err
	}
	if cfg.RegisterBond, err = intOf("sidecar.register-bond"); err != nil {
		return cfg, err
	}
	durationOf := func(key string) (time.Duration, error) {
		s := cast.ToString(opts.Get(key))
		if s == "" {
			return 0, nil // the sidecar's default
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("app.toml %s = %q: want a duration such as 24h or 1.5s", key, s)
		}
		return d, nil
	}
	if cfg.BlobRetention, err = durationOf("sidecar.blob-retention"); err != nil {
		return cfg, err
	}
	if cfg.BlockTime, err = durationOf("sidecar.block-time"); err != nil {
		return cfg, err
	}
	cfg.MaxConcurrentVerifications = cast.ToInt(opts.Get("sidecar.max-concurrent-verifications"))
	cfg.AllowPrivateFetch = cast.ToBool(opts.Get("sidecar.allow-private-fetch"))
	cfg.CorruptResults = cast.ToBool(opts.Get("sidecar.corrupt-results"))
	cfg.CorruptEvery = cast.ToUint64(opts.Get("sidecar.corrupt-every"))
	cfg.StreamConcurrency = cast.ToInt(opts.Get("sidecar.stream-concurrency"))
	cfg.LazyVerifier = cast.ToBool(opts.Get("sidecar.lazy-verifier"))
	cfg.ThrottleGMACs = cast.ToUint64(opts.Get("sidecar.throttle-gmacs"))
	// config.toml names the consensus key, relative to the home
	keyFile := cast.ToString(opts.Get("priv_validator_key_file"))
	if keyFile == "" {
		keyFile = filepath.Join("config", "priv_validator_key.json")
	}
	if !filepath.IsAbs(keyFile) {
		keyFile = filepath.Join(home, keyFile)
	}
	cfg.ConsensusKeyFile = keyFile
	return cfg, nil
}

// SidecarCmd runs the sidecar beside a node, from the [sidecar] section of the home's app.toml.
func SidecarCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sidecar",
		Short: "Run the provider and verifier sidecar configured in [sidecar] of app.toml",
		Long: `Run the sidecar beside a node. With provider-key set it bids on the tasks it can run at its
prices, runs the ones it wins, serves their results over HTTP and submits them; with
validator-account set it checks the results its validator is drawn to verify and serves the verdicts
to the node's Attestor call at address. The same sidecar runs inside the node with
'ogpud start --sidecar.embedded'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString(flags.FlagHome)
			v := viper.New()
			v.SetConfigFile(filepath.Join(home, "config", "app.toml"))
			if err := v.ReadInConfig(); err != nil {
				return fmt.Errorf("read app.toml: %w", err)
			}
			// config.toml gives the RPC address, whose websocket announces new blocks
			v.SetConfigFile(filepath.Join(home, "config", "config.toml"))
			if err := v.MergeInConfig(); err != nil {
				return fmt.Errorf("read config.toml: %w", err)
			}
			v.Set(flags.FlagHome, home)
			if kb, _ := cmd.Flags().GetString(flags.FlagKeyringBackend); kb != "" {
				v.Set("sidecar.keyring-backend", kb)
			}
			// flags override app.toml, so one home can run several sidecars
			for _, key := range []string{"provider-key", "listen", "public-url", "min-price", "price-per-gmac", "validator-account"} {
				if cmd.Flags().Changed(key) {
					val, _ := cmd.Flags().GetString(key)
					v.Set("sidecar."+key, val)
				}
			}
			if corrupt, _ := cmd.Flags().GetBool("corrupt-results"); corrupt {
				v.Set("sidecar.corrupt-results", true)
			}
			if every, _ := cmd.Flags().GetUint64("corrupt-every"); every > 0 {
				v.Set("sidecar.corrupt-every", every)
			}
			if lazy, _ := cmd.Flags().GetBool("lazy-verifier"); lazy {
				v.Set("sidecar.lazy-verifier", true)
			}
			if rate, _ := cmd.Flags().GetUint64("throttle-gmacs"); rate > 0 {
				v.Set("sidecar.throttle-gmacs", rate)
			}
			cfg, err := sidecarConfig(v)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runSidecar(ctx, cfg, log.NewLogger(cmd.OutOrStderr()))
		},
	}
	cmd.Flags().String(flags.FlagKeyringBackend, "", "keyring backend of the provider key (default test)")
	cmd.Flags().String("provider-key", "", "provider key (overrides app.toml; empty there and here: no provider role)")
	cmd.Flags().String("listen", "", "address of the blob and metrics server (overrides app.toml)")
	cmd.Flags().String("public-url", "", "URL others fetch results from (overrides app.toml)")
	cmd.Flags().String("min-price", "", "least bid in aogpu (overrides app.toml)")
	cmd.Flags().String("price-per-gmac", "", "aogpu per 10^9 multiply-adds (overrides app.toml)")
	cmd.Flags().String("validator-account", "", `verifier role for this validator operator account ("" to turn it off; overrides app.toml)`)
	cmd.Flags().Bool("corrupt-results", false, "change one element of every result (tests only)")
	_ = cmd.Flags().MarkHidden("corrupt-results")
	cmd.Flags().Uint64("corrupt-every", 0, "change one element of every N-th stream response (tests only)")
	_ = cmd.Flags().MarkHidden("corrupt-every")
	cmd.Flags().Bool("lazy-verifier", false, "attest VALID without checking (tests only)")
	_ = cmd.Flags().MarkHidden("lazy-verifier")
	cmd.Flags().Uint64("throttle-gmacs", 0, "hold the executor to this many 10^9 multiply-adds a second (tests only)")
	_ = cmd.Flags().MarkHidden("throttle-gmacs")
	return cmd
}

func runSidecar(ctx context.Context, cfg sidecar.Config, logger log.Logger) error {
	s, err := sidecar.New(cfg, logger.With("module", "sidecar"))
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// embedSidecar lets `ogpud start --sidecar.embedded` run the sidecar inside the node process.
func embedSidecar(rootCmd *cobra.Command) {
	for _, c := range rootCmd.Commands() {
		if c.Name() != "start" {
			continue
		}
		c.Flags().Bool(flagSidecarEmbedded, false, "run the sidecar of [sidecar] in app.toml inside this process")
		inner := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if on, _ := cmd.Flags().GetBool(flagSidecarEmbedded); on {
				v := serverContextViper(cmd)
				cfg, err := sidecarConfig(v)
				if err != nil {
					return fmt.Errorf("--%s: %w", flagSidecarEmbedded, err)
				}
				go func() {
					if err := runSidecar(cmd.Context(), cfg, log.NewLogger(os.Stderr)); err != nil {
						fmt.Fprintln(os.Stderr, "sidecar stopped:", err)
					}
				}()
			}
			return inner(cmd, args)
		}
	}
}

// serverContextViper is the node's merged configuration (app.toml, config.toml, flags).
func serverContextViper(cmd *cobra.Command) *viper.Viper {
	return sdkserver.GetServerContextFromCmd(cmd).Viper
}

// rpcURL turns CometBFT's listen address (tcp://127.0.0.1:26657) into a client URL.
func rpcURL(laddr string) string {
	if laddr == "" {
		return ""
	}
	return "http://" + strings.TrimPrefix(strings.TrimPrefix(laddr, "tcp://"), "http://")
}
