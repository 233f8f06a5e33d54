package keeper_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	keepertest "github.com/opengpu/ogpu/testutil/keeper"
	"github.com/opengpu/ogpu/x/compute/types"
	sgkeeper "github.com/opengpu/ogpu/x/staking-gpu/keeper"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestSubmitResultRules(t *testing.T) {
	f := newFixture(t)
	id := f.assigned(ogpu(50))
	task := f.task(id)
	tests := []struct {
		name  string
		msg   types.MsgSubmitResult
		err   error
		about string
	}{
		{"not the assignee", types.MsgSubmitResult{Provider: f.providers[1].String(), TaskId: id, Sha256: strings.Repeat("ab", 32), Size_: 10, Uri: "https://p"}, types.ErrNotAssignee, "assigned to"},
		{"hash not hex", types.MsgSubmitResult{Provider: f.providers[0].String(), TaskId: id, Sha256: strings.Repeat("zz", 32), Size_: 10, Uri: "https://p"}, types.ErrInvalidResult, "sha256"},
		{"hash in upper case", types.MsgSubmitResult{Provider: f.providers[0].String(), TaskId: id, Sha256: strings.Repeat("AB", 32), Size_: 10, Uri: "https://p"}, types.ErrInvalidResult, "lowercase"},
		{"hash too short", types.MsgSubmitResult{Provider: f.providers[0].String(), TaskId: id, Sha256: "abcd", Size_: 10, Uri: "https://p"}, types.ErrInvalidResult, "64"},
		{"size above the result's", types.MsgSubmitResult{Provider: f.providers[0].String(), TaskId: id, Sha256: strings.Repeat("ab", 32), Size_: resultSize + 1, Uri: "https://p"}, types.ErrInvalidResult, "exactly 262176 bytes"},
		{"size below the result's", types.MsgSubmitResult{Provider: f.providers[0].String(), TaskId: id, Sha256: strings.Repeat("ab", 32), Size_: resultSize - 4, Uri: "https://p"}, types.ErrInvalidResult, "exactly 262176 bytes"},
		{"uri not http", types.MsgSubmitResult{Provider: f.providers[0].String(), TaskId: id, Sha256: strings.Repeat("ab", 32), Size_: 10, Uri: "ipfs://x"}, types.ErrInvalidResult, "uri"},
		{"no such task", types.MsgSubmitResult{Provider: f.providers[0].String(), TaskId: 42, Sha256: strings.Repeat("ab", 32), Size_: 10, Uri: "https://p"}, types.ErrTaskNotFound, "42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			_, err := f.msgs.SubmitResult(f.ctx, &tc.msg)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.about)
			require.Equal(t, before, f.snapshot())
		})
	}
	_, err := f.msgs.ReportInputUnavailable(f.ctx, &types.MsgReportInputUnavailable{Provider: f.providers[0].String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrInvalidInput, "a seeded task has no inputs")

	f.untilHeight(task.DeadlineHeight)
	require.NoError(t, f.submit(f.providers[0], id, resultSize), "the deadline block still takes the result")
	require.ErrorIs(t, f.submit(f.providers[0], id, resultSize), types.ErrWrongState, "a second result")

	late := f.assigned(ogpu(50))
	f.ctx = f.ctx.WithBlockHeight(f.task(late).DeadlineHeight + 1) // past the deadline, before its end block ran
	require.ErrorIs(t, f.submit(f.providers[0], late, resultSize), types.ErrDeadlinePassed)
}

func TestCompletedPaysProviderCommitteeAndClient(t *testing.T) {
	f := newFixture(t)
	msg := f.gemmTask()
	msg.Payment = types.PaymentFunction{Kind: types.PAYMENT_KIND_LINEAR_DECAY, FullUntilBlocks: 5, MinFraction: math.LegacyNewDecWithPrec(5, 1)}
	clientBefore, providerBefore := f.balance(f.client), f.balance(f.providers[0])
	id := f.create(msg)
	require.NoError(t, f.bid(f.providers[0], id, ogpu(80)))
	task := f.task(id)
	// deliver 10 blocks after the full-pay offset: 1 − 0.5 × 10/15 of the price
	f.untilHeight(task.CreatedHeight + 15)
	require.NoError(t, f.submit(f.providers[0], id, resultSize))
	require.Equal(t, types.TASK_STATE_SUBMITTED, f.task(id).State)

	v1, v2 := f.addr("validator", 0), f.addr("validator", 1)
	require.NoError(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_VALID, v1, v2)))
	task = f.task(id)
	require.Equal(t, types.TASK_STATE_VERIFIED, task.State, "paid once accepted or after the dispute window")
	require.Equal(t, providerBefore, f.balance(f.providers[0]))
	require.ErrorIs(t, f.k.AcceptResult(f.ctx, f.providers[0], id), types.ErrNotCreator)
	require.NoError(t, f.k.AcceptResult(f.ctx, f.client, id))

	task = f.task(id)
	require.Equal(t, types.TASK_STATE_COMPLETED, task.State)
	pay := ogpu(80).MulRaw(2).QuoRaw(3) // 80 × (1 − 0.5 × 2/3) = 53.33…, rounded down
	protocolFee := math.LegacyNewDecWithPrec(5, 2).MulInt(pay).TruncateInt()
	require.Equal(t, protocolFee, task.ProtocolFee, "5% of the pay goes to the provider reward pool")
	require.Equal(t, pay.Sub(protocolFee), task.Paid)
	require.Equal(t, providerBefore.Add(pay).Sub(protocolFee), f.balance(f.providers[0]))
	pool, err := f.sg.RewardPool.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, protocolFee, pool.Recycled)
	work, err := f.sg.EpochWork.Get(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.Equal(t, protocolFee, work.Fees, "the fee is the most the provider is rewarded for the task")
	fee := ogpu(80).MulRaw(2).QuoRaw(100) // 2% of the price
	require.Equal(t, fee.QuoRaw(2), f.balance(v1), "the fee is shared equally")
	require.Equal(t, fee.QuoRaw(2), f.balance(v2))
	paidFee := f.balance(v1).Add(f.balance(v2))
	require.Equal(t, clientBefore.Sub(pay).Sub(paidFee), f.balance(f.client), "the client gets the rest and the deposit back")
	require.True(t, task.Escrow.IsZero())
	p, err := f.sg.GetProvider(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.EqualValues(t, 1, p.CompletedTasks)
	require.Equal(t, math.NewInt(256*256*256), p.WorkUnits, "work units recorded for rewards")
	open, err := f.k.HasOpenWork(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.False(t, open)
	f.requireInvariants()

	require.ErrorIs(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_VALID)), types.ErrWrongState, "a final task takes no verdict")
}

func TestFailedSlashesJailsAndRefunds(t *testing.T) {
	f := newFixture(t)
	clientBefore := f.balance(f.client)
	id := f.assigned(ogpu(50))
	require.NoError(t, f.submit(f.providers[0], id, resultSize))
	catcher := f.addr("validator", 0)
	require.NoError(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_INVALID, catcher)))
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_FAILED, task.State)
	require.Contains(t, task.Outcome, "found invalid")
	require.Equal(t, clientBefore, f.balance(f.client), "refunded in full")
	require.Equal(t, ogpu(1), f.balance(catcher), "the committee fee (2% of 50) out of the provider's slash")
	p, err := f.sg.GetProvider(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.Equal(t, ogpu(9_000), p.Bonded, "10% slashed")
	require.True(t, p.Jailed)
	require.EqualValues(t, 1, p.FailedTasks)
	require.Equal(t, ogpu(999), f.balance(keepertest.CommunityPool), "the slash less the catcher's fee")
	f.requireInvariants()
}

func TestNoVerdictRefundsWithoutSlashing(t *testing.T) {
	f := newFixture(t)
	clientBefore := f.balance(f.client)
	id := f.assigned(ogpu(50))
	require.NoError(t, f.submit(f.providers[0], id, resultSize))
	drawn := f.ctx.BlockHeight() + 1 // the committee is drawn in the block after the submission
	f.untilHeight(drawn + types.DefaultParams().VerifyBlocks(resultSize))
	require.Equal(t, types.TASK_STATE_SUBMITTED, f.task(id).State, "the window's last block still takes a verdict")
	f.nextBlock()
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_EXPIRED, task.State)
	require.Equal(t, "no verdict within verify_window", task.Outcome)
	require.Equal(t, clientBefore, f.balance(f.client))
	p, err := f.sg.GetProvider(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.Equal(t, ogpu(10_000), p.Bonded, "nobody slashed")
	f.requireInvariants()
}

func TestTimeoutReassignsThenExpires(t *testing.T) {
	f := newFixture(t)
	clientBefore := f.balance(f.client)
	msg := f.gemmTask()
	msg.Deadline = 20
	msg.ExecutionBlocks = 6
	id := f.create(msg)
	require.NoError(t, f.bid(f.providers[0], id, ogpu(30)))
	require.NoError(t, f.bid(f.providers[1], id, ogpu(40)))
	require.NoError(t, f.bid(f.providers[2], id, ogpu(50)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	task := f.task(id)
	require.Equal(t, f.providers[0].String(), task.Provider)
	require.Equal(t, task.AssignedHeight+6, task.AssignmentDeadline)

	// provider 0 misses its 6 blocks: slashed 1%, the task goes to the next-lowest bid
	f.untilHeight(task.AssignmentDeadline + 1)
	task = f.task(id)
	require.Equal(t, types.TASK_STATE_ASSIGNED, task.State)
	require.Equal(t, f.providers[1].String(), task.Provider)
	require.Equal(t, ogpu(40), task.Price)
	require.Equal(t, []string{f.providers[0].String()}, task.FailedProviders)
	p0, err := f.sg.GetProvider(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.Equal(t, ogpu(9_900), p0.Bonded)
	require.EqualValues(t, 1, p0.FailedTasks)
	f.requireInvariants()

	// provider 1 misses too at height 16: 5 blocks remain, enough for provider 2, whose
	// assignment is capped by the task's deadline
	f.untilHeight(task.AssignmentDeadline + 1)
	task = f.task(id)
	require.Equal(t, f.providers[2].String(), task.Provider)
	require.Equal(t, task.DeadlineHeight, task.AssignmentDeadline)

	// provider 2 misses the task's own deadline: nothing is left
	f.untilHeight(task.AssignmentDeadline + 1)
	task = f.task(id)
	require.Equal(t, types.TASK_STATE_EXPIRED, task.State)
	require.Contains(t, task.Outcome, "fewer than min_execution_blocks")
	require.Equal(t, clientBefore, f.balance(f.client))
	p1, err := f.sg.GetProvider(f.ctx, f.providers[1])
	require.NoError(t, err)
	require.Equal(t, ogpu(9_900), p1.Bonded)
	f.requireInvariants()
}

func TestInputUnavailable(t *testing.T) {
	f := newFixture(t)
	msg := f.gemmTask()
	g := msg.Workload.Params.(*types.Workload_GemmInt8).GemmInt8
	g.SeedA, g.SeedB = 0, 0
	msg.Inputs = []types.Blob{
		{Uri: "https://client.example/a", Sha256: strings.Repeat("0a", 32), Size_: 256 * 256},
		{Uri: "https://client.example/b", Sha256: strings.Repeat("0b", 32), Size_: 256 * 256},
	}
	clientBefore, providerBefore := f.balance(f.client), f.balance(f.providers[0])
	id := f.create(msg)
	require.NoError(t, f.bid(f.providers[0], id, ogpu(50)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	_, err := f.msgs.ReportInputUnavailable(f.ctx, &types.MsgReportInputUnavailable{Provider: f.providers[1].String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrNotAssignee)
	_, err = f.msgs.ReportInputUnavailable(f.ctx, &types.MsgReportInputUnavailable{Provider: f.providers[0].String(), TaskId: id})
	require.NoError(t, err)
	require.True(t, f.task(id).InputUnavailable)

	require.NoError(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_INPUT_UNAVAILABLE)))
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_EXPIRED, task.State)
	require.Equal(t, ogpu(10), task.Paid, "the 10% security deposit")
	require.Equal(t, providerBefore.Add(ogpu(10)), f.balance(f.providers[0]))
	require.Equal(t, clientBefore.Sub(ogpu(10)), f.balance(f.client))
	f.requireInvariants()
}

// TestFalseInputReportGoesOn: a report the committee finds false is rejected without slashing
// anyone (the client may have served its inputs only now); the provider goes on with the task.
func TestFalseInputReportGoesOn(t *testing.T) {
	f := newFixture(t)
	msg := f.gemmTask()
	g := msg.Workload.Params.(*types.Workload_GemmInt8).GemmInt8
	g.SeedA, g.SeedB = 0, 0
	blob := types.Blob{Uri: "https://client.example/a", Sha256: strings.Repeat("0a", 32), Size_: 256 * 256}
	msg.Inputs = []types.Blob{blob, blob}
	id := f.create(msg)
	require.NoError(t, f.bid(f.providers[0], id, ogpu(50)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	_, err := f.msgs.ReportInputUnavailable(f.ctx, &types.MsgReportInputUnavailable{Provider: f.providers[0].String(), TaskId: id})
	require.NoError(t, err)
	require.ErrorIs(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_INVALID)), types.ErrInvalidVerdict, "INVALID is no verdict on a report")
	require.NoError(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_VALID)))
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_ASSIGNED, task.State)
	require.False(t, task.InputUnavailable)
	p, err := f.sg.GetProvider(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.Equal(t, ogpu(10_000), p.Bonded)
	require.False(t, p.Jailed)
	require.NoError(t, f.submit(f.providers[0], id, resultSize), "and then submits its result")
	f.requireInvariants()
}

// TestResultUnavailableReassigns: a result the committee could not fetch costs its provider
// the timeout slash, and the task goes to the next bid.
func TestResultUnavailableReassigns(t *testing.T) {
	f := newFixture(t)
	id := f.create(f.gemmTask())
	require.NoError(t, f.bid(f.providers[0], id, ogpu(30)))
	require.NoError(t, f.bid(f.providers[1], id, ogpu(40)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	require.NoError(t, f.submit(f.providers[0], id, resultSize))
	require.NoError(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_RESULT_UNAVAILABLE)))
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_ASSIGNED, task.State)
	require.Equal(t, f.providers[1].String(), task.Provider)
	require.Empty(t, task.Result.Sha256)
	p0, err := f.sg.GetProvider(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.Equal(t, ogpu(9_900), p0.Bonded)
	require.False(t, p0.Jailed)
	f.requireInvariants()
}

func TestEqualShare(t *testing.T) {
	require.Equal(t, math.NewInt(33), types.EqualShare(math.NewInt(100), 3, math.NewInt(1_000)), "rounded down; the rest goes back to the client")
	require.Equal(t, math.NewInt(10), types.EqualShare(math.NewInt(100), 3, math.NewInt(10)), "capped")
	require.True(t, types.EqualShare(math.NewInt(100), 0, math.NewInt(10)).IsZero())
}

// TestTimeoutWithoutSlash: with timeout_slash_fraction set to 0 by governance, a missed deadline
// still moves the task to the next bid, and nobody is slashed.
func TestTimeoutWithoutSlash(t *testing.T) {
	f := newFixture(t)
	params, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	params.TimeoutSlashFraction = math.LegacyZeroDec()
	require.NoError(t, params.Validate())
	require.NoError(t, f.k.Params.Set(f.ctx, params))
	msg := f.gemmTask()
	msg.Deadline = 20
	msg.ExecutionBlocks = 6
	id := f.create(msg)
	require.NoError(t, f.bid(f.providers[0], id, ogpu(30)))
	require.NoError(t, f.bid(f.providers[1], id, ogpu(40)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	f.untilHeight(f.task(id).AssignmentDeadline + 1)
	task := f.task(id)
	require.Equal(t, types.TASK_STATE_ASSIGNED, task.State)
	require.Equal(t, f.providers[1].String(), task.Provider)
	p0, err := f.sg.GetProvider(f.ctx, f.providers[0])
	require.NoError(t, err)
	require.Equal(t, ogpu(10_000), p0.Bonded)
	require.EqualValues(t, 1, p0.FailedTasks)
	f.requireInvariants()
}

// TestCollateralLockedWhileHeld: a provider cannot unbond the collateral (collateral_ratio ×
// price) of a task it holds, nor let it back another bid; unbond says how much is locked and by
// which task; the lock ends with the task.
func TestCollateralLockedWhileHeld(t *testing.T) {
	f := newFixture(t)
	sgMsgs := sgkeeper.NewMsgServer(f.sg)
	p := f.providers[0]
	// bonded 10,000; a task at 4,000 locks 8,000
	msg := f.gemmTask()
	msg.MaxPrice = sdk.NewCoin(denom, ogpu(5_000))
	id := f.create(msg)
	require.NoError(t, f.bid(p, id, ogpu(4_000)))
	f.untilHeight(f.task(id).BidWindowEnd + 1)
	task := f.task(id)
	require.Equal(t, p.String(), task.Provider)
	require.Equal(t, ogpu(8_000), task.Collateral)
	rec, err := f.sg.GetProvider(f.ctx, p)
	require.NoError(t, err)
	require.Equal(t, ogpu(8_000), rec.Locked)

	before := f.snapshot()
	_, err = sgMsgs.Unbond(f.ctx, &sgtypes.MsgUnbond{Operator: p.String(), Amount: sdk.NewCoin(denom, ogpu(2_001))})
	require.ErrorIs(t, err, sgtypes.ErrCollateralLocked)
	require.ErrorContains(t, err, fmt.Sprintf("locked as collateral of held tasks [%d]", id))
	require.ErrorContains(t, err, "at most "+ogpu(2_000).String())
	require.Equal(t, before, f.snapshot(), "a refused unbond changes nothing")

	// the 2,000 left free cannot back a bid that needs 2 × 1,500
	other := f.create(msg)
	require.ErrorIs(t, f.bid(p, other, ogpu(1_500)), types.ErrNotEligible)
	require.NoError(t, f.bid(p, other, ogpu(1_000)), "2 × 1,000 fits the free 2,000")

	// the task ends: its collateral is free again
	require.NoError(t, f.submit(p, id, resultSize))
	f.nextBlock()
	require.NoError(t, f.k.ApplyVerdict(f.ctx, id, verdict(types.VERDICT_VALID, f.addr("validator", 0))))
	require.NoError(t, f.k.AcceptResult(f.ctx, f.client, id))
	rec, err = f.sg.GetProvider(f.ctx, p)
	require.NoError(t, err)
	require.Equal(t, types.TASK_STATE_OPEN, f.task(other).State)
	require.True(t, rec.Locked.IsZero(), "the completed task's collateral is unlocked")
	f.untilHeight(f.task(other).BidWindowEnd + 1)
	rec, err = f.sg.GetProvider(f.ctx, p)
	require.NoError(t, err)
	require.Equal(t, ogpu(2_000), rec.Locked, "only the second task's collateral")
	_, err = sgMsgs.Unbond(f.ctx, &sgtypes.MsgUnbond{Operator: p.String(), Amount: sdk.NewCoin(denom, ogpu(8_000))})
	require.NoError(t, err)
	f.requireInvariants()
}

// TestParamsKeepTheLongestHoldInsideUnbonding: params under which a task can be held longer
// than the provider stake unbonds are refused, from either module.
func TestParamsKeepTheLongestHoldInsideUnbonding(t *testing.T) {
	f := newFixture(t)
	params := types.DefaultParams()
	params.MaxDeadlineBlocks = 200_000 // 200,000 × 2 s > 72 h
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: params})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	require.ErrorContains(t, err, "unbonding_time 72h0m0s: must be at least the longest a task can be held")

	sgParams := sgtypes.DefaultParams()
	sgParams.UnbondingTime = 24 * time.Hour
	_, err = sgkeeper.NewMsgServer(f.sg).UpdateParams(f.ctx, &sgtypes.MsgUpdateParams{Authority: f.authority, Params: sgParams})
	require.ErrorIs(t, err, sgtypes.ErrInvalidParams)
}
