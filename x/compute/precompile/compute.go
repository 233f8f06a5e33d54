package precompile

import (
	"bytes"
	_ "embed"
	"fmt"

	"cosmossdk.io/core/address"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	cmn "github.com/cosmos/evm/precompiles/common"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"

	computekeeper "github.com/opengpu/ogpu/x/compute/keeper"
	"github.com/opengpu/ogpu/x/compute/types"
)

// Address is where the precompile lives. Ethereum's precompiles sit at 0x01..0x11 and
// cosmos/evm's at 0x0100, 0x0400 and 0x0800..0x08ff; 0xC0DE is far from both ranges, so no
// upgrade of either can claim it, and it reads as ours. It is written in its EIP-55 checksum
// form because the EVM keeper matches active precompiles by that exact string.
const Address = "0x000000000000000000000000000000000000c0DE"

// The ABI's method names.
const (
	CreateTaskMethod    = "createTask"
	CancelTaskMethod    = "cancelTask"
	AcceptResultMethod  = "acceptResult"
	DisputeResultMethod = "disputeResult"
	GetTaskMethod       = "getTask"
	TasksOfMethod       = "tasksOf"
	ParamsMethod        = "params"
	OpenStreamMethod    = "openStream"
	FundStreamMethod    = "fundStream"
	CloseStreamMethod   = "closeStream"
	GetStreamMethod     = "getStream"
)

var (
	//go:embed abi.json
	abiJSON []byte
	// ABI is ICompute.sol's interface.
	ABI abi.ABI
)

func init() {
	var err error
	if ABI, err = abi.JSON(bytes.NewReader(abiJSON)); err != nil {
		panic(fmt.Errorf("compute precompile abi.json: %w", err)) // the embedded file is part of the build
	}
}

var _ vm.PrecompiledContract = (*Precompile)(nil)

// Precompile is the ICompute stateful precompile: the task and stream market of x/compute for
// EVM callers.
type Precompile struct {
	cmn.Precompile
	abi.ABI

	keeper  computekeeper.Keeper
	msgs    types.MsgServer
	queries types.QueryServer
	addrCdc address.Codec
}

// NewPrecompile builds the precompile over the compute keeper. bank is the keeper whose coin
// events the balance handler mirrors into the EVM's state, so that the EVM sees the escrow leave
// the caller's balance within the same transaction.
func NewPrecompile(k computekeeper.Keeper, bank cmn.BankKeeper, addrCdc address.Codec) *Precompile {
	return &Precompile{
		Precompile: cmn.Precompile{
			KvGasConfig:           storetypes.KVGasConfig(),
			TransientKVGasConfig:  storetypes.TransientGasConfig(),
			ContractAddress:       common.HexToAddress(Address),
			BalanceHandlerFactory: cmn.NewBalanceHandlerFactory(bank),
		},
		ABI:     ABI,
		keeper:  k,
		msgs:    computekeeper.NewMsgServer(k),
		queries: computekeeper.NewQueryServer(k),
		addrCdc: addrCdc,
	}
}

// Name implements vm.PrecompiledContract.
func (Precompile) Name() string { return "compute" }

// RequiredGas is the gas charged before the call runs: the common flat and per-byte cost of a
// read or a write. The method's base charge and the metered KV access come on top (see the
// package doc).
func (p Precompile) RequiredGas(input []byte) uint64 {
	if len(input) < 4 {
		return 0
	}
	method, err := p.MethodById(input[:4])
	if err != nil {
		return 0 // Run refuses the call
	}
	return p.Precompile.RequiredGas(input, p.IsTransaction(method))
}

// Run executes the call on a cache of the chain state that the EVM journals, so that a revert
// after it undoes what it did.
func (p Precompile) Run(evm *vm.EVM, contract *vm.Contract, readOnly bool) ([]byte, error) {
	return p.RunNativeAction(evm, contract, func(ctx sdk.Context) ([]byte, error) {
		return p.Execute(ctx, evm.StateDB, contract, readOnly)
	})
}

// Execute decodes the call and runs the method. A write under a static call is refused here.
func (p Precompile) Execute(ctx sdk.Context, stateDB vm.StateDB, contract *vm.Contract, readOnly bool) ([]byte, error) {
	method, args, err := cmn.SetupABI(p.ABI, contract, readOnly, p.IsTransaction)
	if err != nil {
		return nil, err
	}
	ctx.GasMeter().ConsumeGas(baseGas(method.Name, args), "compute precompile "+method.Name)
	if p.IsTransaction(method) && contract.Value().Sign() > 0 {
		return nil, fmt.Errorf("%s: msg.value must be 0: the escrow is taken from the caller's balance", method.Name)
	}
	switch method.Name {
	case CreateTaskMethod:
		return p.CreateTask(ctx, contract, stateDB, method, args)
	case CancelTaskMethod:
		return p.CancelTask(ctx, contract, stateDB, method, args)
	case AcceptResultMethod:
		return p.AcceptResult(ctx, contract, stateDB, method, args)
	case DisputeResultMethod:
		return p.DisputeResult(ctx, contract, stateDB, method, args)
	case GetTaskMethod:
		return p.GetTask(ctx, method, args)
	case TasksOfMethod:
		return p.TasksOf(ctx, method, args)
	case ParamsMethod:
		return p.Params(ctx, method)
	case OpenStreamMethod:
		return p.OpenStream(ctx, contract, stateDB, method, args)
	case FundStreamMethod:
		return p.FundStream(ctx, contract, stateDB, method, args)
	case CloseStreamMethod:
		return p.CloseStream(ctx, contract, stateDB, method, args)
	case GetStreamMethod:
		return p.GetStream(ctx, method, args)
	}
	return nil, fmt.Errorf(cmn.ErrUnknownMethod, method.Name)
}

// IsTransaction reports whether the method writes state.
func (Precompile) IsTransaction(method *abi.Method) bool {
	switch method.Name {
	case CreateTaskMethod, CancelTaskMethod, AcceptResultMethod, DisputeResultMethod,
		OpenStreamMethod, FundStreamMethod, CloseStreamMethod:
		return true
	}
	return false
}
