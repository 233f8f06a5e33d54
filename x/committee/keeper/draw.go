package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
	"slices"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// drawSeed is the randomness of a draw in the current block: sha256 over this block's hash and
// the app hash of the block before, the task and the round. The compute module draws a
// committee in the block after a result (or a dispute) is submitted, so nobody who could still
// back out knew it; see docs/verification.md for what a block proposer can and cannot do to it.
func drawSeed(ctx context.Context, taskID uint64, round uint32, purpose string) []byte {
	info := sdk.UnwrapSDKContext(ctx).HeaderInfo()
	h := sha256.New()
	h.Write([]byte("ogpu/" + purpose + "/v1"))
	h.Write(info.Hash)
	h.Write(info.AppHash)
	h.Write(binary.BigEndian.AppendUint64(nil, taskID))
	h.Write(binary.BigEndian.AppendUint32(nil, round))
	return h.Sum(nil)
}

// DrawCommittee draws the committee of a task from the current block's randomness: round 1
// after its result or input report, round 2 (escalation: audit or dispute) when Escalate left
// a pending round. Members are drawn stake-weighted without replacement among the eligible
// verifiers, never the validators operated by the task's parties (exclude) nor, in round 2,
// the first round's members. It returns the members' validator addresses (none when nobody is
// eligible).
func (k Keeper) DrawCommittee(ctx context.Context, taskID uint64, exclude []sdk.AccAddress) ([]string, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	c, err := k.Committees.Get(ctx, taskID)
	switch {
	case errors.Is(err, collections.ErrNotFound):
		c = types.Committee{TaskId: taskID, Round: 1}
	case err != nil:
		return nil, err
	case c.Round != 2 || len(c.Members) != 0:
		// a round-1 committee left over from an earlier submission (reassigned task)
		if err := k.clearRound(ctx, taskID); err != nil {
			return nil, err
		}
		c = types.Committee{TaskId: taskID, Round: 1}
	}
	size := int(params.CommitteeSize)
	if c.Round == 2 {
		size = params.EscalationSize()
	}
	pool, err := k.eligibleVerifiers(ctx, exclude, c.Prior)
	if err != nil {
		return nil, err
	}
	c.Seed = drawSeed(ctx, taskID, c.Round, "draw")
	c.DrawnHeight = sdk.UnwrapSDKContext(ctx).BlockHeight()
	var resultSize uint64 // none for an input report
	if task, err := k.compute.GetTask(ctx, taskID); err == nil {
		resultSize = task.Result.Size_
	} else if !errors.Is(err, computetypes.ErrTaskNotFound) {
		return nil, err
	}
	c.CommitEnd = c.DrawnHeight + params.CommitPhase(resultSize)
	c.RevealHeight = 0
	c.Members = nil
	for i := 0; i < size && len(pool) > 0; i++ {
		var total int64
		for _, e := range pool {
			total += e.power
		}
		r := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte(nil), c.Seed...), uint64(i)))
		pick := new(big.Int).Mod(new(big.Int).SetBytes(r[:]), big.NewInt(total)).Int64()
		j := 0
		for ; pick >= pool[j].power; j++ {
			pick -= pool[j].power
		}
		c.Members = append(c.Members, types.Member{Validator: pool[j].str, Power: pool[j].power})
		pool = append(pool[:j], pool[j+1:]...)
	}
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Validator
	}
	if len(out) == 0 {
		return nil, k.Committees.Remove(ctx, taskID)
	}
	if err := k.Committees.Set(ctx, taskID, c); err != nil {
		return nil, err
	}
	return out, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventCommitteeDrawn{TaskId: taskID, Round: c.Round, Members: out})
}

// CanEscalate reports whether an escalation committee could be drawn for the task now: some
// eligible verifier is neither a party nor on its first committee.
func (k Keeper) CanEscalate(ctx context.Context, taskID uint64, exclude []sdk.AccAddress) (bool, error) {
	c, err := k.Committees.Get(ctx, taskID)
	if err != nil {
		return false, err
	}
	pool, err := k.eligibleVerifiers(ctx, exclude, c.Members)
	return len(pool) > 0, err
}

// audited decides, from the randomness of the verdict's block, whether a first-round verdict
// goes to an escalation committee.
func audited(ctx context.Context, taskID uint64, p math.LegacyDec) bool {
	r := drawSeed(ctx, taskID, 1, "audit")
	// a uniform draw in [0, 10^18) against p·10^18
	x := new(big.Int).Mod(new(big.Int).SetBytes(r), math.LegacyOneDec().BigInt())
	return x.Cmp(p.BigInt()) < 0
}

// memberIndex is val's place among members, or -1.
func memberIndex(members []types.Member, val string) int {
	return slices.IndexFunc(members, func(m types.Member) bool { return m.Validator == val })
}
