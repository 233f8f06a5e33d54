// Package cmd holds the ogpud commands.
package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cast"
	"github.com/spf13/cobra"

	cmtcli "github.com/cometbft/cometbft/libs/cli"

	dbm "github.com/cosmos/cosmos-db"
	evmclient "github.com/cosmos/evm/client"
	evmdebug "github.com/cosmos/evm/client/debug"
	evmhd "github.com/cosmos/evm/crypto/hd"
	evmserver "github.com/cosmos/evm/server"
	srvflags "github.com/cosmos/evm/server/flags"

	clienthelpers "cosmossdk.io/client/v2/helpers"
	"cosmossdk.io/log/v2"
	confixcmd "cosmossdk.io/tools/confix/cmd"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client"
	clientcfg "github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/pruning"
	"github.com/cosmos/cosmos-sdk/client/rpc"
	"github.com/cosmos/cosmos-sdk/client/snapshot"
	sdkserver "github.com/cosmos/cosmos-sdk/server"
	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	"github.com/cosmos/cosmos-sdk/store/v2"
	snapshottypes "github.com/cosmos/cosmos-sdk/store/v2/snapshots/types"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authcmd "github.com/cosmos/cosmos-sdk/x/auth/client/cli"
	"github.com/cosmos/cosmos-sdk/x/auth/tx"
	txmodule "github.com/cosmos/cosmos-sdk/x/auth/tx/config"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"

	"github.com/opengpu/ogpu/app"
)

// DefaultNodeHome is ~/.ogpud.
var DefaultNodeHome = func() string {
	home, err := clienthelpers.GetNodeHomeDirectory("." + app.Name)
	if err != nil {
		panic(err)
	}
	return home
}()

// Execute runs ogpud with the process arguments.
func Execute() error {
	SetSDKConfig()
	return svrcmd.Execute(NewRootCmd(), "OGPUD", DefaultNodeHome)
}

// NewRootCmd returns the ogpud root command.
// defaultGasAdjustment multiplies a `--gas auto` estimate when --gas-adjustment is not given.
const defaultGasAdjustment = 1.3

func NewRootCmd() *cobra.Command {
	// an app on an in-memory database gives the codecs and the autocli descriptors
	tempApp := app.New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.EmptyAppOptions{})

	initClientCtx := client.Context{}.
		WithCodec(tempApp.AppCodec()).
		WithInterfaceRegistry(tempApp.InterfaceRegistry()).
		WithTxConfig(tempApp.TxConfig()).
		WithLegacyAmino(tempApp.LegacyAmino()).
		WithInput(os.Stdin).
		WithAccountRetriever(authtypes.AccountRetriever{}).
		WithBroadcastMode(flags.FlagBroadcastMode).
		WithHomeDir(DefaultNodeHome).
		WithViper("").
		WithKeyringOptions(evmhd.EthSecp256k1Option()).
		WithLedgerHasProtobuf(true)

	rootCmd := &cobra.Command{
		Use:   app.Name,
		Short: "ogpu: the OpenGPU network's chain, a market for GPU compute with an EVM",
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.OutOrStdout())
			cmd.SetErr(cmd.ErrOrStderr())
			// `--gas auto` simulates against the last committed state, which the block that
			// includes the tx has moved on from; at the SDK's adjustment of 1.0 the estimate falls
			// short (create-task by about 0.3%). Unless the user sets one, leave a margin.
			if f := cmd.Flags().Lookup(flags.FlagGasAdjustment); f != nil && !f.Changed {
				if err := f.Value.Set(strconv.FormatFloat(defaultGasAdjustment, 'f', -1, 64)); err != nil {
					return err
				}
			}

			clientCtx := initClientCtx.WithCmdContext(cmd.Context())
			clientCtx, err := client.ReadPersistentCommandFlags(clientCtx, cmd.Flags())
			if err != nil {
				return err
			}
			clientCtx, err = clientcfg.ReadFromClientConfig(clientCtx)
			if err != nil {
				return err
			}
			// SIGN_MODE_TEXTUAL reads coin metadata over gRPC, so only online
			if !clientCtx.Offline {
				txConfig, err := tx.NewTxConfigWithOptions(clientCtx.Codec, tx.ConfigOptions{
					EnabledSignModes:           append(tx.DefaultSignModes, signing.SignMode_SIGN_MODE_TEXTUAL), //nolint:gocritic
					TextualCoinMetadataQueryFn: txmodule.NewGRPCCoinMetadataQueryFn(clientCtx),
				})
				if err != nil {
					return err
				}
				clientCtx = clientCtx.WithTxConfig(txConfig)
			}
			if err := client.SetCmdClientContextHandler(clientCtx, cmd); err != nil {
				return err
			}
			return sdkserver.InterceptConfigsPreRunHandler(cmd, appConfigTemplate, defaultAppConfig(app.DefaultEVMChainID), defaultCometConfig())
		},
	}

	addCommands(rootCmd, tempApp)

	autoCliOpts := tempApp.AutoCliOpts()
	initClientCtx, _ = clientcfg.ReadFromClientConfig(initClientCtx)
	autoCliOpts.ClientCtx = initClientCtx
	if err := autoCliOpts.EnhanceRootCommand(rootCmd); err != nil {
		panic(err)
	}
	return rootCmd
}

func addCommands(rootCmd *cobra.Command, tempApp *app.App) {
	appCreator := func(l log.Logger, d dbm.DB, ao servertypes.AppOptions) servertypes.Application {
		return newApp(l, d, ao)
	}

	genesisCmd := genutilcli.Commands(tempApp.TxConfig(), tempApp.BasicModuleManager, DefaultNodeHome)
	genesisCmd.AddCommand(AllocateCmd())

	rootCmd.AddCommand(
		InitCmd(tempApp),
		genesisCmd,
		cmtcli.NewCompletionCmd(rootCmd, true),
		evmdebug.Cmd(),
		confixcmd.ConfigCommand(),
		pruning.Cmd(appCreator, DefaultNodeHome),
		snapshot.Cmd(appCreator),
		DevCmd(),
		TestnetCmd(),
		BenchCmd(),
		SidecarCmd(),
		WorkloadCommand(),
		StreamCmd(),
	)

	evmserver.AddCommands(rootCmd, evmserver.NewDefaultStartOptions(newApp, DefaultNodeHome), exportApp, func(*cobra.Command) {})
	embedSidecar(rootCmd)

	rootCmd.AddCommand(
		evmclient.KeyCommands(DefaultNodeHome, true),
		sdkserver.StatusCommand(),
		queryCommand(),
		txCommand(),
	)
	if _, err := srvflags.AddTxFlags(rootCmd); err != nil {
		panic(err)
	}
}

func queryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "query",
		Aliases:                    []string{"q"},
		Short:                      "Querying subcommands",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		rpc.QueryEventForTxCmd(),
		rpc.ValidatorCommand(),
		authcmd.QueryTxsByEventsCmd(),
		authcmd.QueryTxCmd(),
		sdkserver.QueryBlockCmd(),
		sdkserver.QueryBlockResultsCmd(),
		computeQueryCommand(),
	)
	cmd.PersistentFlags().String(flags.FlagChainID, "", "The network chain ID")
	return cmd
}

func txCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "tx",
		Short:                      "Transactions subcommands",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		authcmd.GetSignCommand(),
		authcmd.GetSignBatchCommand(),
		authcmd.GetMultiSignCommand(),
		authcmd.GetMultiSignBatchCmd(),
		authcmd.GetValidateSignaturesCommand(),
		authcmd.GetBroadcastCommand(),
		authcmd.GetEncodeCommand(),
		authcmd.GetDecodeCommand(),
		authcmd.GetSimulateCmd(),
		stakingGPUTxCommand(),
		computeTxCommand(),
	)
	cmd.PersistentFlags().String(flags.FlagChainID, "", "The network chain ID")
	return cmd
}

// newApp builds the application for `ogpud start` from the node's options.
func newApp(logger log.Logger, db dbm.DB, appOpts servertypes.AppOptions) evmserver.Application {
	var cache storetypes.MultiStorePersistentCache
	if cast.ToBool(appOpts.Get(sdkserver.FlagInterBlockCache)) {
		cache = store.NewCommitKVStoreCacheManager()
	}
	pruningOpts, err := sdkserver.GetPruningOptionsFromFlags(appOpts)
	if err != nil {
		panic(err)
	}
	chainID, err := chainIDFromOpts(appOpts)
	if err != nil {
		panic(err)
	}
	snapshotStore, err := sdkserver.GetSnapshotStore(appOpts)
	if err != nil {
		panic(err)
	}
	snapshotOptions := snapshottypes.NewSnapshotOptions(
		cast.ToUint64(appOpts.Get(sdkserver.FlagStateSyncSnapshotInterval)),
		cast.ToUint32(appOpts.Get(sdkserver.FlagStateSyncSnapshotKeepRecent)),
	)
	return app.New(logger, db, true, appOpts,
		baseapp.SetPruning(pruningOpts),
		baseapp.SetMinGasPrices(cast.ToString(appOpts.Get(sdkserver.FlagMinGasPrices))),
		baseapp.SetQueryGasLimit(cast.ToUint64(appOpts.Get(sdkserver.FlagQueryGasLimit))),
		baseapp.SetHaltHeight(cast.ToUint64(appOpts.Get(sdkserver.FlagHaltHeight))),
		baseapp.SetHaltTime(cast.ToUint64(appOpts.Get(sdkserver.FlagHaltTime))),
		baseapp.SetMinRetainBlocks(cast.ToUint64(appOpts.Get(sdkserver.FlagMinRetainBlocks))),
		baseapp.SetInterBlockCache(cache),
		baseapp.SetTrace(cast.ToBool(appOpts.Get(sdkserver.FlagTrace))),
		baseapp.SetIndexEvents(cast.ToStringSlice(appOpts.Get(sdkserver.FlagIndexEvents))),
		baseapp.SetSnapshot(snapshotStore, snapshotOptions),
		baseapp.SetIAVLCacheSize(cast.ToInt(appOpts.Get(sdkserver.FlagIAVLCacheSize))),
		baseapp.SetIAVLDisableFastNode(cast.ToBool(appOpts.Get(sdkserver.FlagDisableIAVLFastNode))),
		baseapp.SetChainID(chainID),
	)
}

// exportApp loads the app at a height and exports its state for `ogpud export`.
func exportApp(logger log.Logger, db dbm.DB, height int64, forZeroHeight bool, jailAllowedAddrs []string,
	appOpts servertypes.AppOptions, modulesToExport []string,
) (servertypes.ExportedApp, error) {
	if home, _ := appOpts.Get(flags.FlagHome).(string); home == "" {
		return servertypes.ExportedApp{}, errors.New("export: --home is not set")
	}
	chainID, err := chainIDFromOpts(appOpts)
	if err != nil {
		return servertypes.ExportedApp{}, err
	}
	a := app.New(logger, db, height == -1, appOpts, baseapp.SetChainID(chainID))
	if height != -1 {
		if err := a.LoadHeight(height); err != nil {
			return servertypes.ExportedApp{}, err
		}
	}
	return a.ExportAppStateAndValidators(forZeroHeight, jailAllowedAddrs, modulesToExport)
}

// chainIDFromOpts reads the chain id from --chain-id, else from the home's genesis file.
func chainIDFromOpts(appOpts servertypes.AppOptions) (string, error) {
	if id := cast.ToString(appOpts.Get(flags.FlagChainID)); id != "" {
		return id, nil
	}
	genFile := cast.ToString(appOpts.Get("genesis_file"))
	if genFile == "" {
		genFile = filepath.Join("config", "genesis.json")
	}
	if !filepath.IsAbs(genFile) {
		genFile = filepath.Join(cast.ToString(appOpts.Get(flags.FlagHome)), genFile)
	}
	f, err := os.Open(genFile)
	if err != nil {
		return "", fmt.Errorf("chain id: %w", err)
	}
	defer f.Close()
	// the chain id is near the top; decoding only that field avoids reading a large app state
	var doc struct {
		ChainID string `json:"chain_id"`
	}
	if err := json.NewDecoder(f).Decode(&doc); err != nil || doc.ChainID == "" {
		return "", fmt.Errorf("chain id: no chain_id in %s: %v", genFile, err)
	}
	return doc.ChainID, nil
}
