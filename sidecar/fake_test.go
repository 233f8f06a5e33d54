package sidecar

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// fakeChain is a ledger in memory: tasks, committees, and the txs sent, with the answers a test
// sets for them.
type fakeChain struct {
	mu         sync.Mutex
	taskList   map[uint64]computetypes.Task
	committees map[uint64]*committeetypes.QueryCommitteeResponse
	params     committeetypes.Params
	height     int64
	sent       []sdk.Msg
	// broadcast is the mempool's answer to a tx (nil: taken); deliver its answer in a block.
	broadcast func(sdk.Msg) error
	deliver   func(sdk.Msg) error
	delivered map[string]error
	pending   map[string]bool // txs taken but in no block yet
	queries   int             // committee queries
}

func newFakeChain() *fakeChain {
	return &fakeChain{
		taskList: map[uint64]computetypes.Task{}, committees: map[uint64]*committeetypes.QueryCommitteeResponse{},
		params: committeetypes.Params{CommitBlocks: 5}, delivered: map[string]error{}, pending: map[string]bool{},
	}
}

func (f *fakeChain) setTask(t computetypes.Task) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.taskList[t.Id] = t
}

func (f *fakeChain) setCommittee(id uint64, res *committeetypes.QueryCommitteeResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committees[id] = res
}

func (f *fakeChain) msgs() []sdk.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

func (f *fakeChain) tasks(_ context.Context, req *computetypes.QueryTasksRequest) ([]computetypes.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []computetypes.Task
	for _, t := range f.taskList {
		if (req.State == 0 || t.State == req.State) && (req.Provider == "" || t.Provider == req.Provider) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b computetypes.Task) int { return cmp.Compare(a.Id, b.Id) })
	return out, nil
}

func (f *fakeChain) task(_ context.Context, id uint64) (computetypes.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.taskList[id]
	if !ok {
		return t, status.Errorf(codes.NotFound, "task %d", id)
	}
	return t, nil
}

func (f *fakeChain) committee(_ context.Context, id uint64) (*committeetypes.QueryCommitteeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	res, ok := f.committees[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "task %d has no committee", id)
	}
	return res, nil
}

func (f *fakeChain) committeeParams(context.Context) (committeetypes.Params, error) {
	return f.params, nil
}

func (f *fakeChain) latestBlock(context.Context) (int64, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.height, time.Unix(f.height, 0), nil
}

func (f *fakeChain) send(_ context.Context, _ string, _ uint64, msgs ...sdk.Msg) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, msgs...)
	if f.broadcast != nil {
		if err := f.broadcast(msgs[0]); err != nil {
			return "", err
		}
	}
	hash := fmt.Sprintf("tx%d", len(f.sent))
	if f.deliver != nil {
		f.delivered[hash] = f.deliver(msgs[0])
	}
	return hash, nil
}

func (f *fakeChain) txResult(_ context.Context, hash string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending[hash] {
		return false, nil
	}
	return true, f.delivered[hash]
}
