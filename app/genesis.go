package app

import (
	"encoding/json"

	"github.com/ethereum/go-ethereum/common"

	erc20types "github.com/cosmos/evm/x/erc20/types"
	evmtypes "github.com/cosmos/evm/x/vm/types"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	govv1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// GenesisState is the app state of a genesis file, one raw JSON message per module.
type GenesisState map[string]json.RawMessage

// NativeERC20Address is the address of the ERC-20 precompile that represents oGPU to
// Ethereum tooling (balances, transfers, allowances are the bank balances of aogpu).
// The bytes spell "OGPU" followed by a one.
var NativeERC20Address = common.HexToAddress("0x4f47505500000000000000000000000000000001")

// CoinMetadata is the bank denom metadata of oGPU; the EVM reads its decimals from it.
func CoinMetadata() banktypes.Metadata {
	return banktypes.Metadata{
		Description: "oGPU, the coin of the OpenGPU network: gas, compute payments and stake.",
		DenomUnits: []*banktypes.DenomUnit{
			{Denom: BaseDenom, Exponent: 0, Aliases: []string{"attoogpu"}},
			{Denom: DisplayDenom, Exponent: Decimals},
		},
		Base:    BaseDenom,
		Display: DisplayDenom,
		Name:    "oGPU",
		Symbol:  "OGPU",
	}
}

// DefaultGenesisState returns the default genesis of every module with the ogpu coin in
// place of the SDK's "stake": staking, gov, EVM and ERC-20 all use aogpu. Governance never
// burns deposits, so that the supply stays fixed.
func DefaultGenesisState(cdc codec.JSONCodec, basics module.BasicManager) GenesisState {
	genesis := basics.DefaultGenesis(cdc)

	bankGen := banktypes.DefaultGenesisState()
	bankGen.DenomMetadata = []banktypes.Metadata{CoinMetadata()}
	genesis[banktypes.ModuleName] = cdc.MustMarshalJSON(bankGen)

	stakingGen := stakingtypes.DefaultGenesisState()
	stakingGen.Params.BondDenom = BaseDenom
	genesis[stakingtypes.ModuleName] = cdc.MustMarshalJSON(stakingGen)

	govGen := govv1.DefaultGenesisState()
	oneThousand := sdkmath.NewInt(1000).Mul(sdkmath.NewIntWithDecimal(1, Decimals))
	govGen.Params.MinDeposit = sdk.NewCoins(sdk.NewCoin(BaseDenom, oneThousand))
	govGen.Params.ExpeditedMinDeposit = sdk.NewCoins(sdk.NewCoin(BaseDenom, oneThousand.MulRaw(5)))
	govGen.Params.BurnVoteQuorum = false
	govGen.Params.BurnProposalDepositPrevote = false
	govGen.Params.BurnVoteVeto = false
	govGen.Params.ProposalCancelRatio = sdkmath.LegacyZeroDec().String()
	genesis[govtypes.ModuleName] = cdc.MustMarshalJSON(govGen)

	evmGen := evmtypes.DefaultGenesisState()
	evmGen.Params.EvmDenom = BaseDenom
	evmGen.Params.ExtendedDenomOptions = &evmtypes.ExtendedDenomOptions{ExtendedDenom: BaseDenom}
	evmGen.Params.ActiveStaticPrecompiles = StaticPrecompiles()
	evmGen.Preinstalls = evmtypes.DefaultPreinstalls
	genesis[evmtypes.ModuleName] = cdc.MustMarshalJSON(evmGen)

	erc20Gen := erc20types.DefaultGenesisState()
	erc20Gen.TokenPairs = []erc20types.TokenPair{{
		Erc20Address:  NativeERC20Address.Hex(),
		Denom:         BaseDenom,
		Enabled:       true,
		ContractOwner: erc20types.OWNER_MODULE,
	}}
	erc20Gen.NativePrecompiles = []string{NativeERC20Address.Hex()}
	genesis[erc20types.ModuleName] = cdc.MustMarshalJSON(erc20Gen)

	return genesis
}
