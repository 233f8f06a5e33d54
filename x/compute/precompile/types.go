package precompile

import (
	"fmt"
	"math/big"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// BlobArg is ICompute.sol's Blob.
type BlobArg struct {
	Uri    string //nolint:revive // the ABI decoder matches the Solidity field name uri
	Sha256 string
	Size   uint64
}

// PaymentFunctionArg is ICompute.sol's PaymentFunction.
type PaymentFunctionArg struct {
	Kind            uint8
	FullUntilBlocks uint64
	MinFraction     string
}

// CreateTaskArgs are createTask's arguments.
type CreateTaskArgs struct {
	Workload        string
	Params          []byte
	Inputs          []BlobArg
	MaxPrice        *big.Int
	Deadline        uint64
	PaymentFunction PaymentFunctionArg
}

// TaskInfo is ICompute.sol's TaskInfo.
type TaskInfo struct {
	Id             uint64 //nolint:revive // the ABI encoder matches the Solidity field name id
	Creator        common.Address
	Workload       string
	State          uint8
	Provider       common.Address
	MaxPrice       *big.Int
	Price          *big.Int
	Escrow         *big.Int
	ResultSha256   string
	ResultUri      string //nolint:revive // the ABI encoder matches the Solidity field name resultUri
	CreatedHeight  uint64
	DeadlineHeight uint64
	FinalHeight    uint64
}

// RequirementsArg is ICompute.sol's Requirements.
type RequirementsArg struct {
	MinVramMib           uint64
	GpuModel             string
	GpuCount             uint32
	MinComputeCapability string
}

// OpenStreamArgs are openStream's arguments.
type OpenStreamArgs struct {
	Workload           string
	Params             []byte
	Model              BlobArg
	Requirements       RequirementsArg
	Replicas           uint32
	MaxPricePerRequest *big.Int
	Duration           uint64
	Deposit            *big.Int
}

// StreamInfo is ICompute.sol's StreamInfo.
type StreamInfo struct {
	Id                 uint64 //nolint:revive // the ABI encoder matches the Solidity field name id
	Creator            common.Address
	Workload           string
	State              uint8
	Replicas           uint32
	Providers          []common.Address
	MaxPricePerRequest *big.Int
	Budget             *big.Int
	Unclaimed          *big.Int
	Escrow             *big.Int
	CreatedHeight      uint64
	SubscribeEnd       uint64
	LiveHeight         uint64
	EndHeight          uint64
	ClosedHeight       uint64
	Settled            bool
}

// ComputeParams is ICompute.sol's ComputeParams.
type ComputeParams struct {
	Denom                string
	BidWindow            uint64
	MinExecutionBlocks   uint64
	MaxDeadlineBlocks    uint64
	DisputeWindow        uint64
	SecurityDepositRatio string
	CommitteeFeeRatio    string
	DisputeBondRatio     string
}

func mustType(t string) abi.Type {
	ty, err := abi.NewType(t, "", nil)
	if err != nil {
		panic(err) // the type names are constants
	}
	return ty
}

// workloadParams are the ABI layouts of each workload's params bytes, as ICompute.sol documents.
var workloadParams = map[string]abi.Arguments{
	workload.GemmInt8V1: {
		{Name: "m", Type: mustType("uint32")}, {Name: "n", Type: mustType("uint32")}, {Name: "k", Type: mustType("uint32")},
		{Name: "seedA", Type: mustType("uint64")}, {Name: "seedB", Type: mustType("uint64")},
	},
	workload.InferMlpInt8V1: {
		{Name: "widths", Type: mustType("uint32[]")}, {Name: "rows", Type: mustType("uint32")},
	},
	workload.TrainMlpInt8V1: {
		{Name: "widths", Type: mustType("uint32[]")}, {Name: "datasetRows", Type: mustType("uint32")},
		{Name: "steps", Type: mustType("uint32")}, {Name: "batch", Type: mustType("uint32")},
		{Name: "lrShift", Type: mustType("uint32")}, {Name: "seed", Type: mustType("uint64")},
	},
}

// signature names a layout for error messages, e.g. "(uint32 m, uint32 n, …)".
func signature(args abi.Arguments) string {
	s := "("
	for i, a := range args {
		if i > 0 {
			s += ", "
		}
		s += a.Type.String() + " " + a.Name
	}
	return s + ")"
}

// decodeWorkload turns the workload name and its ABI-encoded params into the message's Workload.
func decodeWorkload(name string, params []byte) (types.Workload, error) {
	layout, ok := workloadParams[name]
	if !ok {
		return types.Workload{}, fmt.Errorf("workload %q: must be one of %s, %s, %s",
			name, workload.GemmInt8V1, workload.InferMlpInt8V1, workload.TrainMlpInt8V1)
	}
	if len(params) > maxWorkloadParamLen {
		return types.Workload{}, fmt.Errorf("params: %d bytes, at most %d", len(params), maxWorkloadParamLen)
	}
	v, err := layout.Unpack(params)
	if err != nil {
		return types.Workload{}, fmt.Errorf("params: %s expects abi.encode%s: %w", name, signature(layout), err)
	}
	w := types.Workload{Name: name}
	switch name {
	case workload.GemmInt8V1:
		w.Params = &types.Workload_GemmInt8{GemmInt8: &types.GemmInt8Params{
			M: v[0].(uint32), N: v[1].(uint32), K: v[2].(uint32), SeedA: v[3].(uint64), SeedB: v[4].(uint64),
		}}
	case workload.InferMlpInt8V1:
		w.Params = &types.Workload_InferMlpInt8{InferMlpInt8: &types.InferMlpInt8Params{
			Widths: v[0].([]uint32), Rows: v[1].(uint32),
		}}
	case workload.TrainMlpInt8V1:
		w.Params = &types.Workload_TrainMlpInt8{TrainMlpInt8: &types.TrainMlpInt8Params{
			Widths: v[0].([]uint32), DatasetRows: v[1].(uint32), Steps: v[2].(uint32), Batch: v[3].(uint32),
			LrShift: v[4].(uint32), Seed: v[5].(uint64),
		}}
	}
	return w, nil
}

// decodePayment turns the ABI payment function into the message's; minFraction may be empty for
// FIXED.
func decodePayment(a PaymentFunctionArg) (types.PaymentFunction, error) {
	f := types.PaymentFunction{Kind: types.PaymentKind(a.Kind), FullUntilBlocks: a.FullUntilBlocks, MinFraction: math.LegacyZeroDec()}
	switch f.Kind {
	case types.PAYMENT_KIND_FIXED, types.PAYMENT_KIND_LINEAR_DECAY:
	default:
		return f, fmt.Errorf("paymentFunction.kind %d: must be 1 (FIXED) or 2 (LINEAR_DECAY)", a.Kind)
	}
	if a.MinFraction != "" {
		d, err := math.LegacyNewDecFromStr(a.MinFraction)
		if err != nil {
			return f, fmt.Errorf("paymentFunction.minFraction %q: must be a decimal in [0, 1], e.g. \"0.5\"", a.MinFraction)
		}
		f.MinFraction = d
	}
	return f, nil
}

// toMsgCreateTask builds the Cosmos message the call stands for; creator is msg.sender's
// address. The requirements ask only for the workload, as a Cosmos client sending no
// requirements does.
func toMsgCreateTask(creator, denom string, a CreateTaskArgs) (*types.MsgCreateTask, error) {
	w, err := decodeWorkload(a.Workload, a.Params)
	if err != nil {
		return nil, err
	}
	maxPrice, err := coinArg("maxPrice", denom, a.MaxPrice)
	if err != nil {
		return nil, err
	}
	pay, err := decodePayment(a.PaymentFunction)
	if err != nil {
		return nil, err
	}
	inputs := make([]types.Blob, len(a.Inputs))
	for i, in := range a.Inputs {
		inputs[i] = types.Blob{Uri: in.Uri, Sha256: in.Sha256, Size_: in.Size}
	}
	return &types.MsgCreateTask{
		Creator:      creator,
		Workload:     w,
		Requirements: stakinggputypes.Requirements{Workload: a.Workload},
		MaxPrice:     maxPrice,
		Deadline:     a.Deadline,
		Payment:      pay,
		Inputs:       inputs,
	}, nil
}

// coinArg is an ABI amount argument as a coin of the market denom: positive and at most the
// whole supply.
func coinArg(field, denom string, v *big.Int) (sdk.Coin, error) {
	if v == nil || v.Sign() <= 0 {
		return sdk.Coin{}, fmt.Errorf("%s %v: must be a positive amount of %s", field, v, denom)
	}
	if v.Cmp(types.MaxAmount.BigInt()) > 0 {
		return sdk.Coin{}, fmt.Errorf("%s %s: must be at most the whole supply, %s%s", field, v, types.MaxAmount, denom)
	}
	return sdk.NewCoin(denom, math.NewIntFromBigInt(v)), nil
}

// height turns a block height into the ABI's uint64; heights are never negative.
func height(h int64) uint64 {
	if h < 0 {
		return 0
	}
	return uint64(h)
}

// amount is a module amount as the ABI's uint256; an unset amount is 0.
func amount(i math.Int) *big.Int {
	if i.IsNil() {
		return new(big.Int)
	}
	return i.BigInt()
}
