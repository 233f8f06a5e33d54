package app

import (
	"maps"
	"slices"

	corevm "github.com/ethereum/go-ethereum/core/vm"

	evmutils "github.com/cosmos/evm/utils"
	erc20types "github.com/cosmos/evm/x/erc20/types"
	feemarkettypes "github.com/cosmos/evm/x/feemarket/types"
	vmtypes "github.com/cosmos/evm/x/vm/types"
	transfertypes "github.com/cosmos/ibc-go/v11/modules/apps/transfer/types"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	computeprecompile "github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
	treasurytypes "github.com/opengpu/ogpu/x/treasury/types"
)

const (
	// Name is the application name, also used for the default home directory (~/.ogpud).
	Name = "ogpud"

	// BaseDenom is the base unit of the oGPU coin: 1 OGPU = 10^18 aogpu.
	BaseDenom = "aogpu"
	// DisplayDenom is the unit people read and type.
	DisplayDenom = "ogpu"
	// Decimals is the exponent between DisplayDenom and BaseDenom; the EVM reads it from bank metadata.
	Decimals = 18

	// Bech32Prefix is the account address prefix.
	Bech32Prefix = "ogpu"

	// DefaultEVMChainID is the EVM chain id `ogpud init` writes to app.toml.
	DefaultEVMChainID uint64 = 1071
	// DevEVMChainID is the EVM chain id of `ogpud dev` (MetaMask's localhost network).
	DevEVMChainID uint64 = 1337

	// VoteExtensionsEnableHeight is the height from which every genesis we write enables vote extensions.
	VoteExtensionsEnableHeight = 2
)

// SetBech32Prefixes sets the ogpu prefixes on an SDK config.
func SetBech32Prefixes(cfg *sdk.Config) {
	cfg.SetBech32PrefixForAccount(Bech32Prefix, Bech32Prefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForValidator(Bech32Prefix+sdk.PrefixValidator+sdk.PrefixOperator,
		Bech32Prefix+sdk.PrefixValidator+sdk.PrefixOperator+sdk.PrefixPublic)
	cfg.SetBech32PrefixForConsensusNode(Bech32Prefix+sdk.PrefixValidator+sdk.PrefixConsensus,
		Bech32Prefix+sdk.PrefixValidator+sdk.PrefixConsensus+sdk.PrefixPublic)
}

// moduleAccountPermissions lists every module account and what it may do. There is no
// minter of aogpu: the whole supply exists from genesis. The EVM and IBC accounts keep
// their permissions for the transient mint/burn pairs of EVM transfers and for IBC vouchers.
var moduleAccountPermissions = map[string][]string{
	authtypes.FeeCollectorName:     nil,
	distrtypes.ModuleName:          nil,
	stakingtypes.BondedPoolName:    {authtypes.Burner, authtypes.Staking},
	stakingtypes.NotBondedPoolName: {authtypes.Burner, authtypes.Staking},
	govtypes.ModuleName:            {authtypes.Burner},
	transfertypes.ModuleName:       {authtypes.Minter, authtypes.Burner},
	vmtypes.ModuleName:             {authtypes.Minter, authtypes.Burner},
	feemarkettypes.ModuleName:      nil,
	erc20types.ModuleName:          {authtypes.Minter, authtypes.Burner},

	// genesis allocation pools
	treasurytypes.EcosystemPool:       nil,
	treasurytypes.CommunityPool:       nil,
	treasurytypes.ReservePool:         nil,
	treasurytypes.ProviderRewardsPool: nil,

	// bonded and unbonding GPU provider stake
	stakinggputypes.ModuleName: nil,
	// escrow of open compute tasks
	computetypes.ModuleName: nil,
}

// ModuleAccountPermissions returns a copy of the module account permissions.
func ModuleAccountPermissions() map[string][]string {
	return maps.Clone(moduleAccountPermissions)
}

// StaticPrecompiles are the addresses of the static precompiles the chain activates, cosmos/evm's
// and ICompute, sorted as the EVM params require.
func StaticPrecompiles() []string {
	all := append(slices.Clone(vmtypes.AvailableStaticPrecompiles), computeprecompile.Address)
	slices.Sort(all)
	return all
}

// BlockedAddresses returns the addresses that may not receive coins through MsgSend:
// module accounts and precompiled contracts.
func BlockedAddresses() map[string]bool {
	blocked := make(map[string]bool)
	for name := range moduleAccountPermissions {
		blocked[authtypes.NewModuleAddress(name).String()] = true
	}

	precompiles := StaticPrecompiles()
	for _, addr := range corevm.PrecompiledAddressesPrague {
		precompiles = append(precompiles, addr.Hex())
	}
	for _, hex := range precompiles {
		blocked[evmutils.Bech32StringFromHexAddress(hex)] = true
	}
	return blocked
}
