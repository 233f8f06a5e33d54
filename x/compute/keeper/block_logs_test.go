package keeper_test

import (
	"strings"
	"testing"

	"github.com/cosmos/cosmos-sdk/codec/address"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/x/compute/precompile"
)

// TestHookEventsBecomeLogsOfTheirCreator: the events the keeper emits in its block hooks for a
// task (assigned, expired) and a stream (live, paused, ended, settled) name the creator, so the
// precompile's block logs index each under the address that created it, whoever that was.
func TestHookEventsBecomeLogsOfTheirCreator(t *testing.T) {
	f := newFixture(t)
	sf := newStreamFixture(f)
	f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())

	f.assigned(ogpu(1))               // a bid window closing with a bid: TaskAssigned
	expired := f.create(f.gemmTask()) // one closing with none: TaskFailed (EXPIRED)
	f.untilHeight(f.task(expired).BidWindowEnd + 1)
	stream := sf.live() // StreamLive
	params, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	// its replicas commit nothing, so each is dropped at its first deadline (ReplicaReplaced)
	// until none is left and the stream ends (StreamEnded), then settles (StreamSettled)
	f.untilHeight(sf.stream(stream).EndHeight + 2*int64(params.Stream.RevealWindow) + 2)
	require.True(t, sf.stream(stream).Settled)

	logs, err := precompile.BlockLogs(f.ctx.EventManager().ABCIEvents(), address.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix()))
	require.NoError(t, err)
	taskCreator := common.BytesToHash(sdk.MustAccAddressFromBech32(f.gemmTask().Creator).Bytes())
	streamCreator := common.BytesToHash(sf.client.Bytes())
	var names []string
	for _, l := range logs {
		ev, err := precompile.ABI.EventByID(l.Topics[0])
		require.NoError(t, err)
		names = append(names, ev.Name)
		want := streamCreator
		if strings.HasPrefix(ev.Name, "Task") {
			want = taskCreator
		}
		require.Equal(t, want, l.Topics[2], "the creator topic of %s", ev.Name)
	}
	t.Logf("logs: %v", names)
	for _, name := range []string{
		precompile.TaskAssignedEvent, precompile.TaskFailedEvent, precompile.StreamLiveEvent,
		precompile.ReplicaReplacedEvent, precompile.StreamEndedEvent, precompile.StreamSettledEvent,
	} {
		require.Contains(t, names, name)
	}
}
