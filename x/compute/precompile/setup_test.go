package precompile_test

import (
	"math/big"
	"sync"
	"testing"
	"time"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/evm/crypto/ethsecp256k1"
	feemarkettypes "github.com/cosmos/evm/x/feemarket/types"
	vm "github.com/cosmos/evm/x/vm"
	"github.com/cosmos/evm/x/vm/statedb"
	evmtypes "github.com/cosmos/evm/x/vm/types"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/app"
	"github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

func init() { app.SetBech32Prefixes(sdk.GetConfig()) }

// evmConfigOnce sets the EVM's process-wide coin configuration once per test binary.
var evmConfigOnce sync.Once

var precompileAddr = common.HexToAddress(precompile.Address)

// chain is an in-process app with the default genesis of the EVM, the market and the providers.
type chain struct {
	t   *testing.T
	app *app.App
	ctx sdk.Context
}

func newChain(t *testing.T) *chain {
	t.Helper()
	a := app.New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.EmptyAppOptions{})
	ctx := a.NewUncachedContext(false, cmtproto.Header{Height: 10, ChainID: "ogpu-test", Time: time.Unix(1_800_000_000, 0)})

	a.BankKeeper.SetDenomMetaData(ctx, app.CoinMetadata())
	require.NoError(t, a.FeeMarketKeeper.SetParams(ctx, feemarkettypes.DefaultParams()))
	// the EVM genesis of the app's default genesis, which activates the precompile the app registers
	var evmGen evmtypes.GenesisState
	a.AppCodec().MustUnmarshalJSON(app.DefaultGenesisState(a.AppCodec(), a.BasicModuleManager)[evmtypes.ModuleName], &evmGen)
	require.Contains(t, evmGen.Params.ActiveStaticPrecompiles, precompile.Address)
	require.NoError(t, evmGen.Validate())
	vm.InitGenesis(ctx, a.EVMKeeper, a.AccountKeeper, a.BankKeeper, evmGen, &evmConfigOnce)
	require.NoError(t, a.StakingGPUKeeper.InitGenesis(ctx, *stakinggputypes.DefaultGenesis()))
	require.NoError(t, a.ComputeKeeper.InitGenesis(ctx, *computetypes.DefaultGenesis()))
	c := &chain{t: t, app: a, ctx: ctx}
	c.setPubKey(aliceKey)
	c.setPubKey(bobKey)
	return c
}

// setPubKey records key's public key in its account, as the account's first Cosmos tx would.
func (c *chain) setPubKey(key *ethsecp256k1.PrivKey) {
	addr := sdk.AccAddress(key.PubKey().Address())
	acc := c.app.AccountKeeper.GetAccount(c.ctx, addr)
	if acc == nil {
		acc = c.app.AccountKeeper.NewAccountWithAddress(c.ctx, addr)
	}
	require.NoError(c.t, acc.SetPubKey(key.PubKey()))
	c.app.AccountKeeper.SetAccount(c.ctx, acc)
}

// aogpu is n whole OGPU.
func aogpu(n int64) math.Int { return math.NewIntWithDecimal(n, 18).Mul(math.OneInt()) }

// fund mints coins to an EVM address.
func (c *chain) fund(addr common.Address, amt math.Int) {
	coins := sdk.NewCoins(sdk.NewCoin(app.BaseDenom, amt))
	require.NoError(c.t, c.app.BankKeeper.MintCoins(c.ctx, evmtypes.ModuleName, coins))
	require.NoError(c.t, c.app.BankKeeper.SendCoinsFromModuleToAccount(c.ctx, evmtypes.ModuleName, addr.Bytes(), coins))
}

// balance is the bank balance of an EVM address; it also checks that the EVM sees the same.
func (c *chain) balance(addr common.Address) math.Int {
	bank := c.app.BankKeeper.GetBalance(c.ctx, addr.Bytes(), app.BaseDenom).Amount
	evm := c.app.EVMKeeper.GetBalance(c.ctx, addr)
	require.Equal(c.t, bank.String(), evm.ToBig().String(), "bank and EVM balances of %s", addr)
	return bank
}

// deploy puts runtime code at addr.
func (c *chain) deploy(addr common.Address, code []byte) {
	db := statedb.New(c.ctx, c.app.EVMKeeper, statedb.NewEmptyTxConfig())
	db.CreateAccount(addr)
	db.SetCode(addr, code, tracing.CodeChangeUnspecified)
	require.NoError(c.t, db.Commit())
}

// result is one EVM call's outcome.
type result struct {
	ret     []byte
	logs    []*ethtypes.Log
	gasUsed uint64
	err     error
}

// call sends data from `from` to `to` as a committed EVM message with gasLimit.
func (c *chain) call(from, to common.Address, data []byte, gasLimit uint64) result {
	if !c.app.AccountKeeper.HasAccount(c.ctx, from.Bytes()) {
		c.app.AccountKeeper.SetAccount(c.ctx, c.app.AccountKeeper.NewAccountWithAddress(c.ctx, from.Bytes()))
	}
	// a failed call charges its gas meter in full, so each call gets its own
	ctx := c.ctx.WithGasMeter(storetypes.NewInfiniteGasMeter())
	db := statedb.New(ctx, c.app.EVMKeeper, statedb.NewEmptyTxConfig())
	res, err := c.app.EVMKeeper.CallEVMWithData(ctx, db, from, &to, data, true, false, new(big.Int).SetUint64(gasLimit))
	if res == nil {
		return result{err: err}
	}
	return result{ret: res.Ret, logs: evmtypes.LogsToEthereum(res.Logs), gasUsed: res.GasUsed, err: err}
}

// revertReason decodes a revert's Error(string).
func revertReason(t *testing.T, r result) string {
	t.Helper()
	require.Error(t, r.err)
	reason, err := abi.UnpackRevert(r.ret)
	if err != nil {
		return r.err.Error()
	}
	return reason
}

// proxy is runtime code that forwards its calldata to the precompile with op (CALL or
// STATICCALL) and returns or reverts with the precompile's answer; with revertAfter it reverts
// after a successful call.
func proxy(op byte, revertAfter bool) []byte {
	code := []byte{0x36, 0x60, 0x00, 0x60, 0x00, 0x37}            // calldatacopy(0, 0, calldatasize)
	code = append(code, 0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00) // retSize, retOffset, argsSize, argsOffset
	if op == 0xf1 {
		code = append(code, 0x60, 0x00) // value
	}
	code = append(code, 0x61, 0xc0, 0xde, 0x5a, op)         // address, gas, call
	code = append(code, 0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e) // returndatacopy(0, 0, returndatasize)
	dest := byte(len(code) + 7)                             // past jumpi and the failure branch
	code = append(code, 0x60, dest, 0x57)                   // jumpi(dest, success)
	code = append(code, 0x3d, 0x60, 0x00, 0xfd)             // revert(0, returndatasize)
	code = append(code, 0x5b)                               // dest:
	if revertAfter {
		return append(code, 0x60, 0x00, 0x60, 0x00, 0xfd) // revert(0, 0)
	}
	return append(code, 0x3d, 0x60, 0x00, 0xf3) // return(0, returndatasize)
}

const (
	opCall       = 0xf1
	opStaticCall = 0xfa
)
