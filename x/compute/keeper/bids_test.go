package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/keeper"
	"github.com/opengpu/ogpu/x/compute/types"
	sgkeeper "github.com/opengpu/ogpu/x/staking-gpu/keeper"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestBidRules(t *testing.T) {
	f := newFixture(t)
	id := f.create(f.gemmTask())
	require.NoError(t, f.bid(f.providers[0], id, ogpu(100)), "a bid of exactly max_price")

	params := types.DefaultParams()
	params.MaxBidsPerTask = 2
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: params})
	require.NoError(t, err)
	require.NoError(t, f.bid(f.providers[1], id, ogpu(80)))

	// a provider whose stake is too small for the price, and a jailed one
	sgMsgs := sgkeeper.NewMsgServer(f.sg)
	small, jailed := f.addr("small", 0), f.addr("jailed", 0)
	for _, p := range []sdk.AccAddress{small, jailed} {
		f.bank.Set(p, denom, ogpu(2_000))
		_, err := sgMsgs.RegisterProvider(f.ctx, &sgtypes.MsgRegisterProvider{Operator: p.String(), Moniker: "m", Endpoint: "http://p", Workloads: []string{"gemm-int8/v1"}})
		require.NoError(t, err)
		_, err = sgMsgs.Bond(f.ctx, &sgtypes.MsgBond{Operator: p.String(), Amount: sdk.NewCoin(denom, ogpu(1_000))})
		require.NoError(t, err)
	}
	require.NoError(t, f.sg.Jail(f.ctx, jailed, f.ctx.BlockTime().Add(time.Hour)))
	expensive := f.gemmTask()
	expensive.MaxPrice = sdk.NewCoin(denom, ogpu(1_000))
	other := f.create(expensive)

	tests := []struct {
		name     string
		provider sdk.AccAddress
		task     uint64
		price    math.Int
		err      error
		detail   string
	}{
		{"above max price", f.providers[2], other, ogpu(1_000).AddRaw(1), types.ErrInvalidPrice, "at most the task's max_price"},
		{"zero price", f.providers[2], other, math.ZeroInt(), types.ErrInvalidPrice, "positive"},
		{"twice", f.providers[0], id, ogpu(90), types.ErrDuplicateBid, "withdraw the bid first"},
		{"stake short of collateral", small, other, ogpu(600), types.ErrNotEligible, "insufficient bonded stake"},
		{"jailed", jailed, other, ogpu(1), types.ErrNotEligible, "provider jailed"},
		{"not a provider", f.client, other, ogpu(1), types.ErrNotEligible, "provider not found"},
		{"no such task", f.providers[2], 99, ogpu(1), types.ErrTaskNotFound, "task 99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			err := f.bid(tc.provider, tc.task, tc.price)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.detail)
			require.Equal(t, before, f.snapshot())
		})
	}
	require.NoError(t, f.bid(small, other, ogpu(500)), "1,000 OGPU bonded covers 2 × 500")

	f.untilHeight(f.task(other).BidWindowEnd + 1)
	err = f.bid(f.providers[2], id, ogpu(1))
	require.ErrorIs(t, err, types.ErrWrongState, "the task was matched")
	_, err = f.msgs.WithdrawBid(f.ctx, &types.MsgWithdrawBid{Provider: f.providers[1].String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrWrongState)
}

func TestBidWindowCloses(t *testing.T) {
	f := newFixture(t)
	id := f.create(f.gemmTask())
	f.untilHeight(f.task(id).BidWindowEnd - 1)
	require.NoError(t, f.bid(f.providers[0], id, ogpu(50)))
	_, err := f.msgs.WithdrawBid(f.ctx, &types.MsgWithdrawBid{Provider: f.providers[1].String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrBidNotFound)
	_, err = f.msgs.WithdrawBid(f.ctx, &types.MsgWithdrawBid{Provider: f.providers[0].String(), TaskId: id})
	require.NoError(t, err, "the block before the last may withdraw")
	require.NoError(t, f.bid(f.providers[0], id, ogpu(40)), "withdrawn, so it may bid again")
	f.nextBlock()

	// the last block takes bids but no withdrawals: a bid placed stands
	require.NoError(t, f.bid(f.providers[1], id, ogpu(45)), "the window's last block still takes bids")
	_, err = f.msgs.WithdrawBid(f.ctx, &types.MsgWithdrawBid{Provider: f.providers[0].String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrBidWindowClosed)
	require.ErrorContains(t, err, "the block before the bid window's last")
	f.nextBlock()
	require.Equal(t, types.TASK_STATE_ASSIGNED, f.task(id).State)
	require.Equal(t, ogpu(40), f.task(id).Price)
}

// TestSquattersCannotFillTheBook: squatters fill a task's book with bids; a better bid evicts
// the worst of them instead of being refused, a worse one is refused and changes nothing, a
// squatter that became ineligible is evicted first, and the squatters cannot all leave in the
// last block: the honest bid is matched.
func TestSquattersCannotFillTheBook(t *testing.T) {
	f := newFixture(t)
	params := types.DefaultParams()
	params.MaxBidsPerTask = 2
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: params})
	require.NoError(t, err)
	id := f.create(f.gemmTask())
	squat0, squat1, honest := f.providers[0], f.providers[1], f.providers[2]
	require.NoError(t, f.bid(squat0, id, ogpu(90)))
	require.NoError(t, f.bid(squat1, id, ogpu(95)))

	before := f.snapshot()
	err = f.bid(honest, id, ogpu(99))
	require.ErrorIs(t, err, types.ErrTooManyBids)
	require.ErrorContains(t, err, "must beat the worst, "+squat1.String())
	require.Equal(t, before, f.snapshot(), "a refused bid changes nothing")

	require.NoError(t, f.bid(honest, id, ogpu(94)), "beats the worst: evicts it")
	bids, err := f.k.BidsOf(f.ctx, id)
	require.NoError(t, err)
	require.Len(t, bids, 2)
	for _, b := range bids {
		require.NotEqual(t, squat1.String(), b.Provider, "the worst bid was evicted")
	}

	// a jailed squatter's bid is the worst whatever its price
	_, err = f.msgs.WithdrawBid(f.ctx, &types.MsgWithdrawBid{Provider: honest.String(), TaskId: id})
	require.NoError(t, err)
	require.NoError(t, f.bid(squat1, id, ogpu(10)))
	require.NoError(t, f.sg.Jail(f.ctx, squat1, f.ctx.BlockTime().Add(time.Hour)))
	require.NoError(t, f.bid(honest, id, ogpu(94)), "evicts the jailed bid at 10")

	// the squatters leave in the last block: they cannot, and the best bid is matched
	f.untilHeight(f.task(id).BidWindowEnd)
	_, err = f.msgs.WithdrawBid(f.ctx, &types.MsgWithdrawBid{Provider: squat0.String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrBidWindowClosed)
	f.nextBlock()
	require.Equal(t, types.TASK_STATE_ASSIGNED, f.task(id).State)
	require.Equal(t, squat0.String(), f.task(id).Provider, "a squatter that stays is matched and must run the task")
}

func TestMatchingRule(t *testing.T) {
	p := func(b byte) sdk.AccAddress {
		return sdk.AccAddress{b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b}
	}
	base := keeper.Candidate{Provider: p(1), Price: math.NewInt(100), Completed: 5, Failed: 1, Bonded: math.NewInt(1000)}
	with := func(edit func(c *keeper.Candidate)) keeper.Candidate {
		c := base
		c.Provider = p(2)
		edit(&c)
		return c
	}
	tests := []struct {
		name  string
		other keeper.Candidate
		wins  bool // whether other beats base
	}{
		{"lower price wins", with(func(c *keeper.Candidate) { c.Price = math.NewInt(99); c.Completed = 0; c.Bonded = math.NewInt(1) }), true},
		{"higher price loses", with(func(c *keeper.Candidate) { c.Price = math.NewInt(101); c.Completed = 100 }), false},
		{"same price, more completed wins", with(func(c *keeper.Candidate) { c.Completed = 6; c.Failed = 9 }), true},
		{"same price and completed, fewer failed wins", with(func(c *keeper.Candidate) { c.Failed = 0; c.Bonded = math.NewInt(1) }), true},
		{"same record, more stake wins", with(func(c *keeper.Candidate) { c.Bonded = math.NewInt(1001) }), true},
		{"same record, less stake loses", with(func(c *keeper.Candidate) { c.Bonded = math.NewInt(999) }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.wins, keeper.Better(7, tc.other, base))
			require.Equal(t, !tc.wins, keeper.Better(7, base, tc.other))
		})
	}
	// a full tie falls to the hash of (task, provider): a strict order, different across tasks
	tie := with(func(*keeper.Candidate) {})
	require.NotEqual(t, keeper.Better(7, tie, base), keeper.Better(7, base, tie))
	flips := 0
	for id := uint64(0); id < 64; id++ {
		if keeper.Better(id, tie, base) {
			flips++
		}
	}
	require.Greater(t, flips, 0)
	require.Less(t, flips, 64, "neither provider wins every tie")
}

func TestMatchingInEndBlock(t *testing.T) {
	f := newFixture(t)
	id := f.create(f.gemmTask())
	require.NoError(t, f.bid(f.providers[0], id, ogpu(70)))
	require.NoError(t, f.bid(f.providers[1], id, ogpu(60)))
	require.NoError(t, f.bid(f.providers[2], id, ogpu(65)))
	end := f.task(id).BidWindowEnd
	f.untilHeight(end)
	require.Equal(t, types.TASK_STATE_OPEN, f.task(id).State, "still open in the window's last block")
	f.nextBlock()
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_ASSIGNED, task.State)
	require.Equal(t, f.providers[1].String(), task.Provider, "the lowest price wins")
	require.Equal(t, ogpu(60), task.Price)
	require.Equal(t, end, task.AssignedHeight)
	require.Equal(t, task.DeadlineHeight, task.AssignmentDeadline)
	require.Empty(t, task.Committee, "the committee is drawn only after the result is submitted")
	open, err := f.k.HasOpenWork(f.ctx, f.providers[1])
	require.NoError(t, err)
	require.True(t, open)
	_, err = sgkeeper.NewMsgServer(f.sg).DeregisterProvider(f.ctx, &sgtypes.MsgDeregisterProvider{Operator: f.providers[1].String()})
	require.ErrorIs(t, err, sgtypes.ErrStakeRemaining)

	// a bidder that got jailed before the window closed is passed over
	id2 := f.create(f.gemmTask())
	require.NoError(t, f.bid(f.providers[0], id2, ogpu(10)))
	require.NoError(t, f.bid(f.providers[2], id2, ogpu(20)))
	require.NoError(t, f.sg.Jail(f.ctx, f.providers[0], f.ctx.BlockTime().Add(time.Hour)))
	f.untilHeight(f.task(id2).BidWindowEnd + 1)
	require.Equal(t, f.providers[2].String(), f.task(id2).Provider)

	// no bid at all: expired and refunded
	before := f.balance(f.client)
	id3 := f.create(f.gemmTask())
	f.untilHeight(f.task(id3).BidWindowEnd + 1)
	task = f.task(id3)
	require.Equal(t, types.TASK_STATE_EXPIRED, task.State)
	require.Equal(t, "no eligible bid", task.Outcome)
	require.Equal(t, before, f.balance(f.client))
	f.requireInvariants()
}

func TestQueryTasks(t *testing.T) {
	f := newFixture(t)
	a := f.assigned(ogpu(50))
	b := f.create(f.gemmTask())
	other := f.addr("other", 0)
	f.bank.Set(other, denom, ogpu(1_000))
	msg := f.gemmTask()
	msg.Creator = other.String()
	c := f.create(msg)

	ids := func(req *types.QueryTasksRequest) []uint64 {
		res, err := f.queries.Tasks(f.ctx, req)
		require.NoError(t, err)
		var out []uint64
		for _, t := range res.Tasks {
			out = append(out, t.Id)
		}
		return out
	}
	require.Equal(t, []uint64{a, b, c}, ids(&types.QueryTasksRequest{}))
	require.Equal(t, []uint64{b, c}, ids(&types.QueryTasksRequest{State: types.TASK_STATE_OPEN}))
	require.Equal(t, []uint64{a}, ids(&types.QueryTasksRequest{State: types.TASK_STATE_ASSIGNED}))
	require.Equal(t, []uint64{a, b}, ids(&types.QueryTasksRequest{Creator: f.client.String()}))
	require.Equal(t, []uint64{b}, ids(&types.QueryTasksRequest{Creator: f.client.String(), State: types.TASK_STATE_OPEN}))
	require.Equal(t, []uint64{a}, ids(&types.QueryTasksRequest{Provider: f.providers[0].String()}))
	require.Empty(t, ids(&types.QueryTasksRequest{Provider: f.providers[1].String()}))

	res, err := f.queries.Task(f.ctx, &types.QueryTaskRequest{TaskId: a})
	require.NoError(t, err)
	require.Equal(t, ogpu(112), res.Task.Escrow)
	require.Len(t, res.Bids, 1)
	_, err = f.queries.Tasks(f.ctx, &types.QueryTasksRequest{Creator: "bogus"})
	require.ErrorContains(t, err, "creator \"bogus\"")
}

// TestInputNonceFixedAtAssignment: a self-dealer posting the same seeds again cannot reuse a
// cached result: every assignment fixes new chain randomness the seeded inputs are mixed with,
// and a reassignment fixes another.
func TestInputNonceFixedAtAssignment(t *testing.T) {
	f := newFixture(t)
	first := f.assigned(ogpu(30))
	second := f.assigned(ogpu(30)) // the same seeds, a later block
	n1, n2 := f.task(first).InputNonce, f.task(second).InputNonce
	require.Len(t, n1, 32)
	require.NotEqual(t, n1, n2)
	a1, b1, ok := f.task(first).GemmInputSeeds()
	require.True(t, ok)
	a2, b2, _ := f.task(second).GemmInputSeeds()
	require.NotEqual(t, a1, a2)
	require.NotEqual(t, b1, b2)

	// OPEN tasks have no nonce yet: nothing can be computed before the assignment
	id := f.create(f.gemmTask())
	require.Empty(t, f.task(id).InputNonce)

	// a reassignment after a timeout fixes a new one
	msg := f.gemmTask()
	msg.ExecutionBlocks = 6
	id = f.create(msg)
	require.NoError(t, f.bid(f.providers[0], id, ogpu(30)))
	require.NoError(t, f.bid(f.providers[1], id, ogpu(40)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	before := f.task(id)
	f.untilHeight(before.AssignmentDeadline + 1)
	after := f.task(id)
	require.Equal(t, f.providers[1].String(), after.Provider)
	require.Len(t, after.InputNonce, 32)
	require.NotEqual(t, before.InputNonce, after.InputNonce)
}
