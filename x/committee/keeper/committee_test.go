package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/x/committee/keeper"
	"github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

func TestRegisterVerifier(t *testing.T) {
	f := newFixture(t)
	msgs := keeper.NewMsgServer(f.k)
	_, err := msgs.RegisterVerifier(f.ctx, &types.MsgRegisterVerifier{Operator: sdk.AccAddress(f.vals[0]).String()})
	require.ErrorIs(t, err, types.ErrAlreadyRegistered)
	_, err = msgs.RegisterVerifier(f.ctx, &types.MsgRegisterVerifier{Operator: f.client.String()})
	require.ErrorIs(t, err, types.ErrNotValidator)
	_, err = msgs.RegisterVerifier(f.ctx, &types.MsgRegisterVerifier{Operator: "nobody"})
	require.ErrorIs(t, err, types.ErrInvalidOperator)
	_, err = msgs.DeregisterVerifier(f.ctx, &types.MsgDeregisterVerifier{Operator: sdk.AccAddress(f.vals[5]).String()})
	require.NoError(t, err)
	_, err = msgs.DeregisterVerifier(f.ctx, &types.MsgDeregisterVerifier{Operator: sdk.AccAddress(f.vals[5]).String()})
	require.ErrorIs(t, err, types.ErrNotRegistered)
}

func TestDrawCommittee(t *testing.T) {
	f := newFixture(t)
	// validator 3 is jailed, validator 4 unbonded, validator 5 benched: three remain
	v3 := f.staking[string(f.vals[3])]
	v3.Jailed = true
	f.staking[string(f.vals[3])] = v3
	v4 := f.staking[string(f.vals[4])]
	v4.Status = stakingtypes.Unbonded
	f.staking[string(f.vals[4])] = v4
	v5 := f.verifier(f.vals[5])
	v5.BenchedUntil = 100
	require.NoError(t, f.k.Verifiers.Set(f.ctx, f.vals[5], v5))

	members, err := f.k.DrawCommittee(f.ctx, 1, f.provider)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{f.vals[0].String(), f.vals[1].String(), f.vals[2].String()}, members,
		"fewer than committee_size only when fewer are eligible")
	again, err := f.k.DrawCommittee(f.ctx, 1, f.provider)
	require.NoError(t, err)
	require.Equal(t, members, again, "the same seed draws the same committee")

	// never the validator of the task's own provider
	members, err = f.k.DrawCommittee(f.ctx, 2, sdk.AccAddress(f.vals[0]))
	require.NoError(t, err)
	require.NotContains(t, members, f.vals[0].String())
	require.Len(t, members, 2)

	// stake-weighted: drawing one member many times picks 50 > 30 > 20 about in proportion
	params := types.DefaultParams()
	params.CommitteeSize = 1
	require.NoError(t, f.k.Params.Set(f.ctx, params))
	count := map[string]int{}
	for id := uint64(0); id < 2000; id++ {
		m, err := f.k.DrawCommittee(f.ctx, id, f.provider)
		require.NoError(t, err)
		count[m[0]]++
	}
	c0, c1, c2 := count[f.vals[0].String()], count[f.vals[1].String()], count[f.vals[2].String()]
	require.Greater(t, c0, c1)
	require.Greater(t, c1, c2)
	require.InDelta(t, 1000, c0, 150, "50% of the power, 50% of the draws")
	require.InDelta(t, 400, c2, 120)
}

func TestTallyCompletesAndBenchesDissenters(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	c := f.committee(id)
	require.Len(t, c.Members, 5, "committee_size of the six, none excluded")
	power := map[string]int64{}
	for _, m := range c.Members {
		power[m.Validator] = m.Power
	}
	// the two strongest members (50 + 30 of the committee's power) attest valid, the third
	// strongest invalid; the rest stay silent
	members := append([]types.Member(nil), c.Members...)
	sortByPower(members)
	strong, second, third := f.valByStr(members[0].Validator), f.valByStr(members[1].Validator), f.valByStr(members[2].Validator)

	outsider := sdk.ValAddress("not-on-the-committee")
	require.False(t, f.attest(outsider, id, types.ATTESTED_VALID), "non-members are ignored")
	wrongHash, err := f.k.RecordAttestation(f.ctx, strong, types.Attestation{TaskId: id, ResultSha256: make([]byte, 32), Verdict: types.ATTESTED_VALID})
	require.NoError(t, err)
	require.False(t, wrongHash, "an attestation of another result is ignored")

	require.True(t, f.attest(strong, id, types.ATTESTED_VALID))
	require.False(t, f.attest(strong, id, types.ATTESTED_INVALID), "a second attestation is ignored")
	require.True(t, f.attest(third, id, types.ATTESTED_INVALID))
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_SUBMITTED, f.task(id).State, "50 of 120 is short of 2/3")

	require.True(t, f.attest(second, id, types.ATTESTED_VALID))
	require.NoError(t, f.k.Tally(f.ctx, id))
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, task.State)

	fee := ogpu(1) // 2% of 50
	total := power[strong.String()] + power[second.String()]
	require.Equal(t, fee.MulRaw(power[strong.String()]).QuoRaw(total), f.bank.GetBalance(f.ctx, sdk.AccAddress(strong), denom).Amount)
	require.Equal(t, fee.MulRaw(power[second.String()]).QuoRaw(total), f.bank.GetBalance(f.ctx, sdk.AccAddress(second), denom).Amount)
	require.True(t, f.bank.GetBalance(f.ctx, sdk.AccAddress(third), denom).IsZero(), "no fee against the verdict")
	require.Greater(t, f.verifier(third).BenchedUntil, f.ctx.BlockHeight(), "benched for attesting against the verdict")
	for _, m := range members[3:] {
		require.EqualValues(t, 1, f.verifier(f.valByStr(m.Validator)).Missed, "a silent member counts a miss")
	}
	_, err = f.k.Committees.Get(f.ctx, id)
	require.Error(t, err, "the committee is cleared once the task ends")
}

func TestTallyFails(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	for _, m := range f.committee(id).Members {
		f.attest(f.valByStr(m.Validator), id, types.ATTESTED_UNAVAILABLE)
	}
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_FAILED, f.task(id).State)
	p, err := f.sg.GetProvider(f.ctx, f.provider)
	require.NoError(t, err)
	require.True(t, p.Jailed)
}

func TestMissesBench(t *testing.T) {
	f := newFixture(t)
	params := types.DefaultParams()
	params.MaxMissed = 2
	require.NoError(t, f.k.Params.Set(f.ctx, params))
	for i := 0; i < 2; i++ {
		id := f.submitted()
		// nobody attests: the verify window runs out
		for f.task(id).State == computetypes.TASK_STATE_SUBMITTED {
			f.nextBlock()
		}
		require.Equal(t, computetypes.TASK_STATE_EXPIRED, f.task(id).State)
	}
	benched := 0
	for _, v := range f.vals {
		if f.verifier(v).BenchedUntil > f.ctx.BlockHeight() {
			benched++
		}
	}
	require.Positive(t, benched, "members that missed two tasks in a row are benched")
}

func sortByPower(m []types.Member) {
	for i := range m {
		for j := i + 1; j < len(m); j++ {
			if m[j].Power > m[i].Power {
				m[i], m[j] = m[j], m[i]
			}
		}
	}
}

// TestTallyTwoOfThree: two of three equal members are exactly 2/3 of the power, which meets
// the default quorum; one of three does not.
func TestTallyTwoOfThree(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	c := f.committee(id)
	c.Members = c.Members[:3]
	for i := range c.Members {
		c.Members[i].Power = 10
	}
	require.NoError(t, f.k.Committees.Set(f.ctx, id, c))
	require.True(t, f.attest(f.valByStr(c.Members[0].Validator), id, types.ATTESTED_VALID))
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_SUBMITTED, f.task(id).State, "1 of 3 is short of 2/3")
	require.True(t, f.attest(f.valByStr(c.Members[1].Validator), id, types.ATTESTED_VALID))
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, f.task(id).State, "2 of 3 is 2/3")
}
