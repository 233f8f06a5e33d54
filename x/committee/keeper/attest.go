package keeper

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/internal/collx"
)

// RecordAttestation stores a member's commitment or reveal from a vote extension. It returns
// false, and stores nothing, for what it must ignore:
//   - anything from a validator not on the task's committee, or for a task not waiting for a
//     verdict;
//   - a commitment that is not 32 bytes, a second commitment, or one after commitments closed;
//   - a reveal without a commitment recorded in an earlier block by the same member, a second
//     reveal, a reveal before reveals open, a verdict the task cannot have, or a reveal that does
//     not open the member's commitment (another member's, another salt, another verdict).
func (k Keeper) RecordAttestation(ctx context.Context, val sdk.ValAddress, a types.Attestation) (bool, error) {
	c, err := k.Committees.Get(ctx, a.TaskId)
	if errors.Is(err, collections.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	valStr, err := k.valCodec.BytesToString(val)
	if err != nil || memberIndex(c.Members, valStr) < 0 {
		return false, nil
	}
	task, err := k.compute.GetTask(ctx, a.TaskId)
	if err != nil || task.State != computetypes.TASK_STATE_SUBMITTED {
		return false, nil
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return false, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	key := collections.Join(a.TaskId, val)
	rec, err := k.Attestations.Get(ctx, key)
	found := err == nil
	if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return false, err
	}
	if a.IsCommit() {
		if len(a.Commitment) != 32 || found || !commitOpen(c, params, h) {
			return false, nil
		}
		rec = types.RecordedAttestation{TaskId: a.TaskId, Validator: valStr, Commitment: a.Commitment, CommittedHeight: h}
		if err := k.Attestations.Set(ctx, key, rec); err != nil {
			return false, err
		}
		return true, k.openRevealsWhenAllCommitted(ctx, c, h)
	}
	if !found || rec.Height != 0 || rec.CommittedHeight >= h || !revealOpen(c, params, h) || !verdictFits(task, c.Round, a.Verdict) {
		return false, nil
	}
	var result []byte
	if !task.InputUnavailable {
		if result, err = hex.DecodeString(task.Result.Sha256); err != nil {
			return false, nil
		}
	}
	want := types.Commitment(a.TaskId, c.Round, result, a.Verdict, a.Digest, a.WrongDigests, a.Salt, val)
	if !bytes.Equal(want, rec.Commitment) {
		return false, nil
	}
	rec.Verdict, rec.Digest, rec.WrongDigests, rec.Height = a.Verdict, a.Digest, a.WrongDigests, h
	return true, k.Attestations.Set(ctx, key, rec)
}

// commitOpen: commitments are taken until every member has committed or the committee's
// commit phase has passed since the draw, whichever is first; never once reveals are open.
func commitOpen(c types.Committee, p types.Params, h int64) bool {
	return c.RevealHeight == 0 && h <= commitEnd(c, p)
}

func revealOpen(c types.Committee, p types.Params, h int64) bool {
	return (c.RevealHeight != 0 && h >= c.RevealHeight) || h > commitEnd(c, p)
}

// commitEnd is the committee's last height for commitments: set at the draw from the result's
// size, or commit_blocks after the draw for a committee drawn before it was recorded.
func commitEnd(c types.Committee, p types.Params) int64 {
	if c.CommitEnd != 0 {
		return c.CommitEnd
	}
	return c.DrawnHeight + int64(p.CommitBlocks)
}

// verdictFits: a result is VALID, INVALID or UNAVAILABLE; an input-unavailable report is found
// false (VALID: the inputs were there) or confirmed (INPUT_UNAVAILABLE).
func verdictFits(task computetypes.Task, round uint32, v types.AttestedVerdict) bool {
	if task.InputUnavailable && round == 1 {
		return v == types.ATTESTED_VALID || v == types.ATTESTED_INPUT_UNAVAILABLE
	}
	return v == types.ATTESTED_VALID || v == types.ATTESTED_INVALID || v == types.ATTESTED_UNAVAILABLE
}

func (k Keeper) openRevealsWhenAllCommitted(ctx context.Context, c types.Committee, h int64) error {
	recorded, err := k.attestationsOf(ctx, c.TaskId)
	if err != nil || len(recorded) < len(c.Members) {
		return err
	}
	c.RevealHeight = h + 1
	if err := k.Committees.Set(ctx, c.TaskId, c); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRevealOpened{TaskId: c.TaskId, Round: c.Round, Height: c.RevealHeight})
}

// Tally reaches a verdict once one verdict holds the quorum of the committee's members (one
// member, one vote: ⌈quorum · members⌉ reveals) and settles it (settle.go). It does nothing
// while no verdict has the quorum.
func (k Keeper) Tally(ctx context.Context, taskID uint64) error {
	err := k.tally(ctx, taskID)
	if err != nil {
		// the caller drops the cache context this ran in, where the eligible pool may have been
		// walked after a bench
		k.eligible.forget()
	}
	return err
}

func (k Keeper) tally(ctx context.Context, taskID uint64) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	c, err := k.Committees.Get(ctx, taskID)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	}
	if err != nil || len(c.Members) == 0 {
		return err
	}
	task, err := k.compute.GetTask(ctx, taskID)
	if err != nil || task.State != computetypes.TASK_STATE_SUBMITTED {
		return err
	}
	recorded, err := k.attestationsOf(ctx, taskID)
	if err != nil {
		return err
	}
	votes := map[types.AttestedVerdict]int{}
	revealed := 0
	for _, a := range recorded {
		if a.Height != 0 {
			votes[a.Verdict]++
			revealed++
		}
	}
	need := params.QuorumOf(len(c.Members))
	for _, v := range []types.AttestedVerdict{types.ATTESTED_VALID, types.ATTESTED_INVALID, types.ATTESTED_UNAVAILABLE, types.ATTESTED_INPUT_UNAVAILABLE} {
		if votes[v] < need {
			continue
		}
		// members that committed get RevealGraceBlocks to reveal, so a slow honest member is
		// paid and a member on the losing side cannot dodge its slash by being late
		h := sdk.UnwrapSDKContext(ctx).BlockHeight()
		if due := revealStart(c, params) + RevealGraceBlocks; revealed < len(recorded) && h < due {
			return k.Tallies.Set(ctx, collections.Join(due, taskID))
		}
		return k.settle(ctx, params, c, task, v, recorded)
	}
	return nil
}

// RevealGraceBlocks is how long after reveals open a verdict that has its quorum waits for the
// reveals of the other members that committed. verify_window must leave room for commit_blocks
// and this grace.
const RevealGraceBlocks = 2

// revealStart is the first height at which reveals count.
func revealStart(c types.Committee, p types.Params) int64 {
	if c.RevealHeight != 0 {
		return c.RevealHeight
	}
	return commitEnd(c, p) + 1
}

// EndBlocker settles the verdicts whose reveal grace ended in this block. Each runs in its own
// cache: one task that cannot be settled is logged and does not stop the others.
func (k Keeper) EndBlocker(ctx context.Context) error {
	defer k.eligible.disarm() // the last draws and tallies of the block are done
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	it, err := k.Tallies.Iterate(ctx, collections.NewPrefixUntilPairRange[int64, uint64](sdkCtx.BlockHeight()))
	if err != nil {
		return err
	}
	due, err := it.Keys()
	if err != nil {
		return err
	}
	for _, key := range due {
		if err := k.Tallies.Remove(ctx, key); err != nil {
			return err
		}
		cacheCtx, write := sdkCtx.CacheContext()
		if err := k.Tally(cacheCtx, key.K2()); err != nil {
			sdkCtx.Logger().Error("committee: tally failed", "task", key.K2(), "err", err)
			continue
		}
		write()
	}
	return nil
}

// TaskClosed is called by x/compute when a task ends: the committee and its attestations go.
// A task that expired without a verdict counts a miss for the members that did not reveal when
// most of those that did had fetched the result (VALID or INVALID), so an unreachable result
// never benches anyone.
func (k Keeper) TaskClosed(ctx context.Context, taskID uint64) error {
	c, err := k.Committees.Get(ctx, taskID)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	task, err := k.compute.GetTask(ctx, taskID)
	if err == nil && task.State == computetypes.TASK_STATE_EXPIRED && len(c.Members) > 0 {
		recorded, err := k.attestationsOf(ctx, taskID)
		if err != nil {
			return err
		}
		fetched, revealed := 0, 0
		for _, a := range recorded {
			if a.Height != 0 {
				revealed++
				if a.Verdict == types.ATTESTED_VALID || a.Verdict == types.ATTESTED_INVALID {
					fetched++
				}
			}
		}
		if !task.InputUnavailable && revealed > 0 && 2*fetched > revealed {
			if err := k.countMisses(ctx, c, recorded); err != nil {
				return err
			}
		}
	}
	return k.clearRound(ctx, taskID)
}

// clearRound removes a task's committee and its attestations.
func (k Keeper) clearRound(ctx context.Context, taskID uint64) error {
	if err := collx.Clear(ctx, k.Attestations, collections.NewPrefixedPairRange[uint64, sdk.ValAddress](taskID)); err != nil {
		return err
	}
	return k.Committees.Remove(ctx, taskID)
}

// countMisses: a member that did not reveal counts a miss and is benched after max_missed in a
// row; one that revealed starts over.
func (k Keeper) countMisses(ctx context.Context, c types.Committee, recorded []types.RecordedAttestation) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	revealed := map[string]bool{}
	for _, a := range recorded {
		revealed[a.Validator] = a.Height != 0
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	for _, m := range c.Members {
		err := k.updateVerifier(ctx, m.Validator, func(v *types.Verifier) {
			if revealed[m.Validator] {
				v.Missed = 0
				return
			}
			v.Missed++
			if v.Missed >= params.MaxMissed {
				v.BenchedUntil = max(v.BenchedUntil, h+int64(params.BenchBlocks))
				v.Missed = 0
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
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
	benched := v.BenchedUntil
	edit(&v)
	if v.BenchedUntil != benched {
		k.eligible.forget()
	}
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
