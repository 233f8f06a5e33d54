package keeper_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/core/header"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/x/committee/keeper"
	"github.com/opengpu/ogpu/x/committee/types"
	computekeeper "github.com/opengpu/ogpu/x/compute/keeper"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
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

// draw runs DrawCommittee for a fresh task id, excluding the given parties' validators.
func (f *fixture) draw(id uint64, exclude ...sdk.AccAddress) []string {
	f.t.Helper()
	members, err := f.k.DrawCommittee(f.ctx, id, exclude)
	require.NoError(f.t, err)
	return members
}

func TestDrawCommittee(t *testing.T) {
	f := newFixture(t)
	// validator 3 is jailed, validator 4 unbonded, validator 5 benched: three remain
	v3 := f.staking.vals[string(f.vals[3])]
	v3.Jailed = true
	f.staking.vals[string(f.vals[3])] = v3
	v4 := f.staking.vals[string(f.vals[4])]
	v4.Status = stakingtypes.Unbonded
	f.staking.vals[string(f.vals[4])] = v4
	v5 := f.verifier(f.vals[5])
	v5.BenchedUntil = 100
	require.NoError(t, f.k.Verifiers.Set(f.ctx, f.vals[5], v5))

	members := f.draw(1, f.provider, f.client)
	require.ElementsMatch(t, []string{f.vals[0].String(), f.vals[1].String(), f.vals[2].String()}, members,
		"fewer than committee_size only when fewer are eligible")
	require.Equal(t, members, f.draw(1, f.provider, f.client), "the same block draws the same committee")

	// never the validator of the task's creator or its provider
	members = f.draw(2, sdk.AccAddress(f.vals[0]), sdk.AccAddress(f.vals[1]))
	require.Equal(t, []string{f.vals[2].String()}, members)

	// a validator below min_verifier_stake is not drawn
	f.setParams(func(p *types.Params) { p.MinVerifierStake = ogpu(25_000) })
	require.ElementsMatch(t, []string{f.vals[0].String(), f.vals[1].String()}, f.draw(3))

	// stake-weighted: drawing one member many times picks 50 > 30 > 20 about in proportion
	f.setParams(func(p *types.Params) { p.MinVerifierStake = ogpu(1); p.CommitteeSize = 1 })
	count := map[string]int{}
	for id := uint64(10); id < 2010; id++ {
		count[f.draw(id)[0]]++
	}
	c0, c1, c2 := count[f.vals[0].String()], count[f.vals[1].String()], count[f.vals[2].String()]
	require.Greater(t, c0, c1)
	require.Greater(t, c1, c2)
	require.InDelta(t, 1000, c0, 150, "50% of the power, 50% of the draws")
	require.InDelta(t, 400, c2, 120)
}

// TestDrawComesAfterCommitment: nothing decided before the submission picks the committee. It
// is drawn from the block after the submission; by then the client can no longer cancel nor
// the provider withdraw, and a different block there draws a different committee while
// everything before it is the same.
func TestDrawComesAfterCommitment(t *testing.T) {
	f := newFixture(t)
	f.setParams(func(p *types.Params) { p.CommitteeSize = 2 })
	msgs := computekeeper.NewMsgServer(f.compute)
	res, err := msgs.CreateTask(f.ctx, f.gemmTask())
	require.NoError(t, err)
	id := res.TaskId
	_, err = msgs.Bid(f.ctx, &computetypes.MsgBid{Provider: f.provider.String(), TaskId: id, Price: ogpu(50)})
	require.NoError(t, err)
	for f.task(id).State == computetypes.TASK_STATE_OPEN {
		f.nextBlock()
	}
	require.Empty(t, f.task(id).Committee, "no committee at assignment")
	_, err = f.k.Committees.Get(f.ctx, id)
	require.Error(t, err)
	_, err = msgs.SubmitResult(f.ctx, &computetypes.MsgSubmitResult{Provider: f.provider.String(), TaskId: id, Sha256: resultSha, Size_: 32 + 4*64, Uri: "http://p/r"})
	require.NoError(t, err)
	_, err = msgs.CancelTask(f.ctx, &computetypes.MsgCancelTask{Creator: f.client.String(), TaskId: id})
	require.ErrorIs(t, err, computetypes.ErrWrongState, "no cancel once assigned")
	_, err = msgs.WithdrawBid(f.ctx, &computetypes.MsgWithdrawBid{Provider: f.provider.String(), TaskId: id})
	require.ErrorIs(t, err, computetypes.ErrWrongState, "no withdrawal once assigned")

	draw := f.task(id).DrawHeight
	require.Equal(t, f.ctx.BlockHeight()+1, draw)
	f.nextBlock()
	require.Equal(t, draw, f.ctx.BlockHeight())
	// the same state, two different blocks at the draw height
	seeds := map[string]bool{}
	for _, hash := range []string{"one block", "another block"} {
		cache, _ := f.ctx.CacheContext()
		cache = cache.WithHeaderInfo(header.Info{Height: draw, Hash: []byte(hash), AppHash: f.ctx.HeaderInfo().AppHash})
		require.NoError(t, f.compute.EndBlocker(cache))
		c, err := f.k.Committees.Get(cache, id)
		require.NoError(t, err)
		require.Len(t, c.Members, 2)
		require.Equal(t, draw, c.DrawnHeight)
		seeds[string(c.Seed)] = true
	}
	require.Len(t, seeds, 2, "the draw block's randomness decides the committee")
}

func (f *fixture) gemmTask() *computetypes.MsgCreateTask {
	return &computetypes.MsgCreateTask{
		Creator: f.client.String(),
		Workload: computetypes.Workload{Name: "gemm-int8/v1", Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: 8, N: 8, K: 8, SeedA: 1, SeedB: 2},
		}},
		Requirements: requirements(),
		MaxPrice:     sdk.NewCoin(denom, ogpu(100)),
		Deadline:     30,
		Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: math.LegacyZeroDec()},
	}
}

// TestCommitRevealBinding: a reveal counts only if it opens the same member's commitment,
// recorded in an earlier block, once reveals are open.
func TestCommitRevealBinding(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	m := f.members(id)
	require.Len(t, m, 5)

	// a non-member's commitment is ignored
	outsider := sdk.ValAddress("not-on-the-committee")
	require.False(t, f.record(outsider, types.Attestation{TaskId: id, Commitment: make([]byte, 32)}))
	// a reveal with no commitment is ignored
	early := types.Attestation{TaskId: id, Verdict: types.ATTESTED_VALID, Digest: make([]byte, 32), Salt: make([]byte, types.SaltSize)}
	require.False(t, f.record(m[4], early), "reveal before commit")

	r0 := f.commit(m[0], id, types.ATTESTED_VALID)
	require.False(t, f.record(m[0], types.Attestation{TaskId: id, Commitment: make([]byte, 32)}), "a second commitment is ignored")
	require.False(t, f.record(m[0], r0), "a reveal before reveals open is ignored")

	// member 1 copies member 0's commitment and, later, its reveal: neither opens for it
	var copied []byte
	{
		c := f.committee(id)
		sha, _ := hex.DecodeString(resultSha)
		copied = types.Commitment(id, c.Round, sha, r0.Verdict, r0.Digest, 0, r0.Salt, m[0])
	}
	require.True(t, f.record(m[1], types.Attestation{TaskId: id, Commitment: copied}))
	r2 := f.commit(m[2], id, types.ATTESTED_VALID)
	r3 := f.commit(m[3], id, types.ATTESTED_INVALID)
	require.Zero(t, f.committee(id).RevealHeight, "reveals open when every member committed")
	r4 := f.commit(m[4], id, types.ATTESTED_VALID)
	require.Equal(t, f.ctx.BlockHeight()+1, f.committee(id).RevealHeight)
	require.False(t, f.record(m[4], r4), "not in the block of the last commitment")
	f.nextBlock()

	require.False(t, f.record(m[1], r0), "another member's reveal does not open the copier's commitment")
	wrongSalt := r2
	wrongSalt.Salt = make([]byte, types.SaltSize)
	require.False(t, f.record(m[2], wrongSalt), "wrong salt")
	otherVerdict := r3
	otherVerdict.Verdict = types.ATTESTED_VALID
	require.False(t, f.record(m[3], otherVerdict), "a verdict other than the committed one")
	otherDigest := r2
	otherDigest.Digest = make([]byte, 32)
	require.False(t, f.record(m[2], otherDigest), "a digest other than the committed one")
	late := types.Attestation{TaskId: id, Commitment: make([]byte, 32)}
	require.False(t, f.record(outsider, late))

	require.True(t, f.record(m[0], r0))
	require.False(t, f.record(m[0], r0), "a second reveal is ignored")
	require.True(t, f.record(m[2], r2))
	require.True(t, f.record(m[3], r3))
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_SUBMITTED, f.task(id).State, "3 of 5 is short of ⌈2/3·5⌉ = 4")

	// the verify window runs out before member 4 reveals: the task expires and the late reveal
	// counts for nothing
	for f.task(id).State == computetypes.TASK_STATE_SUBMITTED {
		f.nextBlock()
	}
	require.Equal(t, computetypes.TASK_STATE_EXPIRED, f.task(id).State)
	require.False(t, f.record(m[4], r4), "late reveal")
}

// TestEqualVotes: one member, one vote. The largest validator alone decides nothing, and four
// small ones outvote it.
func TestEqualVotes(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	votes := map[string]types.AttestedVerdict{}
	var big string
	for _, m := range f.committee(id).Members {
		if m.Validator == f.vals[0].String() {
			big = m.Validator
			votes[m.Validator] = types.ATTESTED_INVALID
		} else {
			votes[m.Validator] = types.ATTESTED_VALID
		}
	}
	require.NotEmpty(t, big, "the largest validator is on the committee of five out of six")
	f.vote(id, votes)
	require.Equal(t, computetypes.TASK_STATE_VERIFIED, f.task(id).State, "four equal votes of five")
	require.Equal(t, types.DefaultParams().VerifierSlashFraction, f.staking.slashed[string(f.vals[0])], "the dissenter is slashed")
	require.Greater(t, f.verifier(f.vals[0]).BenchedUntil, f.ctx.BlockHeight())
}

// TestFeesOnCompleted: members that revealed the verdict share the committee fee equally (2% of
// the price of 50); silent members count a miss; the provider is paid after acceptance.
func TestFeesOnCompleted(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	m := f.members(id)
	before := f.bank.GetBalance(f.ctx, f.client, denom).Amount
	f.vote(id, map[string]types.AttestedVerdict{m[0].String(): types.ATTESTED_VALID, m[1].String(): types.ATTESTED_VALID,
		m[2].String(): types.ATTESTED_VALID, m[3].String(): types.ATTESTED_VALID})
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_VERIFIED, task.State)
	share := ogpu(1).QuoRaw(4)
	for _, v := range m[:4] {
		require.Equal(t, share, f.bank.GetBalance(f.ctx, sdk.AccAddress(v), denom).Amount)
	}
	require.True(t, f.bank.GetBalance(f.ctx, sdk.AccAddress(m[4]), denom).IsZero())
	require.EqualValues(t, 1, f.verifier(m[4]).Missed, "a silent member counts a miss")
	require.Empty(t, f.staking.slashed)

	_, err := computekeeper.NewMsgServer(f.compute).AcceptResult(f.ctx, &computetypes.MsgAcceptResult{Creator: f.client.String(), TaskId: id})
	require.NoError(t, err)
	task = f.task(id)
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, task.State)
	require.Equal(t, ogpu(50).MulRaw(5).QuoRaw(100), task.ProtocolFee, "5% of the pay goes to the reward pool")
	require.Equal(t, ogpu(50).Sub(task.ProtocolFee), task.Paid)
	// the client paid the price and the fee shares, nothing else
	require.Equal(t, before.Add(ogpu(100+2+10)).Sub(ogpu(50)).Sub(share.MulRaw(4)), f.bank.GetBalance(f.ctx, f.client, denom).Amount)
	_, err = f.k.Committees.Get(f.ctx, id)
	require.Error(t, err, "the committee is cleared once the task ends")
}

// TestFeeCappedPerMember: max_member_fee bounds what one member earns from one task.
func TestFeeCappedPerMember(t *testing.T) {
	f := newFixture(t)
	f.setParams(func(p *types.Params) { p.MaxMemberFee = ogpu(1).QuoRaw(10) })
	id := f.submitted()
	votes := map[string]types.AttestedVerdict{}
	for _, m := range f.committee(id).Members {
		votes[m.Validator] = types.ATTESTED_VALID
	}
	f.vote(id, votes)
	for _, v := range f.members(id) {
		require.Equal(t, ogpu(1).QuoRaw(10), f.bank.GetBalance(f.ctx, sdk.AccAddress(v), denom).Amount)
	}
}

// TestFailedPaysCatchers: catching fraud pays. On FAILED the members that revealed INVALID get
// their shares out of the provider's slash, the member that said VALID is slashed through
// x/staking and unpaid, and the client is refunded in full.
func TestFailedPaysCatchers(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	m := f.members(id)
	c := f.committee(id)
	before := f.bank.GetBalance(f.ctx, f.client, denom).Amount.Add(f.task(id).Escrow)
	f.vote(id, map[string]types.AttestedVerdict{m[0].String(): types.ATTESTED_INVALID, m[1].String(): types.ATTESTED_INVALID,
		m[2].String(): types.ATTESTED_INVALID, m[3].String(): types.ATTESTED_INVALID, m[4].String(): types.ATTESTED_VALID})
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_FAILED, task.State)
	require.Equal(t, before, f.bank.GetBalance(f.ctx, f.client, denom).Amount, "the client gets everything back")
	share := ogpu(1).QuoRaw(4)
	for _, v := range m[:4] {
		require.Equal(t, share, f.bank.GetBalance(f.ctx, sdk.AccAddress(v), denom).Amount, "paid out of the provider's slash")
	}
	require.True(t, f.bank.GetBalance(f.ctx, sdk.AccAddress(m[4]), denom).IsZero())
	require.Equal(t, types.DefaultParams().VerifierSlashFraction, f.staking.slashed[string(m[4])], "the lazy VALID is slashed")
	// for an infraction at the draw, with its power then: stake it unbonds after the draw is
	// still slashed by x/staking
	require.Equal(t, [2]int64{c.DrawnHeight, c.Members[4].Power}, f.staking.infraction[string(m[4])])
	require.Less(t, c.DrawnHeight, f.ctx.BlockHeight())
	p, err := f.sg.GetProvider(f.ctx, f.provider)
	require.NoError(t, err)
	require.True(t, p.Jailed)
	require.Equal(t, ogpu(9_000), p.Bonded, "10% of 10,000 slashed")
}

// TestResultUnavailable: a result the committee cannot fetch is the provider's miss: slashed the
// timeout fraction, not jailed, the task goes to the next bid or expires; no member counts a
// miss or is slashed, and nobody is paid.
func TestResultUnavailable(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	votes := map[string]types.AttestedVerdict{}
	for _, m := range f.members(id)[:4] {
		votes[m.String()] = types.ATTESTED_UNAVAILABLE
	}
	f.vote(id, votes)
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_EXPIRED, task.State, "no other bid")
	require.Contains(t, task.FailedProviders, f.provider.String())
	p, err := f.sg.GetProvider(f.ctx, f.provider)
	require.NoError(t, err)
	require.False(t, p.Jailed)
	require.Equal(t, ogpu(9_900), p.Bonded, "1% of 10,000")
	for _, v := range f.vals {
		require.Zero(t, f.verifier(v).Missed)
		require.Zero(t, f.verifier(v).BenchedUntil)
	}
	require.Empty(t, f.staking.slashed)
}

// TestUnreachableResultsBenchNobody: a provider whose result never answers cannot bench the
// verifiers: even when nobody reveals and the task expires, no member counts a miss.
func TestUnreachableResultsBenchNobody(t *testing.T) {
	f := newFixture(t)
	f.setParams(func(p *types.Params) { p.MaxMissed = 1 })
	id := f.submitted()
	for f.task(id).State == computetypes.TASK_STATE_SUBMITTED {
		f.nextBlock()
	}
	require.Equal(t, computetypes.TASK_STATE_EXPIRED, f.task(id).State)
	for _, v := range f.vals {
		require.Zero(t, f.verifier(v).BenchedUntil)
	}
}

// TestMissesBench: members that stay silent while the others fetched and judged the result
// count misses and are benched after max_missed in a row.
func TestMissesBench(t *testing.T) {
	f := newFixture(t)
	f.setParams(func(p *types.Params) { p.MaxMissed = 1 })
	id := f.submitted()
	m := f.members(id)
	votes := map[string]types.AttestedVerdict{}
	for _, v := range m[:4] {
		votes[v.String()] = types.ATTESTED_VALID
	}
	f.vote(id, votes)
	require.Greater(t, f.verifier(m[4]).BenchedUntil, f.ctx.BlockHeight())
	require.Zero(t, f.verifier(m[0]).BenchedUntil)
}

// TestInputReport: a report the committee finds false is rejected without slashing and the
// provider goes on; a confirmed one pays the provider the security deposit.
func TestInputReport(t *testing.T) {
	f := newFixture(t)
	msgs := computekeeper.NewMsgServer(f.compute)
	report := func() uint64 {
		msg := f.gemmTask()
		msg.Workload.GetGemmInt8().SeedA, msg.Workload.GetGemmInt8().SeedB = 0, 0
		msg.Inputs = []computetypes.Blob{
			{Uri: "http://client/a", Sha256: resultSha, Size_: 64},
			{Uri: "http://client/b", Sha256: resultSha, Size_: 64},
		}
		res, err := msgs.CreateTask(f.ctx, msg)
		require.NoError(t, err)
		_, err = msgs.Bid(f.ctx, &computetypes.MsgBid{Provider: f.provider.String(), TaskId: res.TaskId, Price: ogpu(50)})
		require.NoError(t, err)
		for f.task(res.TaskId).State == computetypes.TASK_STATE_OPEN {
			f.nextBlock()
		}
		_, err = msgs.ReportInputUnavailable(f.ctx, &computetypes.MsgReportInputUnavailable{Provider: f.provider.String(), TaskId: res.TaskId})
		require.NoError(t, err)
		f.nextBlock()
		f.nextBlock()
		return res.TaskId
	}
	id := report()
	all := func(v types.AttestedVerdict) map[string]types.AttestedVerdict {
		out := map[string]types.AttestedVerdict{}
		for _, m := range f.committee(id).Members {
			out[m.Validator] = v
		}
		return out
	}
	// INVALID is not a verdict on a report: it cannot be revealed
	f.vote(id, all(types.ATTESTED_VALID))
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_ASSIGNED, task.State, "the report was false: the provider goes on")
	require.False(t, task.InputUnavailable)
	require.GreaterOrEqual(t, task.AssignmentDeadline, f.ctx.BlockHeight()+5)
	p, err := f.sg.GetProvider(f.ctx, f.provider)
	require.NoError(t, err)
	require.False(t, p.Jailed)
	require.Equal(t, ogpu(10_000), p.Bonded, "nobody slashed")
	_, err = msgs.SubmitResult(f.ctx, &computetypes.MsgSubmitResult{Provider: f.provider.String(), TaskId: id, Sha256: resultSha, Size_: 32 + 4*64, Uri: "http://p/r"})
	require.NoError(t, err, "the provider submits its result after all")
	_, err = msgs.ReportInputUnavailable(f.ctx, &computetypes.MsgReportInputUnavailable{Provider: f.provider.String(), TaskId: id})
	require.ErrorIs(t, err, computetypes.ErrWrongState, "no input report once a result is in")

	id = report()
	providerBefore := f.bank.GetBalance(f.ctx, f.provider, denom).Amount
	f.vote(id, all(types.ATTESTED_INPUT_UNAVAILABLE))
	require.Equal(t, computetypes.TASK_STATE_EXPIRED, f.task(id).State)
	require.Equal(t, providerBefore.Add(ogpu(10)), f.bank.GetBalance(f.ctx, f.provider, denom).Amount, "the security deposit")
}

// TestInputUnavailableOnResultIgnored: once a result is in, INPUT_UNAVAILABLE cannot be
// revealed: a client that takes its inputs down after the submission gains nothing.
func TestInputUnavailableOnResultIgnored(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	m := f.members(id)
	r := f.commit(m[0], id, types.ATTESTED_INPUT_UNAVAILABLE)
	f.openReveals(id)
	require.False(t, f.record(m[0], r))
}

func requirements() sgtypes.Requirements { return sgtypes.Requirements{Workload: "gemm-int8/v1"} }

// TestLateRevealWithinGrace: a verdict with its quorum waits RevealGraceBlocks for the members
// that committed and have not revealed: a member on the losing side cannot dodge its slash by
// revealing a block late, and a slow honest member is still paid. Then it settles.
func TestLateRevealWithinGrace(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	m := f.members(id)
	reveals := make([]types.Attestation, len(m))
	for i, v := range m {
		verdict := types.ATTESTED_VALID
		if i == 4 {
			verdict = types.ATTESTED_INVALID
		}
		reveals[i] = f.commit(v, id, verdict)
	}
	f.openReveals(id)
	for i := range 4 {
		require.True(t, f.record(m[i], reveals[i]))
	}
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_SUBMITTED, f.task(id).State, "waits for the fifth, which committed")
	f.nextBlock()
	require.True(t, f.record(m[4], reveals[4]), "a block late, within the grace")
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_VERIFIED, f.task(id).State, "everyone revealed: settled at once")
	require.Equal(t, types.DefaultParams().VerifierSlashFraction, f.staking.slashed[string(m[4])])

	// a member that never reveals: the verdict settles when the grace ends, in the end block
	id = f.submitted()
	m = f.members(id)
	for i, v := range m {
		reveals[i] = f.commit(v, id, types.ATTESTED_VALID)
	}
	f.openReveals(id)
	for i := range 4 {
		require.True(t, f.record(m[i], reveals[i]))
	}
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_SUBMITTED, f.task(id).State)
	for range keeper.RevealGraceBlocks + 1 {
		f.nextBlock()
	}
	require.Equal(t, computetypes.TASK_STATE_VERIFIED, f.task(id).State)
	require.EqualValues(t, 1, f.verifier(m[4]).Missed, "committed and never revealed: a miss")
}

// TestGenesisRoundTrip: committees mid-round (commitments, reveals, a verdict waiting for its
// grace) export and import unchanged.
func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	id := f.submitted()
	m := f.members(id)
	reveals := make([]types.Attestation, len(m))
	for i, v := range m {
		reveals[i] = f.commit(v, id, types.ATTESTED_VALID)
	}
	f.openReveals(id)
	for i := range 4 {
		require.True(t, f.record(m[i], reveals[i]))
	}
	require.NoError(t, f.k.Tally(f.ctx, id))
	f.setParams(func(p *types.Params) { *p = types.DefaultParams() }) // genesis validates the params
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate())
	require.Len(t, gs.Tallies, 1, "the verdict waits for the fifth reveal")
	require.Len(t, gs.Attestations, 5)

	g := newFixture(t)
	require.NoError(t, g.k.InitGenesis(g.ctx, *gs))
	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
}
