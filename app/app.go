// Package app wires the ogpu application: the SDK modules, the EVM modules, the ogpu
// modules, the ante handler and the EVM mempool.
package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cast"

	// tracers register themselves for debug_trace* on import
	_ "github.com/ethereum/go-ethereum/eth/tracers/js"
	_ "github.com/ethereum/go-ethereum/eth/tracers/native"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	dbm "github.com/cosmos/cosmos-db"
	evmante "github.com/cosmos/evm/ante"
	antetypes "github.com/cosmos/evm/ante/types"
	evmencoding "github.com/cosmos/evm/encoding"
	evmaddress "github.com/cosmos/evm/encoding/address"
	evmmempool "github.com/cosmos/evm/mempool"
	precompiletypes "github.com/cosmos/evm/precompiles/types"
	evmserver "github.com/cosmos/evm/server"
	srvflags "github.com/cosmos/evm/server/flags"
	"github.com/cosmos/evm/utils"
	"github.com/cosmos/evm/x/erc20"
	erc20keeper "github.com/cosmos/evm/x/erc20/keeper"
	erc20types "github.com/cosmos/evm/x/erc20/types"
	erc20v2 "github.com/cosmos/evm/x/erc20/v2"
	"github.com/cosmos/evm/x/feemarket"
	feemarketkeeper "github.com/cosmos/evm/x/feemarket/keeper"
	feemarkettypes "github.com/cosmos/evm/x/feemarket/types"
	"github.com/cosmos/evm/x/vm"
	evmkeeper "github.com/cosmos/evm/x/vm/keeper"
	vmrunner "github.com/cosmos/evm/x/vm/runner"
	evmtypes "github.com/cosmos/evm/x/vm/types"
	"github.com/cosmos/gogoproto/proto"
	transfer "github.com/cosmos/ibc-go/v11/modules/apps/transfer"
	transferkeeper "github.com/cosmos/ibc-go/v11/modules/apps/transfer/keeper"
	ibctransfertypes "github.com/cosmos/ibc-go/v11/modules/apps/transfer/types"
	transferv2 "github.com/cosmos/ibc-go/v11/modules/apps/transfer/v2"
	ibc "github.com/cosmos/ibc-go/v11/modules/core"
	porttypes "github.com/cosmos/ibc-go/v11/modules/core/05-port/types"
	ibcapi "github.com/cosmos/ibc-go/v11/modules/core/api"
	ibcexported "github.com/cosmos/ibc-go/v11/modules/core/exported"
	ibckeeper "github.com/cosmos/ibc-go/v11/modules/core/keeper"
	ibctm "github.com/cosmos/ibc-go/v11/modules/light-clients/07-tendermint"

	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
	reflectionv1 "cosmossdk.io/api/cosmos/reflection/v1"
	"cosmossdk.io/client/v2/autocli"
	"cosmossdk.io/core/appmodule"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/baseapp/txnrunner"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	"github.com/cosmos/cosmos-sdk/client/grpc/node"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	runtimeservices "github.com/cosmos/cosmos-sdk/runtime/services"
	sdkserver "github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/server/api"
	"github.com/cosmos/cosmos-sdk/server/config"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkmempool "github.com/cosmos/cosmos-sdk/types/mempool"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
	signingtypes "github.com/cosmos/cosmos-sdk/types/tx/signing"
	"github.com/cosmos/cosmos-sdk/version"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	"github.com/cosmos/cosmos-sdk/x/auth/posthandler"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	txmodule "github.com/cosmos/cosmos-sdk/x/auth/tx/config"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/auth/vesting"
	vestingtypes "github.com/cosmos/cosmos-sdk/x/auth/vesting/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	authzkeeper "github.com/cosmos/cosmos-sdk/x/authz/keeper"
	authzmodule "github.com/cosmos/cosmos-sdk/x/authz/module"
	"github.com/cosmos/cosmos-sdk/x/bank"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/consensus"
	consensusparamkeeper "github.com/cosmos/cosmos-sdk/x/consensus/keeper"
	consensusparamtypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distr "github.com/cosmos/cosmos-sdk/x/distribution"
	distrkeeper "github.com/cosmos/cosmos-sdk/x/distribution/keeper"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	"github.com/cosmos/cosmos-sdk/x/evidence"
	evidencekeeper "github.com/cosmos/cosmos-sdk/x/evidence/keeper"
	evidencetypes "github.com/cosmos/cosmos-sdk/x/evidence/types"
	"github.com/cosmos/cosmos-sdk/x/feegrant"
	feegrantkeeper "github.com/cosmos/cosmos-sdk/x/feegrant/keeper"
	feegrantmodule "github.com/cosmos/cosmos-sdk/x/feegrant/module"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govkeeper "github.com/cosmos/cosmos-sdk/x/gov/keeper"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	"github.com/cosmos/cosmos-sdk/x/slashing"
	slashingkeeper "github.com/cosmos/cosmos-sdk/x/slashing/keeper"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingkeeper "github.com/cosmos/cosmos-sdk/x/staking/keeper"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	"github.com/cosmos/cosmos-sdk/x/upgrade"
	upgradekeeper "github.com/cosmos/cosmos-sdk/x/upgrade/keeper"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	"github.com/opengpu/ogpu/x/committee"
	committeekeeper "github.com/opengpu/ogpu/x/committee/keeper"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	"github.com/opengpu/ogpu/x/compute"
	computekeeper "github.com/opengpu/ogpu/x/compute/keeper"
	computeprecompile "github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggpu "github.com/opengpu/ogpu/x/staking-gpu"
	stakinggpukeeper "github.com/opengpu/ogpu/x/staking-gpu/keeper"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
	"github.com/opengpu/ogpu/x/treasury"
	treasurykeeper "github.com/opengpu/ogpu/x/treasury/keeper"
	treasurytypes "github.com/opengpu/ogpu/x/treasury/types"
)

func init() {
	// 18 decimals: one unit of consensus power is 10^18 aogpu (1 OGPU).
	sdk.DefaultPowerReduction = utils.AttoPowerReduction
}

var (
	_ runtime.AppI          = (*App)(nil)
	_ evmserver.Application = (*App)(nil)
)

// App is the ogpu application.
type App struct {
	*baseapp.BaseApp

	legacyAmino       *codec.LegacyAmino
	appCodec          codec.Codec
	interfaceRegistry types.InterfaceRegistry
	txConfig          client.TxConfig

	pendingTxListeners []evmante.PendingTxListener

	keys  map[string]*storetypes.KVStoreKey
	oKeys map[string]*storetypes.ObjectStoreKey

	AccountKeeper         authkeeper.AccountKeeper
	BankKeeper            bankkeeper.Keeper
	StakingKeeper         *stakingkeeper.Keeper
	SlashingKeeper        slashingkeeper.Keeper
	DistrKeeper           distrkeeper.Keeper
	GovKeeper             govkeeper.Keeper
	UpgradeKeeper         *upgradekeeper.Keeper
	AuthzKeeper           authzkeeper.Keeper
	EvidenceKeeper        evidencekeeper.Keeper
	FeeGrantKeeper        feegrantkeeper.Keeper
	ConsensusParamsKeeper consensusparamkeeper.Keeper

	IBCKeeper      *ibckeeper.Keeper
	TransferKeeper *transferkeeper.Keeper

	FeeMarketKeeper feemarketkeeper.Keeper
	EVMKeeper       *evmkeeper.Keeper
	Erc20Keeper     erc20keeper.Keeper
	EVMMempool      sdkmempool.ExtMempool

	TreasuryKeeper   treasurykeeper.Keeper
	StakingGPUKeeper stakinggpukeeper.Keeper
	ComputeKeeper    computekeeper.Keeper
	CommitteeKeeper  committeekeeper.Keeper

	// prepareProposal is the mempool's proposal builder, which the vote-extension handler wraps
	prepareProposal sdk.PrepareProposalHandler
	attestations    *ogpuabci.AttestationRecorder

	// invariants are checked at the end of every block when checkInvariants is set (test chains)
	invariants      []namedInvariant
	checkInvariants bool

	ModuleManager      *module.Manager
	BasicModuleManager module.BasicManager
	configurator       module.Configurator
}

// New returns the ogpu application. The EVM chain id is read from app.toml ([evm] evm-chain-id).
func New(
	logger log.Logger,
	db dbm.DB,
	loadLatest bool,
	appOpts servertypes.AppOptions,
	baseAppOptions ...func(*baseapp.BaseApp),
) *App {
	evmChainID := cast.ToUint64(appOpts.Get(srvflags.EVMChainID))
	encodingConfig := evmencoding.MakeConfig(evmChainID)

	appCodec := encodingConfig.Codec
	legacyAmino := encodingConfig.Amino
	interfaceRegistry := encodingConfig.InterfaceRegistry
	txDecoder := encodingConfig.TxConfig.TxDecoder()

	baseAppOptions = append(baseAppOptions, baseapp.SetOptimisticExecution())
	bApp := baseapp.NewBaseApp(Name, logger, db, txDecoder, baseAppOptions...)
	bApp.SetVersion(version.Version)
	bApp.SetInterfaceRegistry(interfaceRegistry)
	bApp.SetTxEncoder(encodingConfig.TxConfig.TxEncoder())

	keys := storetypes.NewKVStoreKeys(
		authtypes.StoreKey, banktypes.StoreKey, stakingtypes.StoreKey,
		distrtypes.StoreKey, slashingtypes.StoreKey, govtypes.StoreKey,
		consensusparamtypes.StoreKey, upgradetypes.StoreKey, feegrant.StoreKey,
		evidencetypes.StoreKey, authzkeeper.StoreKey,
		ibcexported.StoreKey, ibctransfertypes.StoreKey,
		evmtypes.StoreKey, feemarkettypes.StoreKey, erc20types.StoreKey,
		stakinggputypes.StoreKey, computetypes.StoreKey, committeetypes.StoreKey,
	)
	oKeys := storetypes.NewObjectStoreKeys(banktypes.ObjectStoreKey, evmtypes.ObjectKey)

	// the EVM's state database and the parallel tx runner see every persistent store
	var nonTransientKeys []storetypes.StoreKey
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		nonTransientKeys = append(nonTransientKeys, keys[name])
	}
	for _, name := range slices.Sorted(maps.Keys(oKeys)) {
		nonTransientKeys = append(nonTransientKeys, oKeys[name])
	}

	// the EVM meters gas per transaction; a block gas meter would double count
	bApp.SetDisableBlockGasMeter(true)

	if err := bApp.RegisterStreamingServices(appOpts, keys); err != nil {
		panic(fmt.Errorf("state streaming: %w", err))
	}

	app := &App{
		BaseApp:           bApp,
		legacyAmino:       legacyAmino,
		appCodec:          appCodec,
		interfaceRegistry: interfaceRegistry,
		keys:              keys,
		oKeys:             oKeys,
	}

	govAddr := authtypes.NewModuleAddress(govtypes.ModuleName)
	authority := govAddr.String()
	accAddrCodec := evmaddress.NewEvmCodec(sdk.GetConfig().GetBech32AccountAddrPrefix())

	app.ConsensusParamsKeeper = consensusparamkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[consensusparamtypes.StoreKey]), authority, runtime.EventService{},
	)
	bApp.SetParamStore(app.ConsensusParamsKeeper.ParamsStore)

	app.AccountKeeper = authkeeper.NewAccountKeeper(
		appCodec, runtime.NewKVStoreService(keys[authtypes.StoreKey]),
		authtypes.ProtoBaseAccount, ModuleAccountPermissions(),
		accAddrCodec, sdk.GetConfig().GetBech32AccountAddrPrefix(), authority,
	)

	app.BankKeeper = bankkeeper.NewBaseKeeper(
		appCodec, runtime.NewKVStoreService(keys[banktypes.StoreKey]),
		app.AccountKeeper, BlockedAddresses(), authority, logger,
	).WithObjStoreKey(oKeys[banktypes.ObjectStoreKey])

	// SIGN_MODE_TEXTUAL needs the bank keeper for coin metadata
	txConfig, err := authtx.NewTxConfigWithOptions(appCodec, authtx.ConfigOptions{
		EnabledSignModes:           append(authtx.DefaultSignModes, signingtypes.SignMode_SIGN_MODE_TEXTUAL), //nolint:gocritic
		TextualCoinMetadataQueryFn: txmodule.NewBankKeeperCoinMetadataQueryFn(app.BankKeeper),
	})
	if err != nil {
		panic(err)
	}
	app.txConfig = txConfig

	// staking burns slashed stake; on a fixed-supply chain it goes to the community pool instead
	slashSink := &communityPoolSink{Keeper: app.BankKeeper}
	app.StakingKeeper = stakingkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[stakingtypes.StoreKey]),
		app.AccountKeeper, slashSink, authority,
		evmaddress.NewEvmCodec(sdk.GetConfig().GetBech32ValidatorAddrPrefix()),
		evmaddress.NewEvmCodec(sdk.GetConfig().GetBech32ConsensusAddrPrefix()),
	)

	app.DistrKeeper = distrkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[distrtypes.StoreKey]),
		app.AccountKeeper, app.BankKeeper, app.StakingKeeper, authtypes.FeeCollectorName, authority,
	)
	slashSink.distr = &app.DistrKeeper

	app.SlashingKeeper = slashingkeeper.NewKeeper(
		appCodec, legacyAmino, runtime.NewKVStoreService(keys[slashingtypes.StoreKey]), app.StakingKeeper, authority,
	)

	app.FeeGrantKeeper = feegrantkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[feegrant.StoreKey]), app.AccountKeeper)

	app.StakingKeeper.SetHooks(stakingtypes.NewMultiStakingHooks(app.DistrKeeper.Hooks(), app.SlashingKeeper.Hooks()))

	app.AuthzKeeper = authzkeeper.NewKeeper(
		runtime.NewKVStoreService(keys[authzkeeper.StoreKey]), appCodec, app.MsgServiceRouter(), app.AccountKeeper,
	)

	skipUpgradeHeights := map[int64]bool{}
	for _, h := range cast.ToIntSlice(appOpts.Get(sdkserver.FlagUnsafeSkipUpgrades)) {
		skipUpgradeHeights[int64(h)] = true
	}
	app.UpgradeKeeper = upgradekeeper.NewKeeper(
		skipUpgradeHeights, runtime.NewKVStoreService(keys[upgradetypes.StoreKey]), appCodec,
		cast.ToString(appOpts.Get(flags.FlagHome)), app.BaseApp, authority,
	)

	app.IBCKeeper = ibckeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[ibcexported.StoreKey]), app.UpgradeKeeper, authority,
	)

	app.GovKeeper = *govkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[govtypes.StoreKey]),
		app.AccountKeeper, app.BankKeeper, app.DistrKeeper, app.MsgServiceRouter(),
		govtypes.DefaultConfig(), authority,
		govkeeper.NewDefaultCalculateVoteResultsAndVotingPower(app.StakingKeeper),
	)

	app.EvidenceKeeper = *evidencekeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[evidencetypes.StoreKey]),
		app.StakingKeeper, app.SlashingKeeper, app.AccountKeeper.AddressCodec(), runtime.ProvideCometInfoService(),
	)

	app.FeeMarketKeeper = feemarketkeeper.NewKeeper(appCodec, govAddr, keys[feemarkettypes.StoreKey])

	// the transfer keeper exists before the EVM keeper so the ICS-20 precompile gets a live reference
	app.TransferKeeper = transferkeeper.NewKeeper(
		appCodec, accAddrCodec, runtime.NewKVStoreService(keys[ibctransfertypes.StoreKey]),
		app.IBCKeeper.ChannelKeeper, app.MsgServiceRouter(), app.AccountKeeper, app.BankKeeper, authority,
	)

	app.EVMKeeper = evmkeeper.NewKeeper(
		appCodec, keys[evmtypes.StoreKey], oKeys[evmtypes.ObjectKey], nonTransientKeys, govAddr,
		app.AccountKeeper, app.BankKeeper, app.StakingKeeper, app.FeeMarketKeeper,
		&app.ConsensusParamsKeeper, &app.Erc20Keeper, evmChainID,
		cast.ToString(appOpts.Get(srvflags.EVMTracer)),
	).WithStaticPrecompiles(precompiletypes.DefaultStaticPrecompiles(
		*app.StakingKeeper, app.DistrKeeper, app.BankKeeper, &app.Erc20Keeper,
		app.TransferKeeper, app.IBCKeeper.ChannelKeeper, app.IBCKeeper.ClientKeeper,
		app.GovKeeper, app.SlashingKeeper, appCodec,
	))
	// fees of EVM txs are collected once per block instead of per tx, which keeps
	// parallel execution free of a shared fee-collector write
	app.EVMKeeper.EnableVirtualFeeCollection()

	app.Erc20Keeper = erc20keeper.NewKeeper(
		keys[erc20types.StoreKey], appCodec, govAddr, app.AccountKeeper, app.BankKeeper,
		app.EVMKeeper, app.StakingKeeper, app.TransferKeeper,
	)

	app.TreasuryKeeper = treasurykeeper.NewKeeper(app.BankKeeper, accAddrCodec, authority)
	app.StakingGPUKeeper = stakinggpukeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[stakinggputypes.StoreKey]), accAddrCodec, authority,
		app.BankKeeper, app.DistrKeeper, app.StakingKeeper,
	)
	app.ComputeKeeper = computekeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[computetypes.StoreKey]), accAddrCodec, authority,
		app.BankKeeper, app.StakingGPUKeeper, app.AccountKeeper,
	)
	app.StakingGPUKeeper.SetWorkTracker(app.ComputeKeeper)
	// ICompute joins cosmos/evm's static precompiles once the compute keeper it wraps exists
	app.EVMKeeper.RegisterStaticPrecompile(common.HexToAddress(computeprecompile.Address),
		computeprecompile.NewPrecompile(app.ComputeKeeper, app.BankKeeper, accAddrCodec))
	app.CommitteeKeeper = committeekeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[committeetypes.StoreKey]), accAddrCodec,
		app.StakingKeeper.ValidatorAddressCodec(), authority, app.StakingKeeper,
	)
	app.CommitteeKeeper.SetCompute(app.ComputeKeeper)
	app.ComputeKeeper.SetCommittee(app.CommitteeKeeper)

	// IBC transfer: core IBC -> erc20 middleware -> transfer (v1 and v2 routers)
	var transferStack porttypes.IBCModule = transfer.NewIBCModule(app.TransferKeeper)
	transferStack = erc20.NewIBCMiddleware(app.Erc20Keeper, transferStack)
	var transferStackV2 ibcapi.IBCModule = transferv2.NewIBCModule(app.TransferKeeper)
	transferStackV2 = erc20v2.NewIBCMiddleware(transferStackV2, app.Erc20Keeper)

	ibcRouter := porttypes.NewRouter()
	ibcRouter.AddRoute(ibctransfertypes.ModuleName, transferStack)
	ibcRouterV2 := ibcapi.NewRouter()
	ibcRouterV2.AddRoute(ibctransfertypes.ModuleName, transferStackV2)
	app.IBCKeeper.SetRouter(ibcRouter)
	app.IBCKeeper.SetRouterV2(ibcRouterV2)

	tmLightClient := ibctm.NewLightClientModule(appCodec, app.IBCKeeper.ClientKeeper.GetStoreProvider())
	app.IBCKeeper.ClientKeeper.AddRoute(ibctm.ModuleName, &tmLightClient)

	vmModule := vm.NewAppModule(app.EVMKeeper, app.AccountKeeper, app.BankKeeper, app.AccountKeeper.AddressCodec())

	app.ModuleManager = module.NewManager(
		genutil.NewAppModule(app.AccountKeeper, app.StakingKeeper, app, app.txConfig),
		auth.NewAppModule(appCodec, app.AccountKeeper, nil, nil),
		bank.NewAppModule(appCodec, app.BankKeeper, app.AccountKeeper, nil),
		feegrantmodule.NewAppModule(appCodec, app.AccountKeeper, app.BankKeeper, app.FeeGrantKeeper, app.interfaceRegistry),
		gov.NewAppModule(appCodec, &app.GovKeeper, app.AccountKeeper, app.BankKeeper, nil),
		slashing.NewAppModule(appCodec, app.SlashingKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil, app.interfaceRegistry),
		distr.NewAppModule(appCodec, app.DistrKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil),
		staking.NewAppModule(appCodec, app.StakingKeeper, app.AccountKeeper, app.BankKeeper, nil),
		upgrade.NewAppModule(app.UpgradeKeeper, app.AccountKeeper.AddressCodec()),
		evidence.NewAppModule(app.EvidenceKeeper),
		authzmodule.NewAppModule(appCodec, app.AuthzKeeper, app.AccountKeeper, app.BankKeeper, app.interfaceRegistry),
		consensus.NewAppModule(appCodec, app.ConsensusParamsKeeper),
		vesting.NewAppModule(app.AccountKeeper, app.BankKeeper),
		ibc.NewAppModule(app.IBCKeeper),
		ibctm.NewAppModule(tmLightClient),
		transfer.NewAppModule(app.TransferKeeper),
		vmModule,
		feemarket.NewAppModule(app.FeeMarketKeeper),
		erc20.NewAppModule(app.Erc20Keeper, app.AccountKeeper),
		treasury.NewAppModule(app.TreasuryKeeper),
		stakinggpu.NewAppModule(app.StakingGPUKeeper),
		compute.NewAppModule(app.ComputeKeeper),
		committee.NewAppModule(app.CommitteeKeeper),
	)

	app.BasicModuleManager = module.NewBasicManagerFromManager(app.ModuleManager, map[string]module.AppModuleBasic{
		genutiltypes.ModuleName:     genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
		stakingtypes.ModuleName:     staking.AppModuleBasic{},
		govtypes.ModuleName:         gov.NewAppModuleBasic(nil),
		ibctransfertypes.ModuleName: transfer.AppModuleBasic{},
	})
	app.BasicModuleManager.RegisterLegacyAminoCodec(legacyAmino)
	app.BasicModuleManager.RegisterInterfaces(interfaceRegistry)

	app.ModuleManager.SetOrderPreBlockers(upgradetypes.ModuleName, authtypes.ModuleName, evmtypes.ModuleName)

	app.ModuleManager.SetOrderBeginBlockers(
		ibcexported.ModuleName, ibctransfertypes.ModuleName,
		// the EVM's begin block reads the base fee feemarket sets
		erc20types.ModuleName, feemarkettypes.ModuleName, evmtypes.ModuleName,
		distrtypes.ModuleName, slashingtypes.ModuleName, evidencetypes.ModuleName, stakingtypes.ModuleName,
		authtypes.ModuleName, banktypes.ModuleName, govtypes.ModuleName, genutiltypes.ModuleName,
		authz.ModuleName, feegrant.ModuleName, consensusparamtypes.ModuleName, vestingtypes.ModuleName,
		treasurytypes.ModuleName, stakinggputypes.ModuleName, computetypes.ModuleName, committeetypes.ModuleName,
	)

	app.ModuleManager.SetOrderEndBlockers(
		banktypes.ModuleName, govtypes.ModuleName, stakingtypes.ModuleName, authtypes.ModuleName,
		// feemarket last among the EVM modules so it sees the whole block's gas
		evmtypes.ModuleName, erc20types.ModuleName, feemarkettypes.ModuleName,
		ibcexported.ModuleName, ibctransfertypes.ModuleName, distrtypes.ModuleName, slashingtypes.ModuleName,
		genutiltypes.ModuleName, evidencetypes.ModuleName, authz.ModuleName, feegrant.ModuleName,
		upgradetypes.ModuleName, consensusparamtypes.ModuleName, vestingtypes.ModuleName,
		treasurytypes.ModuleName,
		// compute first: work verified in this block counts in a reward epoch that ends in it
		computetypes.ModuleName, stakinggputypes.ModuleName, committeetypes.ModuleName,
	)

	// genutil after staking (gentxs need the pools) and after feemarket (gentxs run the ante handler)
	genesisOrder := []string{
		authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName, stakingtypes.ModuleName,
		slashingtypes.ModuleName, govtypes.ModuleName, ibcexported.ModuleName,
		evmtypes.ModuleName, feemarkettypes.ModuleName, erc20types.ModuleName,
		ibctransfertypes.ModuleName, genutiltypes.ModuleName, evidencetypes.ModuleName, authz.ModuleName,
		feegrant.ModuleName, upgradetypes.ModuleName, vestingtypes.ModuleName, consensusparamtypes.ModuleName,
		// after bank: the provider rewards release starts from the pool's genesis balance
		treasurytypes.ModuleName, stakinggputypes.ModuleName, computetypes.ModuleName, committeetypes.ModuleName,
	}
	app.ModuleManager.SetOrderInitGenesis(genesisOrder...)
	app.ModuleManager.SetOrderExportGenesis(genesisOrder...)

	app.configurator = module.NewConfigurator(app.appCodec, app.MsgServiceRouter(), app.GRPCQueryRouter())
	if err := app.ModuleManager.RegisterServices(app.configurator); err != nil {
		panic(fmt.Errorf("register module services: %w", err))
	}
	app.invariants = app.registerInvariants()
	app.checkInvariants = cast.ToBool(appOpts.Get(FlagCheckInvariants))

	autocliv1.RegisterQueryServer(app.GRPCQueryRouter(), runtimeservices.NewAutoCLIQueryService(app.ModuleManager.Modules))
	reflectionSvc, err := runtimeservices.NewReflectionService()
	if err != nil {
		panic(err)
	}
	reflectionv1.RegisterReflectionServiceServer(app.GRPCQueryRouter(), reflectionSvc)

	app.MountKVStores(keys)
	app.MountObjectStores(oKeys)

	app.SetInitChainer(app.InitChainer)
	app.SetPreBlocker(app.PreBlocker)
	app.SetBeginBlocker(app.BeginBlocker)
	app.SetEndBlocker(app.EndBlocker)

	app.setAnteHandler(cast.ToUint64(appOpts.Get(srvflags.EVMMaxTxGasWanted)))
	if err := app.configureEVMMempool(appOpts, logger); err != nil {
		panic(fmt.Errorf("configure EVM mempool: %w", err))
	}
	if err := app.configureVoteExtensions(appOpts, logger); err != nil {
		panic(fmt.Errorf("configure vote extensions: %w", err))
	}

	postHandler, err := posthandler.NewPostHandler(posthandler.HandlerOptions{})
	if err != nil {
		panic(err)
	}
	app.SetPostHandler(postHandler)

	protoFiles, err := proto.MergedRegistry()
	if err != nil {
		panic(err)
	}
	if err := msgservice.ValidateProtoAnnotations(protoFiles); err != nil {
		logger.Warn("proto annotations", "err", err)
	}

	if loadLatest {
		if err := app.LoadLatestVersion(); err != nil {
			panic(fmt.Errorf("load latest version: %w", err))
		}
		ctx := app.NewContextLegacy(true, cmtproto.Header{Height: app.LastBlockHeight(), ChainID: app.ChainID()})
		vmModule.HydrateGlobals(ctx)
	}

	vmrunner.SetRunner(bApp, txnrunner.NewSTMRunner(
		txDecoder, nonTransientKeys, min(goruntime.GOMAXPROCS(0), goruntime.NumCPU()), true,
		func(ms storetypes.MultiStore) string {
			return app.EVMKeeper.GetParams(sdk.NewContext(ms, cmtproto.Header{}, false, log.NewNopLogger())).EvmDenom
		},
	))

	return app
}

func (app *App) setAnteHandler(maxGasWanted uint64) {
	options := evmante.HandlerOptions{
		Cdc:                    app.appCodec,
		AccountKeeper:          app.AccountKeeper,
		BankKeeper:             app.BankKeeper,
		ExtensionOptionChecker: antetypes.HasDynamicFeeExtensionOption,
		EvmKeeper:              app.EVMKeeper,
		FeegrantKeeper:         app.FeeGrantKeeper,
		IBCKeeper:              app.IBCKeeper,
		FeeMarketKeeper:        app.FeeMarketKeeper,
		SignModeHandler:        app.txConfig.SignModeHandler(),
		SigGasConsumer:         evmante.SigVerificationGasConsumer,
		MaxTxGasWanted:         maxGasWanted,
		DynamicFeeChecker:      true,
		PendingTxListener:      app.onPendingTx,
	}
	if err := options.Validate(); err != nil {
		panic(err)
	}
	app.SetAnteHandler(evmante.NewAnteHandler(options))
}

func (app *App) onPendingTx(hash common.Hash) {
	for _, listener := range app.pendingTxListeners {
		listener(hash)
	}
}

// RegisterPendingTxListener lets the JSON-RPC server follow pending transactions.
func (app *App) RegisterPendingTxListener(listener func(common.Hash)) {
	app.pendingTxListeners = append(app.pendingTxListeners, listener)
}

func (app *App) BeginBlocker(ctx sdk.Context) (sdk.BeginBlock, error) {
	return app.ModuleManager.BeginBlock(ctx)
}

func (app *App) EndBlocker(ctx sdk.Context) (sdk.EndBlock, error) {
	res, err := app.ModuleManager.EndBlock(ctx)
	if err != nil || !app.checkInvariants {
		return res, err
	}
	return res, app.AssertInvariants(ctx)
}

// PreBlocker runs the modules' pre-blockers, then records the committee attestations carried
// by the block's vote extensions.
func (app *App) PreBlocker(ctx sdk.Context, req *abci.RequestFinalizeBlock) (*sdk.ResponsePreBlock, error) {
	res, err := app.ModuleManager.PreBlock(ctx)
	if err != nil {
		return res, err
	}
	if app.attestations != nil {
		app.attestations.PreBlock(ctx, req)
	}
	return res, nil
}

// InitChainer initialises every module from the genesis app state.
func (app *App) InitChainer(ctx sdk.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	var genesisState GenesisState
	if err := json.Unmarshal(req.AppStateBytes, &genesisState); err != nil {
		return nil, fmt.Errorf("decode genesis app state: %w", err)
	}
	if err := app.UpgradeKeeper.SetModuleVersionMap(ctx, app.ModuleManager.GetVersionMap()); err != nil {
		return nil, err
	}
	return app.ModuleManager.InitGenesis(ctx, app.appCodec, genesisState)
}

// LoadHeight loads the state at a height.
func (app *App) LoadHeight(height int64) error { return app.LoadVersion(height) }

func (app *App) LegacyAmino() *codec.LegacyAmino               { return app.legacyAmino }
func (app *App) AppCodec() codec.Codec                         { return app.appCodec }
func (app *App) InterfaceRegistry() types.InterfaceRegistry    { return app.interfaceRegistry }
func (app *App) TxConfig() client.TxConfig                     { return app.txConfig }
func (app *App) GetMempool() sdkmempool.ExtMempool             { return app.EVMMempool }
func (app *App) GetKey(storeKey string) *storetypes.KVStoreKey { return app.keys[storeKey] }
func (app *App) SimulationManager() *module.SimulationManager  { return nil }
func (app *App) Configurator() module.Configurator             { return app.configurator }

// DefaultGenesis returns the genesis of every module with the ogpu defaults (DefaultGenesisState).
func (app *App) DefaultGenesis() map[string]json.RawMessage {
	return DefaultGenesisState(app.appCodec, app.BasicModuleManager)
}

// RegisterAPIRoutes registers the REST (gRPC-gateway) routes of every module.
func (app *App) RegisterAPIRoutes(apiSvr *api.Server, apiConfig config.APIConfig) {
	clientCtx := apiSvr.ClientCtx
	authtx.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	cmtservice.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	node.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	app.BasicModuleManager.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	if err := sdkserver.RegisterSwaggerAPI(apiSvr.ClientCtx, apiSvr.Router, apiConfig.Swagger); err != nil {
		panic(err)
	}
}

func (app *App) RegisterTxService(clientCtx client.Context) {
	authtx.RegisterTxService(app.GRPCQueryRouter(), clientCtx, app.Simulate, app.interfaceRegistry)
}

func (app *App) RegisterTendermintService(clientCtx client.Context) {
	cmtservice.RegisterTendermintService(clientCtx, app.GRPCQueryRouter(), app.interfaceRegistry, app.Query)
}

func (app *App) RegisterNodeService(clientCtx client.Context, cfg config.Config) {
	node.RegisterNodeService(clientCtx, app.GRPCQueryRouter(), cfg, func() int64 {
		return app.CommitMultiStore().EarliestVersion()
	})
}

// Close stops the EVM mempool and the base app.
func (app *App) Close() error {
	var err error
	if m, ok := app.EVMMempool.(*evmmempool.Mempool); ok && m != nil {
		err = m.Close()
	}
	return errors.Join(err, app.BaseApp.Close())
}

// AutoCliOpts returns the autocli options of every module, with EVM-aware address codecs.
func (app *App) AutoCliOpts() autocli.AppOptions {
	modules := make(map[string]appmodule.AppModule)
	for _, m := range app.ModuleManager.Modules {
		if named, ok := m.(module.HasName); ok {
			if am, ok := named.(appmodule.AppModule); ok {
				modules[named.Name()] = am
			}
		}
	}
	moduleOptions := runtimeservices.ExtractAutoCLIOptions(app.ModuleManager.Modules)
	// the commands are "ogpud tx staking-gpu …"; the module keeps a store-friendly name
	moduleOptions[stakinggputypes.CLIName] = moduleOptions[stakinggputypes.ModuleName]
	delete(moduleOptions, stakinggputypes.ModuleName)
	modules[stakinggputypes.CLIName] = modules[stakinggputypes.ModuleName]
	delete(modules, stakinggputypes.ModuleName)
	return autocli.AppOptions{
		Modules:               modules,
		ModuleOptions:         moduleOptions,
		AddressCodec:          evmaddress.NewEvmCodec(sdk.GetConfig().GetBech32AccountAddrPrefix()),
		ValidatorAddressCodec: evmaddress.NewEvmCodec(sdk.GetConfig().GetBech32ValidatorAddrPrefix()),
		ConsensusAddressCodec: evmaddress.NewEvmCodec(sdk.GetConfig().GetBech32ConsensusAddrPrefix()),
	}
}
