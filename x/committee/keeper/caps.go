package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
)

// The extensions voted at height H are verified (VerifyVoteExtension) against the state of block
// H-1 and ride in block H+1, whose ProcessProposal and PreBlocker run on the state of block H.
// When a params update in block H lowers a cap, those extensions may break the new one; holding
// them to it would reject every proposal at H+1 and halt the chain. So block H+1 applies the
// larger of the caps of block H and those of block H-1, kept in PreviousCaps by the update.

// VoteExtensionCaps are the caps ExtendVote and VerifyVoteExtension apply to the extensions voted
// now: those in force in the last committed block. Unreadable params give the defaults.
func (k Keeper) VoteExtensionCaps(ctx sdk.Context) (maxCount, maxBytes int) {
	p, err := k.Params.Get(ctx)
	if err != nil {
		p = types.DefaultParams()
	}
	return int(p.MaxAttestationsPerVote), int(p.MaxVoteExtensionBytes)
}

// InjectedExtensionCaps are the caps ProcessProposal and the PreBlocker apply to the extensions
// the block at ctx's height carries, which were voted at the height before: the caps in force
// now, or those in force before a params update in the previous block changed them, whichever
// are larger.
func (k Keeper) InjectedExtensionCaps(ctx sdk.Context) (maxCount, maxBytes int) {
	maxCount, maxBytes = k.VoteExtensionCaps(ctx)
	prev, err := k.PreviousCaps.Get(ctx)
	if err != nil || prev.Height != ctx.BlockHeight()-1 {
		return maxCount, maxBytes
	}
	return max(maxCount, int(prev.MaxAttestationsPerVote)), max(maxBytes, int(prev.MaxVoteExtensionBytes))
}

// keepPreviousCaps records the caps in force before a params update in this block changes them.
// A second update in the same block keeps the first one's record: the caps in force at the end
// of the previous block are the ones this block's votes were verified against.
func (k Keeper) keepPreviousCaps(ctx context.Context, next types.Params) error {
	cur, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if cur.MaxAttestationsPerVote == next.MaxAttestationsPerVote && cur.MaxVoteExtensionBytes == next.MaxVoteExtensionBytes {
		return nil
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	prev, err := k.PreviousCaps.Get(ctx)
	switch {
	case err == nil && prev.Height == h:
		return nil
	case err != nil && !errors.Is(err, collections.ErrNotFound):
		return err
	}
	return k.PreviousCaps.Set(ctx, types.PreviousExtensionCaps{
		Height: h, MaxAttestationsPerVote: cur.MaxAttestationsPerVote, MaxVoteExtensionBytes: cur.MaxVoteExtensionBytes,
	})
}
