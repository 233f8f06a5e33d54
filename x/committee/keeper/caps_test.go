package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	"github.com/opengpu/ogpu/x/committee/keeper"
	"github.com/opengpu/ogpu/x/committee/types"
)

// TestPreviousExtensionCaps: a block applies to the extensions it carries, voted a height
// before, the larger of its caps and those of the block before, so that a params update that
// lowers a cap never makes an extension that was valid when it was voted fail.
func TestPreviousExtensionCaps(t *testing.T) {
	f := newFixture(t)
	msgs := keeper.NewMsgServer(f.k)
	update := func(count, bytes uint32) {
		t.Helper()
		p, err := f.k.Params.Get(f.ctx)
		require.NoError(t, err)
		p.MaxAttestationsPerVote, p.MaxVoteExtensionBytes = count, bytes
		_, err = msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.k.Authority(), Params: p})
		require.NoError(t, err)
	}
	type caps struct{ votes, injected [2]int }
	at := func(h int64) caps {
		ctx := f.ctx.WithBlockHeight(h)
		var c caps
		c.votes[0], c.votes[1] = f.k.VoteExtensionCaps(ctx)
		c.injected[0], c.injected[1] = f.k.InjectedExtensionCaps(ctx)
		return c
	}
	h := f.ctx.BlockHeight()
	require.Equal(t, caps{votes: [2]int{256, 16384}, injected: [2]int{256, 16384}}, at(h+1))

	// an update that leaves the caps alone records nothing
	f.setParams(func(p *types.Params) { *p = types.DefaultParams() })
	update(256, 16384)
	_, err := f.k.PreviousCaps.Get(f.ctx)
	require.ErrorIs(t, err, collections.ErrNotFound)

	// lowered in block h, then lowered again in the same block: the votes from h+1 on are held
	// to the new caps, and so is every block from h+2; block h+1 carries the votes of h, made
	// under the caps in force before block h
	update(100, 4096)
	update(10, 1024)
	require.Equal(t, caps{votes: [2]int{10, 1024}, injected: [2]int{256, 16384}}, at(h+1))
	require.Equal(t, caps{votes: [2]int{10, 1024}, injected: [2]int{10, 1024}}, at(h+2))

	// the next block raises one cap and lowers the other: a raised cap applies at once, a lowered
	// one from the block after
	f.nextBlock()
	update(20, 512)
	require.Equal(t, caps{votes: [2]int{20, 512}, injected: [2]int{20, 1024}}, at(h+2))
	require.Equal(t, caps{votes: [2]int{20, 512}, injected: [2]int{20, 512}}, at(h+3))
}
