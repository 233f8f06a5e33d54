package keeper_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// TestRandomOperationsKeepInvariants drives the module with random sequences of every message
// and keeper call, valid and invalid, and checks after each step that the stake account holds
// exactly the bonded plus unbonding stake, that the rewards pool holds exactly what is not paid
// out, and that a refused operation changed nothing.
func TestRandomOperationsKeepInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			runRandomOperations(t, seed, 400)
		})
	}
}

func runRandomOperations(t *testing.T, seed uint64, steps int) {
	f := newFixture(t, providerRewards)
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	ops := make([]sdk.AccAddress, 5)
	for i := range ops {
		ops[i] = f.account(i, ogpu(10_000))
	}
	f.validators.SetBonded(ops[0])
	amount := func() math.Int { return ogpu(rng.Int64N(3_000)).AddRaw(rng.Int64N(1_000)) }

	type op struct {
		name string
		run  func(a sdk.AccAddress) error
	}
	operations := []op{
		{"register", func(a sdk.AccAddress) error {
			m := registerMsg(a)
			if rng.IntN(3) == 0 {
				m.Gpus = nil
			}
			_, err := f.msgs.RegisterProvider(f.ctx, m)
			return err
		}},
		{"update", func(a sdk.AccAddress) error {
			m := registerMsg(a)
			_, err := f.msgs.UpdateProvider(f.ctx, &types.MsgUpdateProvider{Operator: m.Operator, Moniker: "u", Endpoint: m.Endpoint, Gpus: m.Gpus, Workloads: m.Workloads})
			return err
		}},
		{"deregister", func(a sdk.AccAddress) error {
			_, err := f.msgs.DeregisterProvider(f.ctx, &types.MsgDeregisterProvider{Operator: a.String()})
			return err
		}},
		{"bond", func(a sdk.AccAddress) error {
			_, err := f.msgs.Bond(f.ctx, &types.MsgBond{Operator: a.String(), Amount: coin(amount())})
			return err
		}},
		{"unbond", func(a sdk.AccAddress) error {
			_, err := f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: a.String(), Amount: coin(amount())})
			return err
		}},
		{"slash", func(a sdk.AccAddress) error {
			_, err := f.k.Slash(f.ctx, a, math.LegacyNewDecWithPrec(rng.Int64N(101), 2), "random")
			return err
		}},
		{"jail", func(a sdk.AccAddress) error {
			return f.k.Jail(f.ctx, a, f.ctx.BlockTime().Add(time.Duration(rng.Int64N(int64(48*time.Hour)))))
		}},
		{"unjail", func(a sdk.AccAddress) error {
			_, err := f.msgs.Unjail(f.ctx, &types.MsgUnjail{Operator: a.String()})
			return err
		}},
		{"record work", func(a sdk.AccAddress) error {
			return f.k.RecordWork(f.ctx, a, math.NewInt(rng.Int64N(1<<30)), uncapped)
		}},
		{"withdraw", func(a sdk.AccAddress) error {
			_, err := f.msgs.WithdrawRewards(f.ctx, &types.MsgWithdrawRewards{Operator: a.String()})
			return err
		}},
		{"end block", func(sdk.AccAddress) error {
			f.advance(time.Duration(rng.Int64N(int64(30*time.Hour))), 1+rng.Int64N(60))
			return f.k.EndBlocker(f.ctx)
		}},
		{"distribute", func(sdk.AccAddress) error { return f.k.DistributeEpoch(f.ctx) }},
	}

	counts := map[string][2]int{}
	for step := 0; step < steps; step++ {
		o := operations[rng.IntN(len(operations))]
		a := ops[rng.IntN(len(ops))]
		before := f.snapshot(t)
		err := o.run(a)
		c := counts[o.name]
		if err != nil {
			c[1]++
			require.Equal(t, before, f.snapshot(t), "step %d: refused %s changed state: %v", step, o.name, err)
		} else {
			c[0]++
		}
		counts[o.name] = c
		require.NoError(t, f.k.StakeInvariant(f.ctx), "step %d after %s", step, o.name)
		require.NoError(t, f.k.RewardPoolInvariant(f.ctx), "step %d after %s", step, o.name)
	}
	for _, name := range []string{"register", "bond", "unbond", "slash", "withdraw"} {
		require.Positive(t, counts[name][0], "%s never succeeded: the sequence did not exercise it", name)
	}
}
