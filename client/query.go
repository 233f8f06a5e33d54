package client

import (
	"context"
	"fmt"

	"github.com/cosmos/cosmos-sdk/types/query"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// pageSize is the page every listing asks for.
const pageSize = 200

// Task is the task with id.
func (c *Client) Task(ctx context.Context, id uint64) (computetypes.Task, error) {
	res, err := computetypes.NewQueryClient(c.conn).Task(ctx, &computetypes.QueryTaskRequest{TaskId: id})
	if err != nil {
		return computetypes.Task{}, fmt.Errorf("query task %d: %w", id, err)
	}
	return res.Task, nil
}

// Tasks lists every task req selects (by state, creator, provider), all pages; req.Pagination
// is ignored.
func (c *Client) Tasks(ctx context.Context, req *computetypes.QueryTasksRequest) ([]computetypes.Task, error) {
	q := computetypes.NewQueryClient(c.conn)
	var all []computetypes.Task
	req.Pagination = &query.PageRequest{Limit: pageSize}
	for {
		res, err := q.Tasks(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("query tasks: %w", err)
		}
		all = append(all, res.Tasks...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return all, nil
		}
		req.Pagination = &query.PageRequest{Key: res.Pagination.NextKey, Limit: pageSize}
	}
}

// Provider is the GPU provider of a validator operator (ogpuvaloper…).
func (c *Client) Provider(ctx context.Context, operator string) (stakinggputypes.Provider, error) {
	res, err := stakinggputypes.NewQueryClient(c.conn).Provider(ctx, &stakinggputypes.QueryProviderRequest{Operator: operator})
	if err != nil {
		return stakinggputypes.Provider{}, fmt.Errorf("query provider %s: %w", operator, err)
	}
	return res.Provider, nil
}

// Providers lists every provider req selects (GPU model, memory, workload, jailed), all pages;
// req.Pagination is ignored.
func (c *Client) Providers(ctx context.Context, req *stakinggputypes.QueryProvidersRequest) ([]stakinggputypes.Provider, error) {
	q := stakinggputypes.NewQueryClient(c.conn)
	var all []stakinggputypes.Provider
	req.Pagination = &query.PageRequest{Limit: pageSize}
	for {
		res, err := q.Providers(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("query providers: %w", err)
		}
		all = append(all, res.Providers...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return all, nil
		}
		req.Pagination = &query.PageRequest{Key: res.Pagination.NextKey, Limit: pageSize}
	}
}

// Committee is a task's current committee and what it has recorded; the error is a gRPC
// NotFound when the task is not being verified.
func (c *Client) Committee(ctx context.Context, taskID uint64) (*committeetypes.QueryCommitteeResponse, error) {
	return committeetypes.NewQueryClient(c.conn).Committee(ctx, &committeetypes.QueryCommitteeRequest{TaskId: taskID})
}

// CommitteeParams are the committee module's parameters.
func (c *Client) CommitteeParams(ctx context.Context) (committeetypes.Params, error) {
	res, err := committeetypes.NewQueryClient(c.conn).Params(ctx, &committeetypes.QueryParamsRequest{})
	if err != nil {
		return committeetypes.Params{}, fmt.Errorf("query committee params: %w", err)
	}
	return res.Params, nil
}
