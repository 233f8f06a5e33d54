package keeper_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
	computekeeper "github.com/opengpu/ogpu/x/compute/keeper"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// escalationFixture: first committees of two, so that an escalation committee (of up to five)
// can be drawn from the four validators left.
func escalationFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.setParams(func(p *types.Params) { p.CommitteeSize = 2 })
	return f
}

// voteWrong has every member of the current committee commit to and reveal verdict with the
// escalation findings wrong, and tallies.
func (f *fixture) voteWrong(id uint64, verdict types.AttestedVerdict, wrong uint64) {
	f.t.Helper()
	c := f.committee(id)
	sha, err := hex.DecodeString(f.task(id).Result.Sha256)
	require.NoError(f.t, err)
	reveals := map[string]types.Attestation{}
	for _, m := range c.Members {
		val := f.valByStr(m.Validator)
		salt := make([]byte, types.SaltSize)
		r := types.Attestation{TaskId: id, Verdict: verdict, Digest: make([]byte, 32), Salt: salt, WrongDigests: wrong}
		require.True(f.t, f.record(val, types.Attestation{TaskId: id, Commitment: types.Commitment(id, c.Round, sha, verdict, r.Digest, wrong, salt, val)}))
		reveals[m.Validator] = r
	}
	f.openReveals(id)
	for v, r := range reveals {
		require.True(f.t, f.record(f.valByStr(v), r))
	}
	require.NoError(f.t, f.k.Tally(f.ctx, id))
}

// drawn moves on until the task's (escalation) committee is drawn.
func (f *fixture) drawn(id uint64) {
	for len(f.task(id).Committee) == 0 {
		f.nextBlock()
	}
}

// TestAuditCatchesLazyMember: with an audit the first verdict waits for an escalation committee
// that excludes the first one. It checks each first-round member's digest: the member whose
// digest is wrong did not do the check and is slashed and unpaid although its verdict was
// right; the honest one is paid.
func TestAuditCatchesLazyMember(t *testing.T) {
	f := escalationFixture(t)
	f.setParams(func(p *types.Params) { p.AuditProbability = math.LegacyOneDec() })
	id := f.submitted()
	first := f.members(id)
	require.Len(t, first, 2)
	f.vote(id, map[string]types.AttestedVerdict{first[0].String(): types.ATTESTED_VALID, first[1].String(): types.ATTESTED_VALID})
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_SUBMITTED, task.State, "held for the audit")
	require.True(t, task.Audited)
	f.drawn(id)
	c := f.committee(id)
	require.EqualValues(t, 2, c.Round)
	require.Len(t, c.Members, 4, "five wanted, four left once the first two are out")
	for _, m := range c.Members {
		require.NotContains(t, []string{first[0].String(), first[1].String()}, m.Validator)
	}
	require.Equal(t, first[0].String(), c.Prior[0].Validator)
	require.Len(t, c.Prior[0].Digest, 32, "the first round's digests are kept for the check")

	f.voteWrong(id, types.ATTESTED_VALID, 1<<1) // prior[1]'s digest is wrong
	task = f.task(id)
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, task.State, "an escalation verdict is final")
	require.Equal(t, ogpu(50).Sub(task.ProtocolFee), task.Paid)
	lazy, honest := c.Prior[1].Validator, c.Prior[0].Validator
	require.Equal(t, types.DefaultParams().VerifierSlashFraction, f.staking.slashed[string(f.valByStr(lazy))], "wrong digest: slashed")
	require.True(t, f.bank.GetBalance(f.ctx, sdk.AccAddress(f.valByStr(lazy)), denom).IsZero(), "and unpaid")
	share := ogpu(1).QuoRaw(5) // 2% of 50 among the honest first-round member and four auditors
	require.Equal(t, share, f.bank.GetBalance(f.ctx, sdk.AccAddress(f.valByStr(honest)), denom).Amount)
	for _, m := range c.Members {
		require.Equal(t, share, f.bank.GetBalance(f.ctx, sdk.AccAddress(f.valByStr(m.Validator)), denom).Amount)
	}
}

// TestDisputeOverturns: a lazy first committee passes a wrong result; the client disputes with
// a bond; the escalation committee finds it INVALID. The provider is slashed and jailed, the
// first-round VALID members are slashed, and the client gets all its escrow back, its bond,
// and the bond again as a reward out of the provider's slash.
func TestDisputeOverturns(t *testing.T) {
	f := escalationFixture(t)
	msgs := computekeeper.NewMsgServer(f.compute)
	id := f.submitted()
	first := f.members(id)
	f.vote(id, map[string]types.AttestedVerdict{first[0].String(): types.ATTESTED_VALID, first[1].String(): types.ATTESTED_VALID})
	require.Equal(t, computetypes.TASK_STATE_VERIFIED, f.task(id).State)
	clientBefore := f.bank.GetBalance(f.ctx, f.client, denom).Amount.Add(f.task(id).Escrow)

	_, err := msgs.DisputeResult(f.ctx, &computetypes.MsgDisputeResult{Creator: f.provider.String(), TaskId: id})
	require.ErrorIs(t, err, computetypes.ErrNotCreator)
	_, err = msgs.DisputeResult(f.ctx, &computetypes.MsgDisputeResult{Creator: f.client.String(), TaskId: id})
	require.NoError(t, err)
	task := f.task(id)
	require.True(t, task.Disputed)
	require.Equal(t, ogpu(5), task.DisputeBond, "10% of the price")
	f.drawn(id)
	f.voteWrong(id, types.ATTESTED_INVALID, 0)

	task = f.task(id)
	require.Equal(t, computetypes.TASK_STATE_FAILED, task.State)
	require.Equal(t, clientBefore.Add(ogpu(5)), f.bank.GetBalance(f.ctx, f.client, denom).Amount,
		"escrow and bond back, and the bond again as the reward")
	for _, v := range first {
		require.Equal(t, types.DefaultParams().VerifierSlashFraction, f.staking.slashed[string(v)], "first-round VALID members slashed")
	}
	p, err := f.sg.GetProvider(f.ctx, f.provider)
	require.NoError(t, err)
	require.True(t, p.Jailed)
}

// TestFrivolousDispute: a dispute of a correct result loses its bond to the escalation
// committee, and the provider is paid.
func TestFrivolousDispute(t *testing.T) {
	f := escalationFixture(t)
	msgs := computekeeper.NewMsgServer(f.compute)
	id := f.submitted()
	first := f.members(id)
	f.vote(id, map[string]types.AttestedVerdict{first[0].String(): types.ATTESTED_VALID, first[1].String(): types.ATTESTED_VALID})
	clientBefore := f.bank.GetBalance(f.ctx, f.client, denom).Amount
	_, err := msgs.DisputeResult(f.ctx, &computetypes.MsgDisputeResult{Creator: f.client.String(), TaskId: id})
	require.NoError(t, err)
	f.drawn(id)
	escalation := f.members(id)
	f.voteWrong(id, types.ATTESTED_VALID, 0)
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, task.State)
	require.Equal(t, ogpu(50).Sub(task.ProtocolFee), task.Paid)
	refund := ogpu(100 + 2 + 10).Sub(ogpu(50)).Sub(ogpu(1)) // escrow less price and the first round's fee
	require.Equal(t, clientBefore.Sub(ogpu(5)).Add(refund), f.bank.GetBalance(f.ctx, f.client, denom).Amount, "the bond is lost")
	for _, v := range escalation {
		require.Equal(t, ogpu(5).QuoRaw(int64(len(escalation))), f.bank.GetBalance(f.ctx, sdk.AccAddress(v), denom).Amount)
	}
	require.Empty(t, f.staking.slashed)
}

// TestDisputeRules: only within the window, only with an escalation committee possible; the
// dev chain (one validator) refuses disputes and never audits.
func TestDisputeRules(t *testing.T) {
	f := newFixture(t) // committees of five: one validator left for an escalation
	msgs := computekeeper.NewMsgServer(f.compute)
	id := f.submitted()
	votes := map[string]types.AttestedVerdict{}
	for _, m := range f.committee(id).Members {
		votes[m.Validator] = types.ATTESTED_VALID
	}
	f.vote(id, votes)
	// park every verifier not on the committee: no escalation committee can be drawn
	for _, v := range f.vals {
		if _, ok := votes[v.String()]; !ok {
			vf := f.verifier(v)
			vf.BenchedUntil = 1_000_000
			require.NoError(t, f.k.Verifiers.Set(f.ctx, v, vf))
		}
	}
	_, err := msgs.DisputeResult(f.ctx, &computetypes.MsgDisputeResult{Creator: f.client.String(), TaskId: id})
	require.ErrorIs(t, err, computetypes.ErrNoEscalation)
	for f.task(id).State == computetypes.TASK_STATE_VERIFIED {
		f.nextBlock()
	}
	require.Equal(t, computetypes.TASK_STATE_COMPLETED, f.task(id).State, "paid when the dispute window passes")
	_, err = msgs.DisputeResult(f.ctx, &computetypes.MsgDisputeResult{Creator: f.client.String(), TaskId: id})
	require.ErrorIs(t, err, computetypes.ErrWrongState)
}

// TestParamsRefuseLazyPays: params under which a lazy VALID pays in expectation are refused.
func TestParamsRefuseLazyPays(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*types.Params)
		ok   bool
	}{
		{"defaults", func(*types.Params) {}, true},
		{"audits too rare", func(p *types.Params) { p.AuditProbability = math.LegacyNewDecWithPrec(1, 4) }, false},
		{"slash too small", func(p *types.Params) { p.VerifierSlashFraction = math.LegacyNewDecWithPrec(1, 4) }, false},
		{"fee too large", func(p *types.Params) { p.MaxMemberFee = ogpu(1_000) }, false},
		{"stake too small", func(p *types.Params) { p.MinVerifierStake = ogpu(100) }, false},
		{"exactly at the margin", func(p *types.Params) { p.MaxMemberFee = ogpu(25).QuoRaw(2) }, false},
		{"just inside", func(p *types.Params) { p.MaxMemberFee = ogpu(12) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := types.DefaultParams()
			tc.edit(&p)
			err := p.Validate()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, types.ErrInvalidParams)
			require.Contains(t, err.Error(), "lazy attestation pays")
		})
	}
}

// TestParamsTinyAuditProbability: the check keeps its precision for the smallest probability.
func TestParamsTinyAuditProbability(t *testing.T) {
	p := types.DefaultParams()
	p.AuditProbability = math.LegacyNewDecWithPrec(1, 18)
	p.MaxMemberFee = math.NewInt(100) // p·s = 10^-18 × 5% × 10^22 = 500 aogpu > 2 × 100
	require.NoError(t, p.Validate())
	p.MaxMemberFee = math.NewInt(250)
	require.ErrorIs(t, p.Validate(), types.ErrInvalidParams)
}

// TestResultWithheldFromDispute: a provider that stops serving its result once disputed gains
// nothing: the task ends FAILED, the client is refunded with its bond, the provider is slashed
// as for a miss, and a first-round member whose digest is wrong is still slashed (a digest
// needs only the inputs).
func TestResultWithheldFromDispute(t *testing.T) {
	f := escalationFixture(t)
	msgs := computekeeper.NewMsgServer(f.compute)
	id := f.submitted()
	first := f.members(id)
	f.vote(id, map[string]types.AttestedVerdict{first[0].String(): types.ATTESTED_VALID, first[1].String(): types.ATTESTED_VALID})
	clientBefore := f.bank.GetBalance(f.ctx, f.client, denom).Amount.Add(f.task(id).Escrow)
	_, err := msgs.DisputeResult(f.ctx, &computetypes.MsgDisputeResult{Creator: f.client.String(), TaskId: id})
	require.NoError(t, err)
	f.drawn(id)
	escalation := f.members(id)
	f.voteWrong(id, types.ATTESTED_UNAVAILABLE, 1<<0)
	task := f.task(id)
	require.Equal(t, computetypes.TASK_STATE_FAILED, task.State)
	require.Contains(t, task.Outcome, "withheld")
	require.Equal(t, clientBefore, f.bank.GetBalance(f.ctx, f.client, denom).Amount, "escrow and bond back")
	p, err := f.sg.GetProvider(f.ctx, f.provider)
	require.NoError(t, err)
	require.False(t, p.Jailed, "a miss, not fraud")
	require.Equal(t, ogpu(9_900), p.Bonded)
	require.Equal(t, types.DefaultParams().VerifierSlashFraction, f.staking.slashed[string(first[0])], "the wrong digest")
	require.NotContains(t, f.staking.slashed, string(first[1]))
	for _, v := range escalation {
		require.True(t, f.bank.GetBalance(f.ctx, sdk.AccAddress(v), denom).IsZero(), "nobody is paid for not fetching")
	}
}
