package abci_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	abci "github.com/cometbft/cometbft/abci/types"

	"cosmossdk.io/log/v2"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	"github.com/opengpu/ogpu/x/committee"
	committeekeeper "github.com/opengpu/ogpu/x/committee/keeper"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// TestLoweredCapsDoNotHalt: governance lowers the vote extension caps in block 2, whose votes
// were checked against the caps of block 1. Block 3 carries those votes, honestly signed and
// valid when they were made: its ProcessProposal must accept them (refused, every proposal at
// height 3 would be, and the chain would halt), and its PreBlocker must record them. From the
// votes of height 3 on, the lowered caps hold.
func TestLoweredCapsDoNotHalt(t *testing.T) {
	n := newNetwork(t)
	key := storetypes.NewKVStoreKey(committeetypes.StoreKey)
	store := testutil.DefaultContext(key, storetypes.NewTransientStoreKey("t")).MultiStore()
	enc := moduletestutil.MakeTestEncodingConfig(committee.AppModule{})
	authority := authtypes.NewModuleAddress("gov").String()
	k := committeekeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(key), addresscodec.NewBech32Codec("cosmos"),
		addresscodec.NewBech32Codec("cosmosvaloper"), authority, nil)
	old := committeetypes.DefaultParams()
	old.MaxAttestationsPerVote, old.MaxVoteExtensionBytes = 8, 1024
	at := func(height int64, eci abci.ExtendedCommitInfo) sdk.Context {
		return n.ctx(height, eci).WithMultiStore(store).WithGasMeter(storetypes.NewInfiniteGasMeter())
	}
	require.NoError(t, k.Params.Set(at(1, abci.ExtendedCommitInfo{}), old))

	var six, two []committeetypes.Attestation
	for i := range 6 {
		six = append(six, attestation(uint64(i+1), committeetypes.ATTESTED_VALID))
	}
	two = six[:2]
	big, small := extension(t, six...), extension(t, two...)
	lowered := old
	lowered.MaxAttestationsPerVote, lowered.MaxVoteExtensionBytes = 2, 160
	require.Greater(t, len(big), int(lowered.MaxVoteExtensionBytes))
	require.LessOrEqual(t, len(small), int(lowered.MaxVoteExtensionBytes))

	votes := ogpuabci.NewVoteExtensionHandler(nil, k.VoteExtensionCaps, log.NewNopLogger())
	verify := func(ctx sdk.Context, ext []byte) abci.ResponseVerifyVoteExtension_VerifyStatus {
		res, err := votes.VerifyVoteExtension()(ctx, &abci.RequestVerifyVoteExtension{Height: ctx.BlockHeight(), VoteExtension: ext})
		require.NoError(t, err)
		return res.Status
	}
	process := func(ctx sdk.Context, limits ogpuabci.Limits, eci abci.ExtendedCommitInfo) abci.ResponseProcessProposal_ProposalStatus {
		injected, err := ogpuabci.EncodeInjected(eci)
		require.NoError(t, err)
		h := ogpuabci.NewProposalHandler(nil, acceptAll, n, limits, log.NewNopLogger())
		res, err := h.ProcessProposal()(ctx, &abci.RequestProcessProposal{Height: ctx.BlockHeight(), Txs: [][]byte{injected, []byte("tx")}})
		require.NoError(t, err)
		return res.Status
	}

	// height 2: the validators vote on the state of block 1, then block 2 lowers the caps
	eci2 := n.commit(2, [][]byte{big, big, big, big})
	require.Equal(t, abci.ResponseVerifyVoteExtension_ACCEPT, verify(at(2, eci2), big))
	_, err := committeekeeper.NewMsgServer(k).UpdateParams(at(2, eci2), &committeetypes.MsgUpdateParams{Authority: authority, Params: lowered})
	require.NoError(t, err)

	// block 3 carries the votes of height 2
	at3 := at(3, eci2)
	require.Equal(t, abci.ResponseProcessProposal_ACCEPT, process(at3, k.InjectedExtensionCaps, eci2))
	require.Equal(t, abci.ResponseProcessProposal_REJECT, process(at3, k.VoteExtensionCaps, eci2),
		"held to block 2's caps alone, every proposal at height 3 is refused")
	injected, err := ogpuabci.EncodeInjected(eci2)
	require.NoError(t, err)
	r := &recorder{}
	ogpuabci.NewAttestationRecorder(r, n, stringCodec{}, k.InjectedExtensionCaps, log.NewNopLogger()).
		PreBlock(at3, &abci.RequestFinalizeBlock{Height: 3, Txs: [][]byte{injected}})
	require.Len(t, r.recorded, 4*6, "every attestation of every vote is recorded")

	// the votes of height 3 are made on the state of block 2: the lowered caps hold for them,
	// and for block 4, which carries them
	require.Equal(t, abci.ResponseVerifyVoteExtension_REJECT, verify(at3, big))
	require.Equal(t, abci.ResponseVerifyVoteExtension_ACCEPT, verify(at3, small))
	forged := n.commit(3, [][]byte{big, big, big, big})
	require.Equal(t, abci.ResponseProcessProposal_REJECT, process(at(4, forged), k.InjectedExtensionCaps, forged),
		"the caps of block 1 do not outlive block 3")
	eci3 := n.commit(3, [][]byte{small, small, small, nil})
	require.Equal(t, abci.ResponseProcessProposal_ACCEPT, process(at(4, eci3), k.InjectedExtensionCaps, eci3))
}
