package keeper_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/core/header"
	"cosmossdk.io/math"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// addValidator gives x/staking a validator of tokens aogpu with the given status, named by a
// 20-byte address made from name, and registers it as a verifier.
func (f *fixture) addValidator(name string, tokens math.Int, status stakingtypes.BondStatus) sdk.ValAddress {
	f.t.Helper()
	val := sdk.ValAddress(fmt.Appendf(nil, "%-20s", name)[:20])
	pk, err := codectypes.NewAnyWithValue(ed25519.GenPrivKeyFromSecret(val).PubKey())
	require.NoError(f.t, err)
	f.staking.vals[string(val)] = stakingtypes.Validator{Status: status, Tokens: tokens, ConsensusPubkey: pk}
	require.NoError(f.t, f.k.RegisterVerifier(f.ctx, sdk.AccAddress(val)))
	return val
}

// drawGas draws a committee for task id in ctx and returns the gas it used.
func (f *fixture) drawGas(ctx sdk.Context, id uint64) uint64 {
	f.t.Helper()
	ctx = ctx.WithGasMeter(storetypes.NewInfiniteGasMeter())
	members, err := f.k.DrawCommittee(ctx, id, []sdk.AccAddress{f.client, f.provider})
	require.NoError(f.t, err)
	require.NotEmpty(f.t, members)
	return ctx.GasMeter().GasConsumed()
}

// endOfBlock is where x/compute's EndBlocker draws: the eligible-verifier cache serves it.
func (f *fixture) endOfBlock() {
	require.NoError(f.t, f.k.BeginBlocker(f.ctx))
}

// TestDrawWorkIsBoundedByTheBondedSet is the attack of registering verifier records in bulk:
// anyone can run a validator with 1 aogpu and register it as a verifier. With 10 bonded
// verifiers (and 2 bonded under min_verifier_stake), 5,000 such records must not make a draw do
// any more work: the draw walks x/staking's bonded set, never the verifier records. A second
// draw in the same block reuses the first one's eligible set.
func TestDrawWorkIsBoundedByTheBondedSet(t *testing.T) {
	gas := func(junk int) (first, second uint64) {
		f := newFixture(t) // 6 bonded verifiers
		for i := range 4 {
			f.addValidator(fmt.Sprintf("bonded-%d", i), ogpu(10_000), stakingtypes.Bonded)
		}
		for i := range 2 {
			f.addValidator(fmt.Sprintf("small-%d", i), ogpu(100), stakingtypes.Bonded)
		}
		for i := range junk {
			status := stakingtypes.Unbonded
			if i%2 == 1 {
				status = stakingtypes.Unbonding
			}
			f.addValidator(fmt.Sprintf("junk-%d", i), math.OneInt(), status)
		}
		f.nextBlock()
		f.endOfBlock()
		return f.drawGas(f.ctx, 1_001), f.drawGas(f.ctx, 1_002)
	}
	clean1, clean2 := gas(0)
	junk1, junk2 := gas(5_000)
	t.Logf("draw gas, 10 bonded verifiers: first %d, second in the same block %d", clean1, clean2)
	t.Logf("draw gas, 10 bonded verifiers and 5,000 junk records: first %d, second in the same block %d", junk1, junk2)
	require.Equal(t, clean1, junk1, "junk verifier records make the first draw of a block do more work")
	require.Equal(t, clean2, junk2, "junk verifier records make the second draw of a block do more work")
	require.Less(t, clean2, clean1, "the second draw in a block recomputes the eligible set")
}

// TestEligibleCache: the draws at the end of a block share one walk of the bonded set, and only
// they do; a bench or a slash in between is seen by the next draw.
func TestEligibleCache(t *testing.T) {
	f := newFixture(t)
	f.setParams(func(p *types.Params) { p.CommitteeSize = 10 }) // every eligible verifier sits
	f.endOfBlock()
	walk := f.drawGas(f.ctx, 101)
	cached := f.drawGas(f.ctx, 102)
	require.Less(t, cached, walk)

	// a transaction, CheckTx, a simulation, a proposal, another block at the same height, the
	// next block: each walks the bonded set itself
	for i, tc := range []struct {
		name string
		ctx  sdk.Context
	}{
		{"tx", f.ctx.WithTxBytes([]byte("tx"))},
		{"check tx", f.ctx.WithExecMode(sdk.ExecModeCheck)},
		{"simulate", f.ctx.WithExecMode(sdk.ExecModeSimulate)},
		{"process proposal", f.ctx.WithExecMode(sdk.ExecModeProcessProposal)},
		{"another block at the same height", f.ctx.WithHeaderInfo(header.Info{Height: f.ctx.BlockHeight(), Hash: []byte("another block")})},
		{"next block", f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1)},
	} {
		require.Equal(t, walk, f.drawGas(tc.ctx, 110+uint64(i)), tc.name)
	}
	require.Equal(t, cached, f.drawGas(f.ctx, 120), "none of them touched the block's cache")

	// a member that attests against the verdict is slashed and benched in the tally; a draw in
	// the same block after it must leave it out
	f.nextBlock()
	id := f.submitted()
	members := f.members(id)
	require.Len(t, members, 6)
	loser := members[0]
	reveals := map[string]types.Attestation{}
	for i, m := range members {
		v := types.ATTESTED_VALID
		if i == 0 {
			v = types.ATTESTED_INVALID
		}
		reveals[m.String()] = f.commit(m, id, v)
	}
	f.openReveals(id)
	for _, m := range members {
		require.True(t, f.record(m, reveals[m.String()]))
	}
	f.endOfBlock()
	before, err := f.k.DrawCommittee(f.ctx, 201, nil)
	require.NoError(t, err)
	require.Contains(t, before, loser.String())
	require.NoError(t, f.k.Tally(f.ctx, id))
	require.Equal(t, computetypes.TASK_STATE_VERIFIED, f.task(id).State)
	require.Greater(t, f.verifier(loser).BenchedUntil, f.ctx.BlockHeight())
	after, err := f.k.DrawCommittee(f.ctx, 202, nil)
	require.NoError(t, err)
	require.NotContains(t, after, loser.String(), "benched and slashed in this block")
	require.Len(t, after, 5)

	// a verifier that deregisters is not drawn either
	f.endOfBlock()
	_, err = f.k.DrawCommittee(f.ctx, 203, nil)
	require.NoError(t, err)
	require.NoError(t, f.k.DeregisterVerifier(f.ctx, sdk.AccAddress(members[1])))
	after, err = f.k.DrawCommittee(f.ctx, 204, nil)
	require.NoError(t, err)
	require.NotContains(t, after, members[1].String())
	require.Len(t, after, 4)
}
