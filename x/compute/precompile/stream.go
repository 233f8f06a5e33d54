package precompile

import (
	"fmt"
	"math/big"
	"slices"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"

	"github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// The ABI's stream event names. Like the task events, each has the stream id and its creator as
// its two indexed topics.
const (
	StreamOpenedEvent = "StreamOpened"
	StreamFundedEvent = "StreamFunded"
	StreamClosedEvent = "StreamClosed"
)

// OpenStream opens a stream for msg.sender through the module's Msg service, exactly as
// MsgOpenStream does, and logs StreamOpened.
func (p Precompile) OpenStream(ctx sdk.Context, contract *vm.Contract, stateDB vm.StateDB, method *abi.Method, args []interface{}) ([]byte, error) {
	var in OpenStreamArgs
	if err := method.Inputs.Copy(&in, args); err != nil {
		return nil, fmt.Errorf("openStream arguments: %w", err)
	}
	caller, creator, err := p.sender(contract)
	if err != nil {
		return nil, err
	}
	params, err := p.keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	msg, err := toMsgOpenStream(creator, params.Denom, in)
	if err != nil {
		return nil, fmt.Errorf("openStream: %w", err)
	}
	res, err := p.msgs.OpenStream(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("openStream: %w", err)
	}
	s, err := p.keeper.GetStream(ctx, res.StreamId)
	if err != nil {
		return nil, err
	}
	if err := p.emit(ctx, stateDB, StreamOpenedEvent, s.Id, caller, s.Workload.Name, s.Replicas,
		amount(s.MaxPricePerRequest), amount(s.Escrow), height(s.SubscribeEnd)); err != nil {
		return nil, err
	}
	return method.Outputs.Pack(res.StreamId)
}

// FundStream adds to the budget of msg.sender's stream; the amount, its committee fee and its
// security deposit are locked from msg.sender.
func (p Precompile) FundStream(ctx sdk.Context, contract *vm.Contract, stateDB vm.StateDB, method *abi.Method, args []interface{}) ([]byte, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf(cmnInvalidArgs, method.Name, 2, len(args))
	}
	id, ok1 := args[0].(uint64)
	value, ok2 := args[1].(*big.Int)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("fundStream: arguments must be (uint64 id, uint256 amount)")
	}
	caller, creator, err := p.sender(contract)
	if err != nil {
		return nil, err
	}
	params, err := p.keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	coin, err := coinArg("amount", params.Denom, value)
	if err != nil {
		return nil, fmt.Errorf("fundStream: %w", err)
	}
	before, err := p.keeper.GetStream(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("fundStream: %w", err)
	}
	if _, err := p.msgs.FundStream(ctx, &types.MsgFundStream{Creator: creator, StreamId: id, Amount: coin}); err != nil {
		return nil, fmt.Errorf("fundStream: %w", err)
	}
	after, err := p.keeper.GetStream(ctx, id)
	if err != nil {
		return nil, err
	}
	locked := new(big.Int).Sub(amount(after.Escrow), amount(before.Escrow))
	if err := p.emit(ctx, stateDB, StreamFundedEvent, id, caller, value, locked, amount(after.Budget)); err != nil {
		return nil, err
	}
	return method.Outputs.Pack(true)
}

// CloseStream closes msg.sender's stream: one that never went live settles and refunds at once,
// any other when its replicas' last vouchers, commitments and reveals are in.
func (p Precompile) CloseStream(ctx sdk.Context, contract *vm.Contract, stateDB vm.StateDB, method *abi.Method, args []interface{}) ([]byte, error) {
	id, caller, creator, err := p.idAndSender(method, contract, args)
	if err != nil {
		return nil, err
	}
	before, err := p.keeper.GetStream(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("closeStream: %w", err)
	}
	if _, err := p.msgs.CloseStream(ctx, &types.MsgCloseStream{Creator: creator, StreamId: id}); err != nil {
		return nil, fmt.Errorf("closeStream: %w", err)
	}
	after, err := p.keeper.GetStream(ctx, id)
	if err != nil {
		return nil, err
	}
	refunded := new(big.Int).Sub(amount(after.Refunded), amount(before.Refunded))
	settleHeight := after.TimerHeight // the settlement's timer
	if after.Settled {
		settleHeight = ctx.BlockHeight()
	}
	if err := p.emit(ctx, stateDB, StreamClosedEvent, id, caller, refunded, height(settleHeight)); err != nil {
		return nil, err
	}
	return method.Outputs.Pack(true)
}

// GetStream returns a stream's StreamInfo.
func (p Precompile) GetStream(ctx sdk.Context, method *abi.Method, args []interface{}) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf(cmnInvalidArgs, method.Name, 1, len(args))
	}
	id, ok := args[0].(uint64)
	if !ok {
		return nil, fmt.Errorf("getStream: id must be a uint64, got %T", args[0])
	}
	s, err := p.keeper.GetStream(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("getStream: %w", err)
	}
	info, err := p.streamInfo(s)
	if err != nil {
		return nil, err
	}
	return method.Outputs.Pack(info)
}

// streamInfo is the stream as ICompute.sol's StreamInfo.
func (p Precompile) streamInfo(s types.Stream) (StreamInfo, error) {
	creator, err := evmAddress(p.addrCdc, s.Creator)
	if err != nil {
		return StreamInfo{}, fmt.Errorf("stream %d creator: %w", s.Id, err)
	}
	providers := make([]common.Address, len(s.Serving))
	for i, r := range s.Serving {
		if providers[i], err = evmAddress(p.addrCdc, r.Provider); err != nil {
			return StreamInfo{}, fmt.Errorf("stream %d provider: %w", s.Id, err)
		}
	}
	return StreamInfo{
		Id:                 s.Id,
		Creator:            creator,
		Workload:           s.Workload.Name,
		State:              uint8(s.State), //nolint:gosec // the enum has 5 values
		Replicas:           s.Replicas,
		Providers:          providers,
		MaxPricePerRequest: amount(s.MaxPricePerRequest),
		Budget:             amount(s.Budget),
		Unclaimed:          s.Unclaimed().BigInt(), // nil amounts count as 0
		Escrow:             amount(s.Escrow),
		CreatedHeight:      height(s.CreatedHeight),
		SubscribeEnd:       height(s.SubscribeEnd),
		LiveHeight:         height(s.LiveHeight),
		EndHeight:          height(s.EndHeight),
		ClosedHeight:       height(s.ClosedHeight),
		Settled:            s.Settled,
	}, nil
}

// toMsgOpenStream builds the Cosmos message the call stands for; creator is msg.sender's
// address. The requirements' workload is the stream's.
func toMsgOpenStream(creator, denom string, a OpenStreamArgs) (*types.MsgOpenStream, error) {
	if !slices.Contains(types.StreamWorkloads, a.Workload) {
		return nil, fmt.Errorf("workload %q: streams serve %v", a.Workload, types.StreamWorkloads)
	}
	w, err := decodeWorkload(a.Workload, a.Params)
	if err != nil {
		return nil, err
	}
	if a.Replicas == 0 {
		return nil, fmt.Errorf("replicas 0: must be at least 1")
	}
	maxPrice, err := coinArg("maxPricePerRequest", denom, a.MaxPricePerRequest)
	if err != nil {
		return nil, err
	}
	deposit, err := coinArg("deposit", denom, a.Deposit)
	if err != nil {
		return nil, err
	}
	return &types.MsgOpenStream{
		Creator:  creator,
		Workload: w,
		Model:    types.Blob{Uri: a.Model.Uri, Sha256: a.Model.Sha256, Size_: a.Model.Size},
		Requirements: stakinggputypes.Requirements{
			Workload:             a.Workload,
			MinVramMib:           a.Requirements.MinVramMib,
			GpuModel:             a.Requirements.GpuModel,
			GpuCount:             a.Requirements.GpuCount,
			MinComputeCapability: a.Requirements.MinComputeCapability,
		},
		Replicas:           a.Replicas,
		MaxPricePerRequest: maxPrice,
		Duration:           a.Duration,
		Deposit:            deposit,
	}, nil
}
