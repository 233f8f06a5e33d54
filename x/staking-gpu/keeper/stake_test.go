package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

var moduleAddr = authtypes.NewModuleAddress(types.ModuleName)

func TestBondAndUnbondRules(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(2_000))
	f.register(t, op)
	f.bond(t, op, ogpu(1_000))
	stranger := f.account(2, ogpu(2_000))

	tests := []struct {
		name   string
		unbond bool
		op     sdk.AccAddress
		amount sdk.Coin
		err    *errorsmod.Error
		detail string
	}{
		{"bond zero", false, op, coin(math.ZeroInt()), types.ErrInvalidAmount, "positive"},
		{"bond another denom", false, op, sdk.NewCoin("uatom", ogpu(1)), types.ErrInvalidAmount, "aogpu"},
		{"bond more than held", false, op, coin(ogpu(1_001)), nil, "insufficient funds"},
		{"bond unregistered", false, stranger, coin(ogpu(1)), types.ErrProviderNotFound, ""},
		{"unbond zero", true, op, coin(math.ZeroInt()), types.ErrInvalidAmount, "positive"},
		{"unbond another denom", true, op, sdk.NewCoin("uatom", ogpu(1)), types.ErrInvalidAmount, "aogpu"},
		{"unbond more than bonded", true, op, coin(ogpu(1_000).AddRaw(1)), types.ErrInsufficientBond, "more than the 1000000000000000000000aogpu bonded"},
		{"unbond unregistered", true, stranger, coin(ogpu(1)), types.ErrProviderNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot(t)
			var err error
			if tc.unbond {
				_, err = f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: tc.op.String(), Amount: tc.amount})
			} else {
				_, err = f.msgs.Bond(f.ctx, &types.MsgBond{Operator: tc.op.String(), Amount: tc.amount})
			}
			require.Error(t, err)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			}
			require.ErrorContains(t, err, tc.detail)
			require.Equal(t, before, f.snapshot(t), "a refused message changes no state")
		})
	}
}

func TestUnbondingMatures(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(5_000))
	f.register(t, op)
	f.bond(t, op, ogpu(3_000))
	require.Equal(t, ogpu(2_000), f.bank.GetBalance(f.ctx, op, denom).Amount)
	require.Equal(t, ogpu(3_000), f.bank.GetBalance(f.ctx, moduleAddr, denom).Amount)

	res, err := f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: op.String(), Amount: coin(ogpu(1_000))})
	require.NoError(t, err)
	first := res.EntryId
	f.advance(time.Hour, 600)
	res, err = f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: op.String(), Amount: coin(ogpu(500))})
	require.NoError(t, err)
	require.Equal(t, first+1, res.EntryId)

	stake, err := f.queries.Stake(f.ctx, &types.QueryStakeRequest{Operator: op.String()})
	require.NoError(t, err)
	require.Equal(t, ogpu(1_500), stake.Bonded)
	require.Equal(t, ogpu(1_500), stake.Unbonding)
	require.Len(t, stake.Entries, 2)
	require.Equal(t, genesisTime.Add(72*time.Hour), stake.Entries[0].CompletionTime)
	f.requireInvariants(t)

	// a second before the first entry matures nothing is paid
	f.advance(71*time.Hour-time.Second, 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, ogpu(2_000), f.bank.GetBalance(f.ctx, op, denom).Amount)

	f.advance(time.Second, 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, ogpu(3_000), f.bank.GetBalance(f.ctx, op, denom).Amount, "the first entry is paid at its completion time")
	f.requireInvariants(t)

	f.advance(time.Hour, 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, ogpu(3_500), f.bank.GetBalance(f.ctx, op, denom).Amount)
	stake, err = f.queries.Stake(f.ctx, &types.QueryStakeRequest{Operator: op.String()})
	require.NoError(t, err)
	require.Empty(t, stake.Entries)
	require.Equal(t, ogpu(1_500), f.bank.GetBalance(f.ctx, moduleAddr, denom).Amount)
	f.requireInvariants(t)
}

func TestSlashBondedThenNewestUnbonding(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(1_000))
	f.register(t, op)
	f.bond(t, op, ogpu(1_000))
	_, err := f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: op.String(), Amount: coin(ogpu(300))})
	require.NoError(t, err)
	f.advance(time.Minute, 10)
	_, err = f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: op.String(), Amount: coin(ogpu(200))})
	require.NoError(t, err)

	// stake is 500 bonded + 300 (older) + 200 (newer) unbonding; 90% of 1000 is 900
	slashed, err := f.k.Slash(f.ctx, op, math.LegacyNewDecWithPrec(9, 1), "result of task 7 found invalid")
	require.NoError(t, err)
	require.Equal(t, ogpu(900), slashed)
	require.True(t, f.provider(t, op).Bonded.IsZero(), "bonded stake goes first")
	stake, err := f.queries.Stake(f.ctx, &types.QueryStakeRequest{Operator: op.String()})
	require.NoError(t, err)
	require.Len(t, stake.Entries, 1, "the newest entry is used up and removed")
	require.Equal(t, ogpu(100), stake.Entries[0].Amount, "then the older one")
	require.Equal(t, ogpu(900), f.bank.GetBalance(f.ctx, communityAddr, denom).Amount, "slashed stake goes to the community pool")
	f.requireInvariants(t)

	var found bool
	for _, ev := range f.ctx.EventManager().Events() {
		if ev.Type == "ogpu.stakinggpu.v1.EventProviderSlashed" {
			for _, a := range ev.Attributes {
				if a.Key == "reason" {
					require.Equal(t, `"result of task 7 found invalid"`, a.Value)
					found = true
				}
			}
		}
	}
	require.True(t, found, "an event says why")

	// the slashed unbonding entry still matures with what is left
	f.advance(73*time.Hour, 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, ogpu(100), f.bank.GetBalance(f.ctx, op, denom).Amount)
	f.requireInvariants(t)

	for _, bad := range []math.LegacyDec{math.LegacyZeroDec(), math.LegacyNewDec(-1), math.LegacyNewDecWithPrec(11, 1)} {
		_, err := f.k.Slash(f.ctx, op, bad, "bad fraction")
		require.ErrorIs(t, err, types.ErrInvalidSlashFraction)
	}
}

func TestSlashRoundsDown(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, math.NewInt(999))
	f.register(t, op)
	f.bond(t, op, math.NewInt(999))
	slashed, err := f.k.Slash(f.ctx, op, math.LegacyNewDecWithPrec(1, 2), "timeout")
	require.NoError(t, err)
	require.Equal(t, math.NewInt(9), slashed, "1% of 999 is 9.99, rounded down")
	f.requireInvariants(t)
}

func TestJailAndUnjail(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(2_000))
	f.register(t, op)
	f.bond(t, op, ogpu(2_000))
	unjail := func() error {
		_, err := f.msgs.Unjail(f.ctx, &types.MsgUnjail{Operator: op.String()})
		return err
	}
	require.ErrorIs(t, unjail(), types.ErrNotJailed)

	until := f.ctx.BlockTime().Add(24 * time.Hour)
	require.NoError(t, f.k.Jail(f.ctx, op, until))
	require.NoError(t, f.k.Jail(f.ctx, op, until.Add(-time.Hour)), "a shorter jail does not shorten the term")
	require.Equal(t, until, f.provider(t, op).JailedUntil)

	f.advance(24*time.Hour-time.Second, 100)
	before := f.snapshot(t)
	err := unjail()
	require.ErrorIs(t, err, types.ErrJailPeriodNotOver)
	require.ErrorContains(t, err, "jailed until 2026-01-02T00:00:00Z")
	require.Equal(t, before, f.snapshot(t))

	f.advance(time.Second, 1)
	require.NoError(t, unjail())
	require.False(t, f.provider(t, op).Jailed)
	require.NoError(t, f.k.Eligible(f.ctx, op, types.Requirements{Workload: "gemm-int8/v1"}, ogpu(1)))
}

func TestUpdateParams(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	valid := types.DefaultParams()
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.account(1, math.ZeroInt()).String(), Params: valid})
	require.ErrorIs(t, err, types.ErrInvalidAuthority)

	tests := []struct {
		field string
		edit  func(p *types.Params)
	}{
		{"bond_denom", func(p *types.Params) { p.BondDenom = "" }},
		{"min_provider_stake", func(p *types.Params) { p.MinProviderStake = math.NewInt(-1) }},
		{"collateral_ratio", func(p *types.Params) { p.CollateralRatio = math.LegacyNewDec(-1) }},
		{"collateral_ratio", func(p *types.Params) { p.CollateralRatio = math.LegacyNewDec(1001) }},
		{"unbonding_time", func(p *types.Params) { p.UnbondingTime = 0 }},
		{"fraud_slash_fraction", func(p *types.Params) { p.FraudSlashFraction = math.LegacyZeroDec() }},
		{"fraud_slash_fraction", func(p *types.Params) { p.FraudSlashFraction = math.LegacyNewDecWithPrec(101, 2) }},
		{"jail_duration", func(p *types.Params) { p.JailDuration = -time.Second }},
		{"provider_reward_period", func(p *types.Params) { p.ProviderRewardPeriod = 0 }},
		{"reward_epoch", func(p *types.Params) { p.RewardEpoch = 0 }},
		{"validator_bonus", func(p *types.Params) { p.ValidatorBonus = math.LegacyNewDecWithPrec(9, 1) }},
		{"max_gpus", func(p *types.Params) { p.MaxGpus = 0 }},
	}
	for _, tc := range tests {
		p := types.DefaultParams()
		tc.edit(&p)
		before := f.snapshot(t)
		_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: p})
		require.ErrorIs(t, err, types.ErrInvalidParams, tc.field)
		require.ErrorContains(t, err, tc.field)
		require.Equal(t, before, f.snapshot(t))
	}

	valid.RewardEpoch = 7
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: valid})
	require.NoError(t, err)
	res, err := f.queries.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.EqualValues(t, 7, res.Params.RewardEpoch)
}

// TestUnbondingPayoutIsIsolated: an entry that cannot be paid out does not halt the chain or
// hold back the others; it is reported and retried next block.
func TestUnbondingPayoutIsIsolated(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	a, b := f.account(1, ogpu(5_000)), f.account(2, ogpu(5_000))
	for _, op := range []sdk.AccAddress{a, b} {
		f.register(t, op)
		f.bond(t, op, ogpu(3_000))
	}
	_, err := f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: a.String(), Amount: coin(ogpu(2_000))})
	require.NoError(t, err)
	_, err = f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: b.String(), Amount: coin(ogpu(1_000))})
	require.NoError(t, err)
	// the module account is short: it can pay b's entry but not a's
	f.bank.Set(moduleAddr, denom, ogpu(1_500))
	f.advance(72*time.Hour, 1)
	f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())
	require.NoError(t, f.k.EndBlocker(f.ctx), "one entry's failure does not fail the block")
	require.Equal(t, ogpu(3_000), f.bank.GetBalance(f.ctx, b, denom).Amount, "b is paid")
	require.Equal(t, ogpu(2_000), f.bank.GetBalance(f.ctx, a, denom).Amount, "a waits")
	deferred := 0
	for _, e := range f.ctx.EventManager().Events() {
		if e.Type == "ogpu.stakinggpu.v1.EventUnbondingDeferred" {
			deferred++
		}
	}
	require.Equal(t, 1, deferred)
	stake, err := f.queries.Stake(f.ctx, &types.QueryStakeRequest{Operator: a.String()})
	require.NoError(t, err)
	require.Len(t, stake.Entries, 1, "kept for the next block")

	// funds back: the next block pays it
	f.bank.Set(moduleAddr, denom, ogpu(2_000).Add(ogpu(4_000)))
	f.advance(time.Second, 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, ogpu(4_000), f.bank.GetBalance(f.ctx, a, denom).Amount)
}
