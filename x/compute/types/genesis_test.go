package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

func TestGenesisStreamsValidate(t *testing.T) {
	addr := sdk.AccAddress(make([]byte, 20)).String()
	stream := func() types.Stream {
		return types.Stream{
			Id: 1, Creator: addr, State: types.STREAM_STATE_LIVE, Replicas: 2,
			Budget: math.NewInt(100), Escrow: math.NewInt(112), CommitteeFee: math.NewInt(2), SecurityDeposit: math.NewInt(10),
			Claimed: math.ZeroInt(), Refunded: math.ZeroInt(), SlotClaimed: []math.Int{math.ZeroInt(), math.ZeroInt()},
			Serving: []types.Replica{{Provider: addr, Slot: 1}},
		}
	}
	valid := func() *types.GenesisState {
		gs := types.DefaultGenesis()
		gs.Streams = []types.Stream{stream()}
		gs.NextStreamId = 2
		gs.Claims = []types.StreamClaim{{StreamId: 1, Provider: addr, Slot: 1, Claimed: math.ZeroInt()}}
		gs.Commitments = []types.ReceiptCommitment{{StreamId: 1, Provider: addr, ClaimedInPeriod: math.ZeroInt()}}
		return gs
	}
	require.NoError(t, types.DefaultGenesis().Validate())
	require.NoError(t, valid().Validate())
	tests := []struct {
		name   string
		edit   func(gs *types.GenesisState)
		detail string
	}{
		{"id past the sequence", func(gs *types.GenesisState) { gs.NextStreamId = 1 }, "streams[0].id 1: must be in [1, next_stream_id)"},
		{"twice", func(gs *types.GenesisState) { gs.Streams = append(gs.Streams, stream()) }, "listed twice"},
		{"no state", func(gs *types.GenesisState) { gs.Streams[0].State = 0 }, "streams[0].state 0"},
		{"negative escrow", func(gs *types.GenesisState) { gs.Streams[0].Escrow = math.NewInt(-1) }, "streams[0].escrow"},
		{"slot records", func(gs *types.GenesisState) { gs.Streams[0].SlotClaimed = nil }, "streams[0].slot_claimed"},
		{"replica slot", func(gs *types.GenesisState) { gs.Streams[0].Serving[0].Slot = 2 }, "serving[0].slot 2"},
		{"settled with escrow", func(gs *types.GenesisState) { gs.Streams[0].Settled = true }, "0 once settled"},
		{"claim of no stream", func(gs *types.GenesisState) { gs.Claims[0].StreamId = 5 }, "claims[0].stream_id 5"},
		{"claim slot", func(gs *types.GenesisState) { gs.Claims[0].Slot = 2 }, "claims[0].slot 2"},
		{"commitment of no stream", func(gs *types.GenesisState) { gs.Commitments[0].StreamId = 5 }, "commitments[0].stream_id 5"},
		{"subscription of no stream", func(gs *types.GenesisState) {
			gs.Subscriptions = []types.StreamSubscription{{StreamId: 5, Subscription: types.Subscription{Provider: addr}}}
		}, "subscriptions[0].stream_id 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs := valid()
			tc.edit(gs)
			err := gs.Validate()
			require.ErrorIs(t, err, types.ErrInvalidGenesis)
			require.ErrorContains(t, err, tc.detail)
		})
	}
}
