package precompile

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"
	cmn "github.com/cosmos/evm/precompiles/common"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"

	"github.com/opengpu/ogpu/x/compute/types"
)

// The ABI's event names. Each has the task id and its creator as its two indexed topics.
const (
	TaskCreatedEvent    = "TaskCreated"
	TaskCancelledEvent  = "TaskCancelled"
	ResultAcceptedEvent = "ResultAccepted"
	ResultDisputedEvent = "ResultDisputed"
)

func (p Precompile) emitTaskCreated(ctx sdk.Context, stateDB vm.StateDB, creator common.Address, task types.Task) error {
	return p.emit(ctx, stateDB, TaskCreatedEvent, task.Id, creator,
		task.Workload.Name, amount(task.MaxPrice), amount(task.Escrow), height(task.DeadlineHeight))
}

// emit adds the event as an EVM log of the precompile: topics are the signature, the task id and
// the creator; data are the event's other fields in order.
func (p Precompile) emit(ctx sdk.Context, stateDB vm.StateDB, name string, id uint64, creator common.Address, data ...interface{}) error {
	event, ok := p.Events[name]
	if !ok {
		return fmt.Errorf("event %s: not in the ABI", name)
	}
	idTopic, err := cmn.MakeTopic(id)
	if err != nil {
		return err
	}
	creatorTopic, err := cmn.MakeTopic(creator)
	if err != nil {
		return err
	}
	packed, err := event.Inputs.NonIndexed().Pack(data...)
	if err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	stateDB.AddLog(&ethtypes.Log{
		Address:     p.Address(),
		Topics:      []common.Hash{event.ID, idTopic, creatorTopic},
		Data:        packed,
		BlockNumber: height(ctx.BlockHeight()),
	})
	return nil
}
