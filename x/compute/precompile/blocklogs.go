package precompile

import (
	"fmt"
	"math/big"

	"cosmossdk.io/core/address"
	abci "github.com/cometbft/cometbft/abci/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	cmn "github.com/cosmos/evm/precompiles/common"
	"github.com/cosmos/gogoproto/proto"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// The events the block-hook transitions of tasks and streams log. Each has the task or stream
// id and its creator as its first two indexed topics (TaskAssigned adds the provider as a third).
const (
	TaskAssignedEvent    = "TaskAssigned"
	TaskCompletedEvent   = "TaskCompleted"
	TaskFailedEvent      = "TaskFailed"
	StreamLiveEvent      = "StreamLive"
	StreamPausedEvent    = "StreamPaused"
	StreamEndedEvent     = "StreamEnded"
	StreamSettledEvent   = "StreamSettled"
	ReplicaReplacedEvent = "ReplicaReplaced"
)

// BlockLogs turns the compute events of a block's hooks (PreBlock, BeginBlock, EndBlock: a bid
// window closing, a committee's verdict, a deadline passing, a stream going live, pausing,
// ending, settling or losing a replica) into the precompile's EVM logs, in
// the order the events came. These transitions run in no transaction, so no EVM call can log
// them; the app attaches the logs to the block instead (see app.FinalizeBlock). Events of other
// modules and of the other compute transitions are skipped; a compute event that cannot be read
// is an error, since every node must build the same logs from the same events.
func BlockLogs(events []abci.Event, addrCdc address.Codec) ([]*ethtypes.Log, error) {
	var logs []*ethtypes.Log
	for _, ev := range events {
		switch ev.Type {
		case eventName(&types.EventTaskAssigned{}), eventName(&types.EventResultVerified{}),
			eventName(&types.EventTaskCompleted{}), eventName(&types.EventTaskFailed{}),
			eventName(&types.EventTaskExpired{}), eventName(&types.EventStreamLive{}),
			eventName(&types.EventStreamPaused{}), eventName(&types.EventStreamClosed{}),
			eventName(&types.EventStreamSettled{}), eventName(&types.EventReplicaReplaced{}):
		default:
			continue
		}
		msg, err := sdk.ParseTypedEvent(withoutMode(ev))
		if err != nil {
			return nil, fmt.Errorf("block logs: %s: %w", ev.Type, err)
		}
		log, err := blockLog(msg, addrCdc)
		if err != nil {
			return nil, fmt.Errorf("block logs: %s: %w", ev.Type, err)
		}
		logs = append(logs, log)
	}
	return logs, nil
}

func blockLog(msg proto.Message, addrCdc address.Codec) (*ethtypes.Log, error) {
	switch e := msg.(type) {
	case *types.EventTaskAssigned:
		provider, err := evmAddress(addrCdc, e.Provider)
		if err != nil {
			return nil, fmt.Errorf("provider: %w", err)
		}
		return newBlockLog(addrCdc, TaskAssignedEvent, e.TaskId, e.Creator, []any{provider}, amount(e.Price))
	case *types.EventResultVerified:
		return newBlockLog(addrCdc, TaskCompletedEvent, e.TaskId, e.Creator, nil, uint8(types.TASK_STATE_VERIFIED), e.ResultSha256)
	case *types.EventTaskCompleted:
		return newBlockLog(addrCdc, TaskCompletedEvent, e.TaskId, e.Creator, nil, uint8(types.TASK_STATE_COMPLETED), e.ResultSha256)
	case *types.EventTaskFailed:
		return newBlockLog(addrCdc, TaskFailedEvent, e.TaskId, e.Creator, nil, uint8(types.TASK_STATE_FAILED), e.Reason)
	case *types.EventTaskExpired:
		return newBlockLog(addrCdc, TaskFailedEvent, e.TaskId, e.Creator, nil, uint8(types.TASK_STATE_EXPIRED), e.Reason)
	case *types.EventStreamLive:
		providers := make([]common.Address, len(e.Serving))
		for i, r := range e.Serving {
			addr, err := evmAddress(addrCdc, r.Provider)
			if err != nil {
				return nil, fmt.Errorf("serving[%d]: %w", i, err)
			}
			providers[i] = addr
		}
		return newBlockLog(addrCdc, StreamLiveEvent, e.StreamId, e.Creator, nil, providers, height(e.EndHeight))
	case *types.EventStreamPaused:
		return newBlockLog(addrCdc, StreamPausedEvent, e.StreamId, e.Creator, nil, height(e.GraceEnd), e.Reason)
	case *types.EventStreamClosed:
		return newBlockLog(addrCdc, StreamEndedEvent, e.StreamId, e.Creator, nil, e.Reason, amount(e.Claimed))
	case *types.EventStreamSettled:
		return newBlockLog(addrCdc, StreamSettledEvent, e.StreamId, e.Creator, nil, amount(e.Claimed), amount(e.Refunded))
	case *types.EventReplicaReplaced:
		provider, err := evmAddress(addrCdc, e.Provider)
		if err != nil {
			return nil, fmt.Errorf("provider: %w", err)
		}
		replacement, err := evmAddress(addrCdc, e.Replacement) // none left: the zero address
		if err != nil {
			return nil, fmt.Errorf("replacement: %w", err)
		}
		return newBlockLog(addrCdc, ReplicaReplacedEvent, e.StreamId, e.Creator, nil, e.Slot, provider, replacement, e.Reason)
	}
	return nil, fmt.Errorf("%s has no log", proto.MessageName(msg))
}

// newBlockLog is the log of the named event: topics the signature, the task id, the creator and
// any further indexed values; data the other fields in order.
func newBlockLog(addrCdc address.Codec, name string, id uint64, creator string, indexed []any, data ...any) (*ethtypes.Log, error) {
	event, ok := ABI.Events[name]
	if !ok {
		return nil, fmt.Errorf("event %s: not in the ABI", name)
	}
	creatorAddr, err := evmAddress(addrCdc, creator)
	if err != nil {
		return nil, fmt.Errorf("creator: %w", err)
	}
	topics := []common.Hash{event.ID}
	for _, v := range append([]any{id, creatorAddr}, indexed...) {
		topic, err := cmn.MakeTopic(v)
		if err != nil {
			return nil, err
		}
		topics = append(topics, topic)
	}
	packed, err := event.Inputs.NonIndexed().Pack(data...)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", name, err)
	}
	return &ethtypes.Log{Address: common.HexToAddress(Address), Topics: topics, Data: packed}, nil
}

// evmAddress is the EVM address of an account address (bech32); "" (none yet, e.g. a task's
// provider before assignment) is the zero address.
func evmAddress(addrCdc address.Codec, bech32 string) (common.Address, error) {
	if bech32 == "" {
		return common.Address{}, nil
	}
	bz, err := addrCdc.StringToBytes(bech32)
	if err != nil {
		return common.Address{}, err
	}
	return common.BytesToAddress(bz), nil
}

func eventName(msg proto.Message) string { return proto.MessageName(msg) }

// withoutMode drops the "mode" attribute (BeginBlock, EndBlock, …) the SDK adds to a block
// hook's events: it is not JSON, and the typed event never had it.
func withoutMode(ev abci.Event) abci.Event {
	attrs := make([]abci.EventAttribute, 0, len(ev.Attributes))
	for _, a := range ev.Attributes {
		if a.Key != "mode" {
			attrs = append(attrs, a)
		}
	}
	return abci.Event{Type: ev.Type, Attributes: attrs}
}

// AddToBloom returns the bloom (the EVM module's block bloom in its event encoding: big-endian
// bytes without leading zeros) with the logs' addresses and topics added.
func AddToBloom(bloom []byte, logs []*ethtypes.Log) []byte {
	b := ethtypes.BytesToBloom(bloom)
	for _, l := range logs {
		b.Add(l.Address.Bytes())
		for _, t := range l.Topics {
			b.Add(t.Bytes())
		}
	}
	return new(big.Int).SetBytes(b.Bytes()).Bytes()
}
