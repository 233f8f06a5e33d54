package keeper

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"slices"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/internal/collx"
)

// RecordAttestation stores a vote-extension attestation of validator val. It returns false,
// and stores nothing, for an attestation it must ignore: the task has no committee or val is not
// on it, val already attested, the task is not waiting for a verdict, the attestation is about
// another result than the one submitted, or its verdict is unknown.
func (k Keeper) RecordAttestation(ctx context.Context, val sdk.ValAddress, a types.Attestation) (bool, error) {
	if !a.Verdict.Valid() {
		return false, nil
	}
	c, err := k.Committees.Get(ctx, a.TaskId)
	if errors.Is(err, collections.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	valStr, err := k.valCodec.BytesToString(val)
	if err != nil {
		return false, nil
	}
	if !slices.ContainsFunc(c.Members, func(m types.Member) bool { return m.Validator == valStr }) {
		return false, nil
	}
	key := collections.Join(a.TaskId, val)
	if has, err := k.Attestations.Has(ctx, key); err != nil || has {
		return false, err
	}
	task, err := k.compute.GetTask(ctx, a.TaskId)
	if err != nil || task.State != computetypes.TASK_STATE_SUBMITTED {
		return false, nil
	}
	if task.InputUnavailable {
		if len(a.ResultSha256) != 0 {
			return false, nil
		}
	} else {
		want, err := hex.DecodeString(task.Result.Sha256)
		if err != nil || !bytes.Equal(want, a.ResultSha256) {
			return false, nil
		}
	}
	return true, k.Attestations.Set(ctx, key, types.RecordedAttestation{
		TaskId: a.TaskId, Validator: valStr, Verdict: a.Verdict, Height: sdk.UnwrapSDKContext(ctx).BlockHeight(),
	})
}

// side groups the attested verdicts into the three outcomes a committee can reach.
func side(v types.AttestedVerdict) computetypes.Verdict {
	switch v {
	case types.ATTESTED_VALID:
		return computetypes.VERDICT_VALID
	case types.ATTESTED_INVALID, types.ATTESTED_UNAVAILABLE:
		return computetypes.VERDICT_INVALID
	case types.ATTESTED_INPUT_UNAVAILABLE:
		return computetypes.VERDICT_INPUT_UNAVAILABLE
	}
	return computetypes.VERDICT_UNSPECIFIED
}

// Tally reaches a verdict on the task once one side holds at least quorum of the committee's
// power, hands it to x/compute with the winning side's members as attesters, and benches the
// members that attested against it. It does nothing while no side has the quorum.
func (k Keeper) Tally(ctx context.Context, taskID uint64) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	c, err := k.Committees.Get(ctx, taskID)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	power := map[string]int64{}
	var total int64
	for _, m := range c.Members {
		power[m.Validator] = m.Power
		total += m.Power
	}
	recorded, err := k.attestationsOf(ctx, taskID)
	if err != nil {
		return err
	}
	bySide := map[computetypes.Verdict]int64{}
	for _, a := range recorded {
		bySide[side(a.Verdict)] += power[a.Validator]
	}
	need := params.Quorum.MulInt64(total)
	verdict := computetypes.VERDICT_UNSPECIFIED
	for _, v := range []computetypes.Verdict{computetypes.VERDICT_VALID, computetypes.VERDICT_INVALID, computetypes.VERDICT_INPUT_UNAVAILABLE} {
		if total > 0 && math.LegacyNewDec(bySide[v]).GTE(need) {
			verdict = v
			break
		}
	}
	if verdict == computetypes.VERDICT_UNSPECIFIED {
		return nil
	}
	var attesters []computetypes.Attester
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	for _, a := range recorded {
		if side(a.Verdict) == verdict {
			acc, err := k.accountOf(a.Validator)
			if err != nil {
				return err
			}
			attesters = append(attesters, computetypes.Attester{Operator: acc, Power: power[a.Validator]})
			continue
		}
		if err := k.updateVerifier(ctx, a.Validator, func(v *types.Verifier) { v.BenchedUntil = h + int64(params.BenchBlocks) }); err != nil {
			return err
		}
	}
	// compute ends the task, and its end calls TaskClosed, which clears the committee
	return k.compute.ApplyVerdict(ctx, taskID, verdict, attesters)
}

// TaskClosed is called by x/compute when a task ends. Members that did not attest count a miss
// (and are benched after max_missed in a row); those that did start over. The committee and its
// attestations are removed.
func (k Keeper) TaskClosed(ctx context.Context, taskID uint64) error {
	c, err := k.Committees.Get(ctx, taskID)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	recorded, err := k.attestationsOf(ctx, taskID)
	if err != nil {
		return err
	}
	attested := map[string]bool{}
	for _, a := range recorded {
		attested[a.Validator] = true
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	task, err := k.compute.GetTask(ctx, taskID)
	counts := err == nil && task.SubmittedHeight > 0 // only a result or report could be attested
	for _, m := range c.Members {
		err := k.updateVerifier(ctx, m.Validator, func(v *types.Verifier) {
			switch {
			case attested[m.Validator]:
				v.Missed = 0
			case counts:
				v.Missed++
				if v.Missed >= params.MaxMissed {
					v.BenchedUntil = max(v.BenchedUntil, h+int64(params.BenchBlocks))
					v.Missed = 0
				}
			}
		})
		if err != nil {
			return err
		}
	}
	if err := collx.Clear(ctx, k.Attestations, collections.NewPrefixedPairRange[uint64, sdk.ValAddress](taskID)); err != nil {
		return err
	}
	return k.Committees.Remove(ctx, taskID)
}

func (k Keeper) attestationsOf(ctx context.Context, taskID uint64) ([]types.RecordedAttestation, error) {
	var out []types.RecordedAttestation
	err := k.Attestations.Walk(ctx, collections.NewPrefixedPairRange[uint64, sdk.ValAddress](taskID),
		func(_ collections.Pair[uint64, sdk.ValAddress], a types.RecordedAttestation) (bool, error) {
			out = append(out, a)
			return false, nil
		})
	return out, err
}

// updateVerifier edits a registered verifier; a deregistered one is left alone.
func (k Keeper) updateVerifier(ctx context.Context, valStr string, edit func(*types.Verifier)) error {
	val, err := k.valCodec.StringToBytes(valStr)
	if err != nil {
		return err
	}
	v, ok, err := k.getVerifier(ctx, val)
	if err != nil || !ok {
		return err
	}
	edit(&v)
	return k.Verifiers.Set(ctx, val, v)
}

// accountOf is the operator account of a validator: the same bytes, the account prefix.
func (k Keeper) accountOf(valStr string) (string, error) {
	val, err := k.valCodec.StringToBytes(valStr)
	if err != nil {
		return "", err
	}
	return k.addressCodec.BytesToString(val)
}
