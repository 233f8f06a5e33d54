package precompile

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"

	"github.com/opengpu/ogpu/x/compute/types"
)

// sender is msg.sender's account address as the module writes it: the caller of the
// precompile, a contract when a contract calls, never tx.origin.
func (p Precompile) sender(contract *vm.Contract) (common.Address, string, error) {
	caller := contract.Caller()
	s, err := p.addrCdc.BytesToString(caller.Bytes())
	if err != nil {
		return caller, "", fmt.Errorf("msg.sender %s: %w", caller, err)
	}
	return caller, s, nil
}

// CreateTask creates a task for msg.sender through the module's Msg service, exactly as
// MsgCreateTask does, and logs TaskCreated.
func (p Precompile) CreateTask(ctx sdk.Context, contract *vm.Contract, stateDB vm.StateDB, method *abi.Method, args []interface{}) ([]byte, error) {
	var in CreateTaskArgs
	if err := method.Inputs.Copy(&in, args); err != nil {
		return nil, fmt.Errorf("createTask arguments: %w", err)
	}
	caller, creator, err := p.sender(contract)
	if err != nil {
		return nil, err
	}
	params, err := p.keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	msg, err := toMsgCreateTask(creator, params.Denom, in)
	if err != nil {
		return nil, fmt.Errorf("createTask: %w", err)
	}
	res, err := p.msgs.CreateTask(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("createTask: %w", err)
	}
	task, err := p.keeper.GetTask(ctx, res.TaskId)
	if err != nil {
		return nil, err
	}
	if err := p.emitTaskCreated(ctx, stateDB, caller, task); err != nil {
		return nil, err
	}
	return method.Outputs.Pack(res.TaskId)
}

// CancelTask cancels msg.sender's OPEN task and refunds its escrow to msg.sender.
func (p Precompile) CancelTask(ctx sdk.Context, contract *vm.Contract, stateDB vm.StateDB, method *abi.Method, args []interface{}) ([]byte, error) {
	id, caller, creator, err := p.idAndSender(method, contract, args)
	if err != nil {
		return nil, err
	}
	task, err := p.keeper.GetTask(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("cancelTask: %w", err)
	}
	refund := task.Escrow
	if _, err := p.msgs.CancelTask(ctx, &types.MsgCancelTask{Creator: creator, TaskId: id}); err != nil {
		return nil, fmt.Errorf("cancelTask: %w", err)
	}
	if err := p.emit(ctx, stateDB, TaskCancelledEvent, id, caller, amount(refund)); err != nil {
		return nil, err
	}
	return method.Outputs.Pack(true)
}

// AcceptResult accepts the VERIFIED result of msg.sender's task: the provider is paid now.
func (p Precompile) AcceptResult(ctx sdk.Context, contract *vm.Contract, stateDB vm.StateDB, method *abi.Method, args []interface{}) ([]byte, error) {
	id, caller, creator, err := p.idAndSender(method, contract, args)
	if err != nil {
		return nil, err
	}
	if _, err := p.msgs.AcceptResult(ctx, &types.MsgAcceptResult{Creator: creator, TaskId: id}); err != nil {
		return nil, fmt.Errorf("acceptResult: %w", err)
	}
	if err := p.emit(ctx, stateDB, ResultAcceptedEvent, id, caller); err != nil {
		return nil, err
	}
	return method.Outputs.Pack(true)
}

// DisputeResult disputes the VERIFIED result of msg.sender's task; the bond is locked from
// msg.sender.
func (p Precompile) DisputeResult(ctx sdk.Context, contract *vm.Contract, stateDB vm.StateDB, method *abi.Method, args []interface{}) ([]byte, error) {
	id, caller, creator, err := p.idAndSender(method, contract, args)
	if err != nil {
		return nil, err
	}
	if _, err := p.msgs.DisputeResult(ctx, &types.MsgDisputeResult{Creator: creator, TaskId: id}); err != nil {
		return nil, fmt.Errorf("disputeResult: %w", err)
	}
	task, err := p.keeper.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := p.emit(ctx, stateDB, ResultDisputedEvent, id, caller, amount(task.DisputeBond)); err != nil {
		return nil, err
	}
	return method.Outputs.Pack(true)
}

// idAndSender decodes the one task id argument of cancel, accept and dispute.
func (p Precompile) idAndSender(method *abi.Method, contract *vm.Contract, args []interface{}) (uint64, common.Address, string, error) {
	if len(args) != 1 {
		return 0, common.Address{}, "", fmt.Errorf(cmnInvalidArgs, method.Name, 1, len(args))
	}
	id, ok := args[0].(uint64)
	if !ok {
		return 0, common.Address{}, "", fmt.Errorf("%s: id must be a uint64, got %T", method.Name, args[0])
	}
	caller, creator, err := p.sender(contract)
	return id, caller, creator, err
}

const cmnInvalidArgs = "%s: expected %d arguments, got %d"
