package keeper_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

var escrowAddr = authtypes.NewModuleAddress(types.ModuleName)

func TestCreateTaskLocksEscrow(t *testing.T) {
	f := newFixture(t)
	before := f.balance(f.client)
	id := f.create(f.gemmTask())
	require.EqualValues(t, 1, id)
	task := f.task(id)
	// 100 OGPU + 2% committee fee + 10% security deposit
	require.Equal(t, ogpu(112), task.Escrow)
	require.Equal(t, ogpu(2), task.CommitteeFee)
	require.Equal(t, ogpu(10), task.SecurityDeposit)
	require.Equal(t, before.Sub(ogpu(112)), f.balance(f.client))
	require.Equal(t, ogpu(112), f.balance(escrowAddr))
	require.Equal(t, types.TASK_STATE_OPEN, task.State)
	require.Equal(t, int64(1+3), task.BidWindowEnd)
	require.Equal(t, int64(1+20), task.DeadlineHeight)
	f.requireInvariants()
}

func TestCreateTaskRules(t *testing.T) {
	f := newFixture(t)
	poor := f.addr("poor", 0)
	f.bank.Set(poor, denom, ogpu(111))
	gemm := func(edit func(g *types.GemmInt8Params)) func(m *types.MsgCreateTask) {
		return func(m *types.MsgCreateTask) { edit(m.Workload.Params.(*types.Workload_GemmInt8).GemmInt8) }
	}
	blob := types.Blob{Uri: "https://client.example/a", Sha256: strings.Repeat("0f", 32), Size_: 256 * 256}
	tests := []struct {
		name   string
		edit   func(m *types.MsgCreateTask)
		err    *errorsmod.Error
		detail string
	}{
		{"unknown workload", func(m *types.MsgCreateTask) { m.Workload.Name = "mine/v1"; m.Requirements.Workload = "mine/v1" }, types.ErrUnknownWorkload, "must be one of gemm-int8/v1"},
		{"unknown version", func(m *types.MsgCreateTask) { m.Workload.Name = "gemm-int8/v9" }, types.ErrUnknownWorkload, "unknown workload version"},
		{"no parameters", func(m *types.MsgCreateTask) { m.Workload.Params = nil }, types.ErrInvalidWorkload, "parameters missing"},
		{"m out of range", gemm(func(g *types.GemmInt8Params) { g.M = 0 }), types.ErrInvalidWorkload, "m 0: must be in 1..16384"},
		{"k out of range", gemm(func(g *types.GemmInt8Params) { g.K = 16385 }), types.ErrInvalidWorkload, "k 16385"},
		{"inputs with seeds", func(m *types.MsgCreateTask) { m.Inputs = []types.Blob{blob, blob} }, types.ErrInvalidWorkload, "seed_a"},
		{"input with bad hash", func(m *types.MsgCreateTask) {
			b := blob
			b.Sha256 = "xyz"
			m.Inputs = []types.Blob{b, b}
		}, types.ErrInvalidInput, "inputs[0]"},
		{"input not a url", func(m *types.MsgCreateTask) {
			b := blob
			b.Uri = "file:///etc/passwd"
			m.Inputs = []types.Blob{b, b}
		}, types.ErrInvalidInput, "http"},
		{"max price zero", func(m *types.MsgCreateTask) { m.MaxPrice = sdk.NewCoin(denom, math.ZeroInt()) }, types.ErrInvalidPrice, "positive"},
		{"max price not aogpu", func(m *types.MsgCreateTask) { m.MaxPrice = sdk.NewCoin("uatom", ogpu(1)) }, types.ErrInvalidPrice, "must be in aogpu"},
		{"deadline shorter than bid window + execution", func(m *types.MsgCreateTask) { m.Deadline = 7 }, types.ErrInvalidDeadline, "bid_window + min_execution_blocks = 8"},
		{"deadline too long", func(m *types.MsgCreateTask) { m.Deadline = 100_001 }, types.ErrInvalidDeadline, "max_deadline_blocks"},
		{"execution blocks too short", func(m *types.MsgCreateTask) { m.ExecutionBlocks = 2 }, types.ErrInvalidDeadline, "execution_blocks 2"},
		{"linear decay past deadline", func(m *types.MsgCreateTask) {
			m.Payment = types.PaymentFunction{Kind: types.PAYMENT_KIND_LINEAR_DECAY, FullUntilBlocks: 20, MinFraction: math.LegacyNewDecWithPrec(5, 1)}
		}, types.ErrInvalidPayment, "full_until_blocks 20"},
		{"linear decay fraction above 1", func(m *types.MsgCreateTask) {
			m.Payment = types.PaymentFunction{Kind: types.PAYMENT_KIND_LINEAR_DECAY, FullUntilBlocks: 5, MinFraction: math.LegacyNewDec(2)}
		}, types.ErrInvalidPayment, "min_fraction"},
		{"no payment kind", func(m *types.MsgCreateTask) { m.Payment = types.PaymentFunction{} }, types.ErrInvalidPayment, "kind"},
		{"requirements for another workload", func(m *types.MsgCreateTask) { m.Requirements.Workload = "" }, types.ErrInvalidRequirement, "requirements"},
		{"insufficient funds", func(m *types.MsgCreateTask) { m.Creator = poor.String() }, nil, "insufficient funds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := f.gemmTask()
			tc.edit(msg)
			before := f.snapshot()
			_, err := f.msgs.CreateTask(f.ctx, msg)
			require.Error(t, err)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			}
			require.ErrorContains(t, err, tc.detail)
			require.Equal(t, before, f.snapshot(), "a refused task changes no state")
		})
	}
}

func TestCancelTask(t *testing.T) {
	f := newFixture(t)
	before := f.balance(f.client)
	id := f.create(f.gemmTask())
	require.NoError(t, f.bid(f.providers[0], id, ogpu(50)))

	snap := f.snapshot()
	_, err := f.msgs.CancelTask(f.ctx, &types.MsgCancelTask{Creator: f.providers[0].String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrNotCreator)
	_, err = f.msgs.CancelTask(f.ctx, &types.MsgCancelTask{Creator: f.client.String(), TaskId: 99})
	require.ErrorIs(t, err, types.ErrTaskNotFound)
	require.Equal(t, snap, f.snapshot())

	_, err = f.msgs.CancelTask(f.ctx, &types.MsgCancelTask{Creator: f.client.String(), TaskId: id})
	require.NoError(t, err)
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_CANCELLED, task.State)
	require.Equal(t, before, f.balance(f.client), "full refund")
	bids, err := f.k.BidsOf(f.ctx, id)
	require.NoError(t, err)
	require.Empty(t, bids)
	f.requireInvariants()

	id = f.assigned(ogpu(50))
	_, err = f.msgs.CancelTask(f.ctx, &types.MsgCancelTask{Creator: f.client.String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrWrongState, "no cancel after OPEN")
}

// TestTimersPerBlockAreBounded: many tasks whose bid windows end at one height are matched at
// most max_timers_per_block a block, oldest first; the rest carry over in order and every task
// is matched.
func TestTimersPerBlockAreBounded(t *testing.T) {
	f := newFixture(t)
	params := types.DefaultParams()
	params.MaxTimersPerBlock = 3
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: params})
	require.NoError(t, err)
	var ids []uint64
	for range 8 {
		id := f.create(f.gemmTask())
		require.NoError(t, f.bid(f.providers[0], id, ogpu(10)))
		ids = append(ids, id)
	}
	end := f.task(ids[0]).BidWindowEnd
	f.untilHeight(end + 1) // the block at end processed its first three timers
	assigned := func() (n int) {
		for _, id := range ids {
			if f.task(id).State == types.TASK_STATE_ASSIGNED {
				n++
			}
		}
		return n
	}
	require.Equal(t, 3, assigned())
	for i, id := range ids {
		require.Equal(t, i < 3, f.task(id).State == types.TASK_STATE_ASSIGNED, "task %d: oldest first", id)
	}
	f.nextBlock()
	require.Equal(t, 6, assigned())
	f.nextBlock()
	require.Equal(t, 8, assigned())
	f.requireInvariants()
}
