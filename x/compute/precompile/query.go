package precompile

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/opengpu/ogpu/x/compute/types"
)

// GetTask returns a task's TaskInfo.
func (p Precompile) GetTask(ctx sdk.Context, method *abi.Method, args []interface{}) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf(cmnInvalidArgs, method.Name, 1, len(args))
	}
	id, ok := args[0].(uint64)
	if !ok {
		return nil, fmt.Errorf("getTask: id must be a uint64, got %T", args[0])
	}
	task, err := p.keeper.GetTask(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("getTask: %w", err)
	}
	info, err := p.taskInfo(task)
	if err != nil {
		return nil, err
	}
	return method.Outputs.Pack(info)
}

// TasksOf pages through a creator's task ids, oldest first.
func (p Precompile) TasksOf(ctx sdk.Context, method *abi.Method, args []interface{}) ([]byte, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf(cmnInvalidArgs, method.Name, 3, len(args))
	}
	creator, ok1 := args[0].(common.Address)
	offset, ok2 := args[1].(uint64)
	limit, ok3 := args[2].(uint64)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("tasksOf: arguments must be (address creator, uint64 offset, uint64 limit)")
	}
	if limit == 0 || limit > maxTasksOfLimit {
		return nil, fmt.Errorf("tasksOf: limit %d: must be in 1..%d", limit, maxTasksOfLimit)
	}
	addr, err := p.addrCdc.BytesToString(creator.Bytes())
	if err != nil {
		return nil, fmt.Errorf("tasksOf: creator %s: %w", creator, err)
	}
	res, err := p.queries.Tasks(ctx, &types.QueryTasksRequest{Creator: addr, Pagination: &query.PageRequest{Offset: offset, Limit: limit}})
	if err != nil {
		return nil, fmt.Errorf("tasksOf: %w", err)
	}
	ids := make([]uint64, len(res.Tasks))
	for i, t := range res.Tasks {
		ids[i] = t.Id
	}
	return method.Outputs.Pack(ids)
}

// Params returns the market parameters a caller needs to build a task.
func (p Precompile) Params(ctx sdk.Context, method *abi.Method) ([]byte, error) {
	params, err := p.keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return method.Outputs.Pack(ComputeParams{
		Denom:                params.Denom,
		BidWindow:            params.BidWindow,
		MinExecutionBlocks:   params.MinExecutionBlocks,
		MaxDeadlineBlocks:    params.MaxDeadlineBlocks,
		DisputeWindow:        params.DisputeWindow,
		SecurityDepositRatio: params.SecurityDepositRatio.String(),
		CommitteeFeeRatio:    params.CommitteeFeeRatio.String(),
		DisputeBondRatio:     params.DisputeBondRatio.String(),
	})
}

// taskInfo is the task as ICompute.sol's TaskInfo.
func (p Precompile) taskInfo(t types.Task) (TaskInfo, error) {
	creator, err := evmAddress(p.addrCdc, t.Creator)
	if err != nil {
		return TaskInfo{}, fmt.Errorf("task %d creator: %w", t.Id, err)
	}
	provider, err := evmAddress(p.addrCdc, t.Provider)
	if err != nil {
		return TaskInfo{}, fmt.Errorf("task %d provider: %w", t.Id, err)
	}
	return TaskInfo{
		Id:             t.Id,
		Creator:        creator,
		Workload:       t.Workload.Name,
		State:          uint8(t.State), //nolint:gosec // the enum has 9 values
		Provider:       provider,
		MaxPrice:       amount(t.MaxPrice),
		Price:          amount(t.Price),
		Escrow:         amount(t.Escrow),
		ResultSha256:   t.Result.Sha256,
		ResultUri:      t.Result.Uri,
		CreatedHeight:  height(t.CreatedHeight),
		DeadlineHeight: height(t.DeadlineHeight),
		FinalHeight:    height(t.FinalHeight),
	}, nil
}
