package keeper

import (
	"context"
	"errors"
	"fmt"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// opposite is the decisive verdict that contradicts v (VALID against INVALID); UNAVAILABLE has
// none: not being able to fetch is not a claim about the result.
func opposite(v types.AttestedVerdict) types.AttestedVerdict {
	switch v {
	case types.ATTESTED_VALID:
		return types.ATTESTED_INVALID
	case types.ATTESTED_INVALID:
		return types.ATTESTED_VALID
	}
	return types.ATTESTED_UNSPECIFIED
}

// settle hands a verdict to x/compute with who is paid and slashes who was wrong.
//
// Round 1 on a result: UNAVAILABLE quorum is RESULT_UNAVAILABLE (nobody paid, slashed or
// counted missing). VALID or INVALID: with probability audit_probability the verdict goes to an
// escalation committee first; otherwise members that revealed it share the committee fee, those
// that revealed the opposite are slashed and benched, and silent members count a miss.
// Round 1 on an input-unavailable report: confirmed or rejected, nobody paid or slashed (an
// availability claim cannot be checked later).
// Round 2 (escalation): see settleEscalation.
func (k Keeper) settle(ctx context.Context, params types.Params, c types.Committee, task computetypes.Task, v types.AttestedVerdict, recorded []types.RecordedAttestation) error {
	if c.Round == 2 {
		return k.settleEscalation(ctx, params, c, task, v, recorded)
	}
	switch {
	case task.InputUnavailable && v == types.ATTESTED_INPUT_UNAVAILABLE:
		return k.compute.ApplyVerdict(ctx, task.Id, computetypes.Settlement{Verdict: computetypes.VERDICT_INPUT_UNAVAILABLE})
	case task.InputUnavailable:
		return k.compute.ApplyVerdict(ctx, task.Id, computetypes.Settlement{Verdict: computetypes.VERDICT_VALID})
	case v == types.ATTESTED_UNAVAILABLE:
		return k.compute.ApplyVerdict(ctx, task.Id, computetypes.Settlement{Verdict: computetypes.VERDICT_RESULT_UNAVAILABLE})
	}
	if err := k.countMisses(ctx, c, recorded); err != nil {
		return err
	}
	if audited(ctx, task.Id, params.AuditProbability) {
		parties, err := k.parties(task)
		if err != nil {
			return err
		}
		ok, err := k.CanEscalate(ctx, task.Id, parties)
		if err != nil {
			return err
		}
		if ok {
			if err := k.escalate(ctx, c, recorded, v, ""); err != nil {
				return err
			}
			if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAuditDrawn{TaskId: task.Id}); err != nil {
				return err
			}
			return k.compute.StartEscalation(ctx, task.Id)
		}
	}
	var paid []string
	for _, a := range recorded {
		switch {
		case a.Height == 0:
		case a.Verdict == v:
			acc, err := k.accountOf(a.Validator)
			if err != nil {
				return err
			}
			paid = append(paid, acc)
		case a.Verdict == opposite(v):
			if err := k.penalize(ctx, params, task.Id, memberOf(c, a.Validator), c.DrawnHeight, fmt.Sprintf("attested %s against the verdict on task %d", a.Verdict, task.Id)); err != nil {
				return err
			}
		}
	}
	return k.compute.ApplyVerdict(ctx, task.Id, computetypes.Settlement{
		Verdict: verdictOf(v), Paid: paid, MaxShare: params.MaxMemberFee,
	})
}

// settleEscalation ends an audit or a dispute with the escalation committee's verdict, which is
// final. A first-round member is paid only if it revealed the final verdict with the digest its
// challenge gives; it is slashed if it revealed the opposite verdict or a wrong digest (it did
// not do the check, whatever it said). Escalation members are paid or slashed as in a first
// round.
//
// If the escalation committee could not fetch the result, the provider did not serve what it
// must keep serving until the dispute window ends: the task ends FAILED as its miss (see
// x/compute), and first-round members with wrong digests are still slashed, since a digest
// needs only the inputs. If no escalation verdict was reached at all (undecided), the first
// verdict stands and nobody is slashed.
func (k Keeper) settleEscalation(ctx context.Context, params types.Params, c types.Committee, task computetypes.Task, v types.AttestedVerdict, recorded []types.RecordedAttestation) error {
	if err := k.countMisses(ctx, c, recorded); err != nil {
		return err
	}
	if v == types.ATTESTED_UNSPECIFIED {
		s := computetypes.Settlement{Verdict: verdictOf(c.FirstVerdict), MaxShare: params.MaxMemberFee, Final: true}
		if c.Disputer == "" {
			for _, m := range c.Prior {
				if m.Verdict == c.FirstVerdict {
					acc, err := k.accountOf(m.Validator)
					if err != nil {
						return err
					}
					s.Paid = append(s.Paid, acc)
				}
			}
		}
		return k.compute.ApplyVerdict(ctx, task.Id, s)
	}
	var winners []types.RecordedAttestation
	for _, a := range recorded {
		if a.Height != 0 && a.Verdict == v {
			winners = append(winners, a)
		}
	}
	s := computetypes.Settlement{Verdict: verdictOf(v), MaxShare: params.MaxMemberFee, Final: true}
	for i, m := range c.Prior {
		wrong := 0
		for _, w := range winners {
			if i < 64 && w.WrongDigests&(1<<uint(i)) != 0 {
				wrong++
			}
		}
		lazy := m.Verdict != types.ATTESTED_UNSPECIFIED && m.Verdict != types.ATTESTED_UNAVAILABLE && 2*wrong > len(winners)
		switch {
		case lazy:
			if err := k.penalize(ctx, params, task.Id, m, c.PriorDrawnHeight, fmt.Sprintf("revealed a digest on task %d that its challenge does not give", task.Id)); err != nil {
				return err
			}
		case v == types.ATTESTED_UNAVAILABLE:
			// nothing was judged: no pay, and no slash beyond a wrong digest
		case m.Verdict == opposite(v):
			if err := k.penalize(ctx, params, task.Id, m, c.PriorDrawnHeight, fmt.Sprintf("attested %s against the escalation verdict on task %d", m.Verdict, task.Id)); err != nil {
				return err
			}
		case m.Verdict == v && c.Disputer == "":
			// a disputed task's first round was paid when it was verified
			acc, err := k.accountOf(m.Validator)
			if err != nil {
				return err
			}
			s.Paid = append(s.Paid, acc)
		}
	}
	for _, a := range recorded {
		switch {
		case a.Height == 0:
		case a.Verdict == v:
			acc, err := k.accountOf(a.Validator)
			if err != nil {
				return err
			}
			// a failed dispute pays its escalation committee from the bond, not the fee again
			if c.Disputer == "" || v != types.ATTESTED_VALID {
				s.Paid = append(s.Paid, acc)
			}
			s.Escalation = append(s.Escalation, acc)
		case a.Verdict == opposite(v):
			if err := k.penalize(ctx, params, task.Id, memberOf(c, a.Validator), c.DrawnHeight, fmt.Sprintf("attested %s against the verdict on task %d", a.Verdict, task.Id)); err != nil {
				return err
			}
		}
	}
	if v == types.ATTESTED_UNAVAILABLE {
		s.Paid, s.Escalation = nil, nil // no check was made
	}
	return k.compute.ApplyVerdict(ctx, task.Id, s)
}

// memberOf is val's entry on the committee (its power when drawn).
func memberOf(c types.Committee, val string) types.Member {
	if i := memberIndex(c.Members, val); i >= 0 {
		return c.Members[i]
	}
	return types.Member{Validator: val}
}

func verdictOf(v types.AttestedVerdict) computetypes.Verdict {
	switch v {
	case types.ATTESTED_VALID:
		return computetypes.VERDICT_VALID
	case types.ATTESTED_INVALID:
		return computetypes.VERDICT_INVALID
	case types.ATTESTED_UNAVAILABLE:
		return computetypes.VERDICT_RESULT_UNAVAILABLE
	case types.ATTESTED_INPUT_UNAVAILABLE:
		return computetypes.VERDICT_INPUT_UNAVAILABLE
	}
	return computetypes.VERDICT_UNSPECIFIED
}

// Escalate turns a task's verified first round into a pending dispute round; x/compute draws
// the escalation committee in the next block. disputer is the creator's account.
func (k Keeper) Escalate(ctx context.Context, taskID uint64, disputer string) error {
	c, err := k.Committees.Get(ctx, taskID)
	if err != nil {
		return errorsmod.Wrapf(types.ErrNoCommittee, "task %d: %v", taskID, err)
	}
	if c.Round != 1 {
		return errorsmod.Wrapf(types.ErrNoCommittee, "task %d is already in round %d", taskID, c.Round)
	}
	recorded, err := k.attestationsOf(ctx, taskID)
	if err != nil {
		return err
	}
	return k.escalate(ctx, c, recorded, types.ATTESTED_VALID, disputer)
}

// escalate keeps what the first round revealed and leaves a round-2 committee to be drawn.
func (k Keeper) escalate(ctx context.Context, c types.Committee, recorded []types.RecordedAttestation, first types.AttestedVerdict, disputer string) error {
	byVal := map[string]types.RecordedAttestation{}
	for _, a := range recorded {
		byVal[a.Validator] = a
	}
	prior := make([]types.Member, len(c.Members))
	for i, m := range c.Members {
		prior[i] = m
		if a, ok := byVal[m.Validator]; ok && a.Height != 0 {
			prior[i].Verdict, prior[i].Digest = a.Verdict, a.Digest
		}
	}
	if err := k.clearRound(ctx, c.TaskId); err != nil {
		return err
	}
	return k.Committees.Set(ctx, c.TaskId, types.Committee{
		TaskId: c.TaskId, Round: 2, Prior: prior, Disputer: disputer, FirstVerdict: first, PriorSeed: c.Seed, PriorDrawnHeight: c.DrawnHeight,
	})
}

// penalize slashes verifier_slash_fraction of a member's validator stake through x/staking and
// benches it. The infraction is at the height its committee was drawn, with the power it had
// then, so stake unbonded or redelegated since is slashed too: unbonding does not escape it.
func (k Keeper) penalize(ctx context.Context, params types.Params, taskID uint64, m types.Member, drawnHeight int64, reason string) error {
	valStr := m.Validator
	val, err := k.valCodec.StringToBytes(valStr)
	if err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.updateVerifier(ctx, valStr, func(v *types.Verifier) { v.BenchedUntil = max(v.BenchedUntil, h+int64(params.BenchBlocks)) }); err != nil {
		return err
	}
	validator, err := k.staking.GetValidator(ctx, val)
	if errors.Is(err, stakingtypes.ErrNoValidatorFound) {
		return nil // gone: nothing left to slash
	}
	if err != nil {
		return err
	}
	if validator.IsUnbonded() {
		return nil
	}
	consAddr, err := validator.GetConsAddr()
	if err != nil {
		return err
	}
	power := m.Power
	if power <= 0 {
		power = validator.ConsensusPower(k.staking.PowerReduction(ctx))
	}
	amount, err := k.staking.Slash(ctx, consAddr, min(drawnHeight, h), power, params.VerifierSlashFraction)
	k.eligible.forget() // its stake may be under min_verifier_stake now
	if err != nil {
		return errorsmod.Wrapf(err, "slash verifier %s", valStr)
	}
	if amount.IsNil() {
		amount = math.ZeroInt()
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventVerifierSlashed{
		TaskId: taskID, Validator: valStr, Amount: amount, Reason: reason,
	})
}

// ResolveUndecided ends an escalation that reached no verdict in its window, or for which no
// committee could be drawn: the first verdict stands and nobody is slashed.
func (k Keeper) ResolveUndecided(ctx context.Context, taskID uint64) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	c, err := k.Committees.Get(ctx, taskID)
	if err != nil {
		return errorsmod.Wrapf(types.ErrNoCommittee, "task %d: %v", taskID, err)
	}
	task, err := k.compute.GetTask(ctx, taskID)
	if err != nil {
		return err
	}
	recorded, err := k.attestationsOf(ctx, taskID)
	if err != nil {
		return err
	}
	return k.settleEscalation(ctx, params, c, task, types.ATTESTED_UNSPECIFIED, recorded)
}

// parties are the accounts of a task's creator and provider, whose validators never judge it.
func (k Keeper) parties(task computetypes.Task) ([]sdk.AccAddress, error) {
	var out []sdk.AccAddress
	for _, a := range []string{task.Creator, task.Provider} {
		if a == "" {
			continue
		}
		bz, err := k.addressCodec.StringToBytes(a)
		if err != nil {
			return nil, err
		}
		out = append(out, bz)
	}
	return out, nil
}
