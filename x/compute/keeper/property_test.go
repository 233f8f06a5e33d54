package keeper_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// TestRandomMarketKeepsEscrowAndCoins drives the market with random sequences of create, bid,
// withdraw, cancel, submit, verdicts and blocks (which match, time out and expire), valid and
// invalid, and checks after every step that the escrow account holds exactly the open tasks'
// escrow, that stake is accounted for, that no coin is created or destroyed, and that a refused
// operation changed nothing.
func TestRandomMarketKeepsEscrowAndCoins(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { runRandomMarket(t, seed, 500) })
	}
}

func runRandomMarket(t *testing.T, seed uint64, steps int) {
	f := newFixture(t)
	f.t = t
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	total := f.bank.Total(denom)
	var ids []uint64
	pickTask := func() uint64 {
		if len(ids) == 0 || rng.IntN(20) == 0 {
			return uint64(len(ids) + 1 + rng.IntN(3)) // sometimes a task that does not exist
		}
		return ids[rng.IntN(len(ids))]
	}
	// pickIn mostly picks a task in state, so that valid operations are common too
	pickIn := func(state types.TaskState) uint64 {
		var in []uint64
		for _, id := range ids {
			if f.task(id).State == state {
				in = append(in, id)
			}
		}
		if len(in) == 0 || rng.IntN(5) == 0 {
			return pickTask()
		}
		return in[rng.IntN(len(in))]
	}
	assignee := func(id uint64) sdk.AccAddress {
		if t, err := f.k.GetTask(f.ctx, id); err == nil && t.Provider != "" && rng.IntN(5) > 0 {
			a, _ := sdk.AccAddressFromBech32(t.Provider)
			return a
		}
		return f.providers[rng.IntN(len(f.providers))]
	}
	anyone := func() sdk.AccAddress {
		if rng.IntN(5) == 0 {
			return f.client
		}
		return f.providers[rng.IntN(len(f.providers))]
	}
	price := func() math.Int { return ogpu(rng.Int64N(110) + 1) }
	verdicts := []types.Verdict{types.VERDICT_VALID, types.VERDICT_INVALID, types.VERDICT_INPUT_UNAVAILABLE}

	ops := []struct {
		name string
		run  func() error
	}{
		{"create", func() error {
			msg := f.gemmTask()
			msg.MaxPrice = sdk.NewCoin(denom, price())
			msg.Deadline = 8 + uint64(rng.IntN(20))
			if rng.IntN(2) == 0 {
				msg.ExecutionBlocks = 5
			}
			if rng.IntN(3) == 0 {
				msg.Payment = types.PaymentFunction{Kind: types.PAYMENT_KIND_LINEAR_DECAY, FullUntilBlocks: 4, MinFraction: math.LegacyNewDecWithPrec(rng.Int64N(101), 2)}
			}
			res, err := f.msgs.CreateTask(f.ctx, msg)
			if err == nil {
				ids = append(ids, res.TaskId)
			}
			return err
		}},
		{"bid", func() error { return f.bid(anyone(), pickIn(types.TASK_STATE_OPEN), price()) }},
		{"withdraw bid", func() error {
			_, err := f.msgs.WithdrawBid(f.ctx, &types.MsgWithdrawBid{Provider: anyone().String(), TaskId: pickTask()})
			return err
		}},
		{"cancel", func() error {
			_, err := f.msgs.CancelTask(f.ctx, &types.MsgCancelTask{Creator: anyone().String(), TaskId: pickIn(types.TASK_STATE_OPEN)})
			return err
		}},
		{"submit", func() error {
			id := pickIn(types.TASK_STATE_ASSIGNED)
			size := uint64(resultSize)
			if rng.IntN(4) == 0 {
				size = uint64(rng.IntN(resultSize + 2))
			}
			return f.submit(assignee(id), id, size)
		}},
		{"report input unavailable", func() error {
			_, err := f.msgs.ReportInputUnavailable(f.ctx, &types.MsgReportInputUnavailable{Provider: anyone().String(), TaskId: pickTask()})
			return err
		}},
		{"verdict", func() error {
			var paid []sdk.AccAddress
			for i := 0; i < rng.IntN(4); i++ {
				paid = append(paid, f.addr("validator", i))
			}
			s := verdict(verdicts[rng.IntN(len(verdicts))], paid...)
			s.Final = rng.IntN(2) == 0
			return f.k.ApplyVerdict(f.ctx, pickIn(types.TASK_STATE_SUBMITTED), s)
		}},
		{"accept", func() error {
			return f.k.AcceptResult(f.ctx, f.client, pickIn(types.TASK_STATE_VERIFIED))
		}},
		{"unjail", func() error {
			f.ctx = f.ctx.WithBlockTime(f.ctx.BlockTime().Add(25 * 3600e9))
			return f.sg.Unjail(f.ctx, anyone())
		}},
		{"blocks", func() error {
			for i := 0; i < 1+rng.IntN(4); i++ {
				f.nextBlock()
			}
			return nil
		}},
	}

	succeeded := map[string]int{}
	for step := 0; step < steps; step++ {
		op := ops[rng.IntN(len(ops))]
		before := f.snapshot()
		if err := op.run(); err != nil {
			require.Equal(t, before, f.snapshot(), "step %d: refused %s changed state: %v", step, op.name, err)
		} else {
			succeeded[op.name]++
		}
		require.NoError(t, f.k.EscrowInvariant(f.ctx), "step %d after %s", step, op.name)
		require.NoError(t, f.sg.StakeInvariant(f.ctx), "step %d after %s", step, op.name)
		require.Equal(t, total, f.bank.Total(denom), "step %d after %s: coins created or destroyed", step, op.name)
	}
	ended := map[types.TaskState]int{}
	for _, id := range ids {
		ended[f.task(id).State]++
	}
	for _, name := range []string{"create", "bid", "submit", "verdict"} {
		require.Positive(t, succeeded[name], "%s never succeeded", name)
	}
	t.Logf("ops %v; task states %v", succeeded, ended)
}
