package sidecar

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/gpu/gemm"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// testProvider is a provider over chain whose executor runs 1 GMAC/s on 1 s blocks.
func testProvider(t *testing.T, chain *fakeChain, maxConcurrent int) *Sidecar {
	cfg := Config{
		Provider: true, ProviderKey: "provider", MaxConcurrent: maxConcurrent,
		PricePerGMAC: math.NewInt(1000), MinPrice: math.NewInt(1), BlockTime: time.Second,
	}
	s := newSidecar(cfg, log.NewNopLogger(), chain, nil, gemm.CPU{})
	s.provider = sdk.AccAddress("provider------------")
	for _, w := range workload.Names() {
		s.pace.observeRun(w, 1e9, time.Second)
	}
	return s
}

// openTask is an OPEN m×n×k gemm task whose bid window ends at 10.
func openTask(id uint64, m, n, k uint32, deadline int64, executionBlocks uint64) computetypes.Task {
	return computetypes.Task{
		Id: id, State: computetypes.TASK_STATE_OPEN, MaxPrice: math.NewInt(1_000_000_000),
		Workload: computetypes.Workload{Name: "gemm-int8/v1", Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: m, N: n, K: k, SeedA: 1, SeedB: 2},
		}},
		BidWindowEnd: 10, DeadlineHeight: deadline, ExecutionBlocks: executionBlocks,
	}
}

func bidsOn(chain *fakeChain) map[uint64]int {
	out := map[uint64]int{}
	for _, m := range chain.msgs() {
		if b, ok := m.(*computetypes.MsgBid); ok {
			out[b.TaskId]++
		}
	}
	return out
}

func refusal(e interface {
	Codespace() string
	ABCICode() uint32
}) error {
	return &ogpuclient.TxError{Codespace: e.Codespace(), Code: e.ABCICode(), Log: "refused"}
}

// TestBidSkipsTooShortWindow: at 1 GMAC/s and 1 s blocks, the provider bids on a task it can
// finish in its window, and skips one whose execution blocks, less the two it cannot use, are
// shorter than the work ahead (its other bid) plus its own; and one with no window at all.
func TestBidSkipsTooShortWindow(t *testing.T) {
	chain := newFakeChain()
	chain.height = 5
	s := testProvider(t, chain, 4)
	chain.setTask(openTask(1, 1024, 1024, 1024, 100, 0)) // 1.07 GMAC, 88 blocks
	chain.setTask(openTask(2, 2048, 2048, 1024, 100, 5)) // 4.3 GMAC in 3 blocks: no
	chain.setTask(openTask(3, 64, 64, 64, 12, 0))        // 2 blocks, both taken by the margin
	chain.setTask(openTask(4, 1024, 1024, 512, 100, 5))  // 0.54 GMAC after task 1's 1.07: 1.6 s in 3 blocks
	s.providerPass(context.Background())
	require.Equal(t, map[uint64]int{1: 1, 4: 1}, bidsOn(chain))

	reason, detail := s.bidRefusal(openTask(2, 2048, 2048, 1024, 100, 5), gemmParams(2048, 2048, 1024), 5, 0, 0)
	require.Equal(t, "window", reason)
	require.Contains(t, detail, "execution window is 3 blocks")

	// at 4 GMAC/s task 2 fits: the estimate follows the measured speed
	for range 20 {
		s.pace.observeRun(workload.GemmInt8V1, 4e9, time.Second)
	}
	reason, _ = s.bidRefusal(openTask(2, 2048, 2048, 1024, 100, 5), gemmParams(2048, 2048, 1024), 5, 0, 0)
	require.Empty(t, reason)
	// later than the bid window's end, the window counts from now
	require.EqualValues(t, 100-50-2, executionBlocks(openTask(1, 1, 1, 1, 100, 0), 50))
	require.EqualValues(t, 5-2, executionBlocks(openTask(1, 1, 1, 1, 100, 5), 5))
}

// TestBidHoldsAtMostMaxConcurrent: a provider holding max-concurrent won tasks not yet
// submitted bids on nothing, and bids again once one is submitted.
func TestBidHoldsAtMostMaxConcurrent(t *testing.T) {
	chain := newFakeChain()
	s := testProvider(t, chain, 2)
	for id := uint64(1); id <= 2; id++ {
		won := openTask(id, 8, 8, 8, 100, 0)
		won.State, won.Provider, won.AssignmentDeadline = computetypes.TASK_STATE_ASSIGNED, s.provider.String(), 50
		chain.setTask(won)
	}
	chain.setTask(openTask(3, 8, 8, 8, 100, 0))
	s.providerPass(context.Background())
	require.Empty(t, bidsOn(chain), "holds 2 of 2")
	waiting, running := s.runs.counts()
	require.Equal(t, 2, waiting+running, "the won tasks wait for a run slot")

	s.markSent(1)
	s.providerPass(context.Background())
	require.Equal(t, map[uint64]int{3: 1}, bidsOn(chain))
}

// TestBidRetriedOnlyForReasonsThatChange: a bid refused in its block because the task's bids
// are full or the provider is not eligible right now is sent again on later passes (up to
// maxBidAttempts); one refused because the task is not open or the provider already bid is not.
// A refusal by the mempool is treated the same way.
func TestBidRetriedOnlyForReasonsThatChange(t *testing.T) {
	chain := newFakeChain()
	s := testProvider(t, chain, 8)
	answers := map[uint64]error{
		1: refusal(computetypes.ErrTooManyBids),
		2: refusal(computetypes.ErrDuplicateBid),
		3: refusal(computetypes.ErrWrongState),
		4: refusal(computetypes.ErrNotEligible),
		5: nil,
	}
	chain.deliver = func(m sdk.Msg) error { return answers[m.(*computetypes.MsgBid).TaskId] }
	for id := range answers {
		chain.setTask(openTask(id, 8, 8, 8, 100, 0))
	}
	for pass := range 5 {
		chain.height = int64(pass)
		s.providerPass(context.Background())
	}
	require.Equal(t, map[uint64]int{1: maxBidAttempts, 2: 1, 3: 1, 4: maxBidAttempts, 5: 1}, bidsOn(chain))
	require.Equal(t, bidPlaced, s.bids[5].state)
	require.Equal(t, bidRefused, s.bids[1].state, "attempts used up")

	// the mempool refuses: a fee that may fall is tried again, a bad signature is not
	chain = newFakeChain()
	s = testProvider(t, chain, 8)
	chain.setTask(openTask(1, 8, 8, 8, 100, 0))
	chain.setTask(openTask(2, 8, 8, 8, 100, 0))
	chain.broadcast = func(m sdk.Msg) error {
		if m.(*computetypes.MsgBid).TaskId == 1 {
			return refusal(sdkerrors.ErrInsufficientFee)
		}
		return refusal(sdkerrors.ErrUnauthorized)
	}
	s.providerPass(context.Background())
	chain.broadcast = nil
	s.providerPass(context.Background())
	require.Equal(t, map[uint64]int{1: 2, 2: 1}, bidsOn(chain))

	// a task that left OPEN is forgotten
	chain.setTask(computetypes.Task{Id: 1, State: computetypes.TASK_STATE_ASSIGNED})
	s.providerPass(context.Background())
	require.NotContains(t, s.bids, uint64(1))
}

// TestRetryableBid is the rule, refusal by refusal.
func TestRetryableBid(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{refusal(computetypes.ErrTooManyBids), true},
		{refusal(computetypes.ErrNotEligible), true},
		{refusal(sdkerrors.ErrWrongSequence), true},
		{refusal(sdkerrors.ErrInsufficientFunds), true},
		{refusal(sdkerrors.ErrInsufficientFee), true},
		{refusal(sdkerrors.ErrOutOfGas), true},
		{refusal(sdkerrors.ErrMempoolIsFull), true},
		{errors.New("connection refused"), true},
		{refusal(computetypes.ErrWrongState), false},
		{refusal(computetypes.ErrDuplicateBid), false},
		{refusal(computetypes.ErrBidWindowClosed), false},
		{refusal(computetypes.ErrTaskNotFound), false},
		{refusal(computetypes.ErrInvalidPrice), false},
		{refusal(sdkerrors.ErrUnauthorized), false},
		{&ogpuclient.TxError{Codespace: "other", Code: 16}, false},
	} {
		require.Equal(t, tc.want, retryableBid(tc.err), "%v", tc.err)
	}
}

func gemmParams(m, n, k uint32) workload.GemmInt8 { return workload.GemmInt8{M: m, N: n, K: k} }

// TestBidSkipsUnmetRequirements: a provider does not send bids the chain must refuse: a task
// asking for hardware or a workload its registered record does not offer is passed over once.
func TestBidSkipsUnmetRequirements(t *testing.T) {
	chain := newFakeChain()
	chain.height = 5
	s := testProvider(t, chain, 4)
	s.self = stakinggputypes.Provider{Operator: s.provider.String(), Workloads: []string{workload.GemmInt8V1}} // a CPU provider
	b200 := openTask(1, 64, 64, 64, 100, 0)
	b200.Requirements = stakinggputypes.Requirements{Workload: workload.GemmInt8V1, GpuModel: "B200"}
	anyHW := openTask(2, 64, 64, 64, 100, 0)
	anyHW.Requirements = stakinggputypes.Requirements{Workload: workload.GemmInt8V1}
	chain.setTask(b200)
	chain.setTask(anyHW)
	s.providerPass(context.Background())
	s.providerPass(context.Background())
	require.Equal(t, map[uint64]int{2: 1}, bidsOn(chain))
}

// TestBidPrice: the provider bids max(min-price, work units × price-per-gmac / 10⁹, rounded up)
// and passes over a task whose max price is below that.
func TestBidPrice(t *testing.T) {
	chain := newFakeChain()
	chain.height = 5
	s := testProvider(t, chain, 8)                 // 1000 aogpu per GMAC, min price 1
	small := openTask(1, 8, 8, 8, 100, 0)          // 512 MACs: the min price
	big := openTask(2, 1024, 1024, 1024, 100, 0)   // 1,073,741,824 MACs: 1,074 aogpu
	cheap := openTask(3, 1024, 1024, 1024, 100, 0) // the same, at a max price below it
	cheap.MaxPrice = math.NewInt(1_000)
	for _, tk := range []computetypes.Task{small, big, cheap} {
		chain.setTask(tk)
	}
	s.providerPass(context.Background())
	prices := map[uint64]math.Int{}
	for _, m := range chain.msgs() {
		if b, ok := m.(*computetypes.MsgBid); ok {
			prices[b.TaskId] = b.Price
		}
	}
	require.Len(t, prices, 2, "the task whose max price is below the provider's price is passed over")
	require.Equal(t, math.NewInt(1), prices[1])
	require.Equal(t, math.NewInt(1_074), prices[2])
}

// TestBidPacesEachWorkload: the run time of a task comes from its own workload's measured
// speed. A training run of MNIST's shape is some 50 times slower per multiply-add than a large
// product; paced at the product's speed, the provider would win it and miss its window.
func TestBidPacesEachWorkload(t *testing.T) {
	chain := newFakeChain()
	s := testProvider(t, chain, 4)
	s.pace = &pace{configured: time.Second}
	s.pace.observeRun(workload.GemmInt8V1, 1000e9, time.Second)
	s.pace.observeRun(workload.TrainMlpInt8V1, 10e9, time.Second)
	train := computetypes.Task{
		Id: 1, State: computetypes.TASK_STATE_OPEN, MaxPrice: math.NewInt(1_000_000_000_000), BidWindowEnd: 10, DeadlineHeight: 100, ExecutionBlocks: 5,
		Workload: computetypes.Workload{Name: workload.TrainMlpInt8V1, Params: &computetypes.Workload_TrainMlpInt8{
			TrainMlpInt8: &computetypes.TrainMlpInt8Params{Widths: []uint32{784, 128, 10}, DatasetRows: 100, Steps: 2000, Batch: 64, LrShift: 1},
		}},
		Inputs: []computetypes.Blob{{Size_: workload.MlpDatasetSize(100, 784)}},
	}
	p, err := train.Workload.TypedParams()
	require.NoError(t, err)
	reason, detail := s.bidRefusal(train, p, 5, 0, 0) // 39 GMAC: 3.9 s at 10 GMAC/s, 3 blocks
	require.Equal(t, "window", reason)
	require.Contains(t, detail, "execution window is 3 blocks")

	train.ExecutionBlocks = 10
	reason, _ = s.bidRefusal(train, p, 5, 0, 0)
	require.Empty(t, reason, "8 blocks are enough")
	reason, _ = s.bidRefusal(train, p, 5, 0, 5*time.Second)
	require.Equal(t, "window", reason, "not behind 5 s of other work")
}
