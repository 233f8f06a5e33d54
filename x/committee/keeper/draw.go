package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/big"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
)

// DrawCommittee draws committee_size verifiers for a task by stake-weighted sampling without
// replacement, never the validator operated by the task's provider. The randomness is
// sha256(previous block's app hash ‖ task id ‖ draw index): known to every validator, and not
// chosen by the block's proposer. It returns the members' validator addresses.
func (k Keeper) DrawCommittee(ctx context.Context, taskID uint64, provider sdk.AccAddress) ([]string, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := k.eligibleVerifiers(ctx, provider)
	if err != nil {
		return nil, err
	}
	seed := sha256.New()
	seed.Write(sdk.UnwrapSDKContext(ctx).HeaderInfo().AppHash)
	seed.Write(binary.BigEndian.AppendUint64(nil, taskID))
	base := seed.Sum(nil)

	var members []types.Member
	for i := 0; i < int(params.CommitteeSize) && len(pool) > 0; i++ {
		var total int64
		for _, e := range pool {
			total += e.power
		}
		r := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte(nil), base...), uint64(i)))
		pick := new(big.Int).Mod(new(big.Int).SetBytes(r[:]), big.NewInt(total)).Int64()
		j := 0
		for ; pick >= pool[j].power; j++ {
			pick -= pool[j].power
		}
		members = append(members, types.Member{Validator: pool[j].str, Power: pool[j].power})
		pool = append(pool[:j], pool[j+1:]...)
	}
	// a redrawn task (after a timeout) has no attestations to clear: they are recorded only
	// once a result is submitted, and a task with a result is never redrawn
	if err := k.Committees.Set(ctx, taskID, types.Committee{
		TaskId: taskID, Members: members, DrawnHeight: sdk.UnwrapSDKContext(ctx).BlockHeight(),
	}); err != nil {
		return nil, err
	}
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.Validator
	}
	return out, nil
}
