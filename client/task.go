package client

import (
	"context"
	"errors"
	"fmt"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/gogoproto/proto"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// CreateTask sends msg, waits for its tx to be in a block and returns the new task's id.
func (c *Client) CreateTask(ctx context.Context, txf clienttx.Factory, msg *computetypes.MsgCreateTask) (uint64, error) {
	res, err := c.SendAndWait(ctx, txf, msg)
	if err != nil {
		return 0, fmt.Errorf("create task: %w", err)
	}
	return CreatedTaskID(res)
}

// CreatedTaskID reads the id of the task a MsgCreateTask made from its tx's result.
func CreatedTaskID(res *sdk.TxResponse) (uint64, error) {
	d, err := msgData(res)
	if err != nil {
		return 0, err
	}
	for _, any := range d.MsgResponses {
		var r computetypes.MsgCreateTaskResponse
		if any.TypeUrl == "/"+proto.MessageName(&r) {
			if err := r.Unmarshal(any.Value); err != nil {
				return 0, fmt.Errorf("tx data: %w", err)
			}
			return r.TaskId, nil
		}
	}
	return 0, errors.New("tx data holds no MsgCreateTaskResponse")
}

// TaskSource is where WaitTask reads a task; a *Client is one.
type TaskSource interface {
	Task(ctx context.Context, id uint64) (computetypes.Task, error)
}

// WaitTask follows task id until it is final and returns it as it ended (COMPLETED or not: see
// its State and Outcome). onChange, when not nil, sees the task each time its state changes,
// the first state seen included, in order; WaitTask waits for it before asking again (so
// onChange can accept or dispute a VERIFIED result). Failed queries are asked again until ctx
// ends.
func (c *Client) WaitTask(ctx context.Context, id uint64, onChange func(computetypes.Task)) (computetypes.Task, error) {
	return waitTask(ctx, c, c.sleep, id, onChange)
}

func waitTask(ctx context.Context, src TaskSource, sleep func(context.Context) error, id uint64, onChange func(computetypes.Task)) (computetypes.Task, error) {
	var last computetypes.Task
	for {
		t, err := src.Task(ctx, id)
		if err == nil && t.State != last.State {
			last = t
			if onChange != nil {
				onChange(t)
			}
			if t.State.IsFinal() {
				return t, nil
			}
		}
		if err := sleep(ctx); err != nil {
			return last, fmt.Errorf("task %d still %s: %w", id, last.State, err)
		}
	}
}
