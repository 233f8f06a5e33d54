package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtrpctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cosmos/evm/rpc/backend"
	evmtypes "github.com/cosmos/evm/x/vm/types"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	"github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// blockEvent is the typed event as FinalizeBlock returns a block hook's: with the mode attribute.
func blockEvent(t *testing.T, msg interface{ ProtoMessage() }, mode string) abci.Event {
	ev, err := sdk.TypedEventToEvent(msg.(sdk.Msg))
	require.NoError(t, err)
	abciEv := abci.Event(ev)
	abciEv.Attributes = append(abciEv.Attributes, abci.EventAttribute{Key: "mode", Value: mode})
	return abciEv
}

// evmTxResult is the result of an EVM transaction that logged n times, as the EVM module writes it.
func evmTxResult(t *testing.T, n int) *abci.ExecTxResult {
	rsp := &evmtypes.MsgEthereumTxResponse{Hash: common.Hash{0xee}.Hex()}
	for i := 0; i < n; i++ {
		rsp.Logs = append(rsp.Logs, &evmtypes.Log{Address: common.Address{0x42}.Hex(), Topics: []string{common.Hash{0x01}.Hex()}, Index: uint64(i)})
	}
	a, err := codectypes.NewAnyWithValue(rsp)
	require.NoError(t, err)
	data, err := (&sdk.TxMsgData{MsgResponses: []*codectypes.Any{a}}).Marshal()
	require.NoError(t, err)
	return &abci.ExecTxResult{Data: data}
}

func TestBlockLogs(t *testing.T) {
	cdc := address.NewBech32Codec("ogpu")
	creator, provider := common.Address{0xc1}, common.Address{0xb0}
	creatorStr, err := cdc.BytesToString(creator.Bytes())
	require.NoError(t, err)
	providerStr, err := cdc.BytesToString(provider.Bytes())
	require.NoError(t, err)
	const resultSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

	injected, err := ogpuabci.EncodeInjected(abci.ExtendedCommitInfo{Round: 0})
	require.NoError(t, err)
	otherBloom := ethtypes.Bloom{}
	otherBloom.Add(common.Address{0x42}.Bytes())
	req := &abci.RequestFinalizeBlock{
		Height: 12, Hash: common.Hash{0xbb}.Bytes(), Time: time.Unix(1_700_000_000, 0),
		Txs: [][]byte{injected, []byte("an evm tx")},
	}
	newResp := func() *abci.ResponseFinalizeBlock {
		return &abci.ResponseFinalizeBlock{
			TxResults: []*abci.ExecTxResult{{Code: 2, Log: "tx parse error"}, evmTxResult(t, 2)},
			Events: []abci.Event{
				blockEvent(t, &computetypes.EventResultVerified{TaskId: 7, Provider: providerStr, DisputeEnd: 20, Creator: creatorStr, ResultSha256: resultSHA}, "PreBlock"),
				{Type: "transfer", Attributes: []abci.EventAttribute{{Key: "amount", Value: "1aogpu"}, {Key: "mode", Value: "EndBlock"}}},
				blockEvent(t, &computetypes.EventTaskAssigned{TaskId: 9, Provider: providerStr, Price: math.NewInt(5e9), Creator: creatorStr}, "EndBlock"),
				blockEvent(t, &computetypes.EventTaskExpired{TaskId: 10, Refunded: math.NewInt(1), Reason: "no bid", Creator: creatorStr}, "EndBlock"),
				blockEvent(t, &computetypes.EventTaskCreated{TaskId: 11, Creator: creatorStr, MaxPrice: math.OneInt(), Escrow: math.OneInt()}, "EndBlock"),
				{Type: evmtypes.EventTypeBlockBloom, Attributes: []abci.EventAttribute{
					{Key: evmtypes.AttributeKeyEthereumBloom, Value: string(new(big.Int).SetBytes(otherBloom.Bytes()).Bytes())},
					{Key: "mode", Value: "EndBlock"},
				}},
			},
		}
	}

	t.Run("the hooks' transitions are logs of the block, which the JSON-RPC reads", func(t *testing.T) {
		resp := newResp()
		require.NoError(t, attachBlockLogs(req, resp, cdc))
		require.EqualValues(t, 2, resp.TxResults[0].Code, "the record's result stays what it was")
		// what the JSON-RPC's log stream selects a transaction's logs by, kept out of tx search
		streamKeys := map[string]string{}
		for _, ev := range resp.TxResults[0].Events {
			for _, a := range ev.Attributes {
				streamKeys[ev.Type+"."+a.Key] = a.Value
				require.False(t, a.Index, "%s.%s is not indexed", ev.Type, a.Key)
			}
		}
		require.Equal(t, evmtypes.ModuleName, streamKeys["message.module"])
		require.Equal(t, fmt.Sprintf("0x%x", sha256.Sum256(injected)), streamKeys[evmtypes.EventTypeEthereumTx+"."+evmtypes.AttributeKeyEthereumTxHash])

		blockRes := &cmtrpctypes.ResultBlockResults{Height: req.Height, TxsResults: resp.TxResults, FinalizeBlockEvents: resp.Events}
		all, err := backend.GetLogsFromBlockResults(blockRes)
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Len(t, all[1], 2, "the EVM transaction's logs are untouched")
		logs := all[0]
		require.Len(t, logs, 3, "verified, assigned and expired; a created task logs in its own transaction")

		ids := []uint64{7, 9, 10}
		names := []string{precompile.TaskCompletedEvent, precompile.TaskAssignedEvent, precompile.TaskFailedEvent}
		txHash := sha256.Sum256(injected)
		for i, l := range logs {
			event := precompile.ABI.Events[names[i]]
			require.Equal(t, common.HexToAddress(precompile.Address), l.Address)
			require.Equal(t, event.ID, l.Topics[0], names[i])
			require.Equal(t, common.BigToHash(new(big.Int).SetUint64(ids[i])), l.Topics[1])
			require.Equal(t, common.BytesToHash(creator.Bytes()), l.Topics[2])
			require.EqualValues(t, 12, l.BlockNumber)
			require.Equal(t, common.Hash{0xbb}, l.BlockHash)
			require.Equal(t, common.Hash(txHash), l.TxHash)
			require.EqualValues(t, 2+i, l.Index, "after the block's two EVM logs")
		}

		data := map[string]any{}
		require.NoError(t, precompile.ABI.Events[precompile.TaskCompletedEvent].Inputs.UnpackIntoMap(data, logs[0].Data))
		require.Equal(t, uint8(computetypes.TASK_STATE_VERIFIED), data["state"])
		require.Equal(t, resultSHA, data["resultSha256"])

		require.Len(t, logs[1].Topics, 4)
		require.Equal(t, common.BytesToHash(provider.Bytes()), logs[1].Topics[3], "the provider is indexed")
		data = map[string]any{}
		require.NoError(t, precompile.ABI.Events[precompile.TaskAssignedEvent].Inputs.UnpackIntoMap(data, logs[1].Data))
		require.Equal(t, big.NewInt(5e9), data["price"])

		data = map[string]any{}
		require.NoError(t, precompile.ABI.Events[precompile.TaskFailedEvent].Inputs.UnpackIntoMap(data, logs[2].Data))
		require.Equal(t, uint8(computetypes.TASK_STATE_EXPIRED), data["state"])
		require.Equal(t, "no bid", data["reason"])

		// the block bloom keeps what it had and gains the precompile and the topics, so a
		// filter on either does not skip the block
		bloom, err := (&backend.Backend{}).BlockBloomFromCometBlock(context.Background(), blockRes)
		require.NoError(t, err)
		require.True(t, ethtypes.BloomLookup(bloom, common.Address{0x42}))
		require.True(t, ethtypes.BloomLookup(bloom, common.HexToAddress(precompile.Address)))
		require.True(t, ethtypes.BloomLookup(bloom, common.BytesToHash(creator.Bytes())))
		require.True(t, ethtypes.BloomLookup(bloom, precompile.ABI.Events[precompile.TaskAssignedEvent].ID))
	})

	t.Run("a stream's block-hook transitions are logs too", func(t *testing.T) {
		replacement := common.Address{0xb1}
		replacementStr, err := cdc.BytesToString(replacement.Bytes())
		require.NoError(t, err)
		resp := &abci.ResponseFinalizeBlock{
			TxResults: []*abci.ExecTxResult{{Code: 2}, {}},
			Events: []abci.Event{
				blockEvent(t, &computetypes.EventStreamLive{StreamId: 3, Serving: []computetypes.Replica{{Provider: providerStr}}, EndHeight: 500, Creator: creatorStr}, "EndBlock"),
				blockEvent(t, &computetypes.EventReplicaReplaced{StreamId: 3, Slot: 0, Provider: providerStr, Replacement: replacementStr, Reason: "3 failed probes", Slashed: math.ZeroInt(), Creator: creatorStr}, "PreBlock"),
				blockEvent(t, &computetypes.EventStreamPaused{StreamId: 3, GraceEnd: 60, Reason: "out of funds", Creator: creatorStr}, "EndBlock"),
				blockEvent(t, &computetypes.EventStreamClosed{StreamId: 3, Reason: "grace over", Claimed: math.NewInt(40), Refunded: math.ZeroInt(), Creator: creatorStr}, "EndBlock"),
				blockEvent(t, &computetypes.EventStreamSettled{StreamId: 3, Claimed: math.NewInt(40), Refunded: math.NewInt(60), Creator: creatorStr}, "EndBlock"),
			},
		}
		require.NoError(t, attachBlockLogs(req, resp, cdc))
		all, err := backend.GetLogsFromBlockResults(&cmtrpctypes.ResultBlockResults{Height: req.Height, TxsResults: resp.TxResults})
		require.NoError(t, err)
		logs := all[0]
		want := []struct {
			name string
			data []any
		}{
			{precompile.StreamLiveEvent, []any{[]common.Address{provider}, uint64(500)}},
			{precompile.ReplicaReplacedEvent, []any{uint32(0), provider, replacement, "3 failed probes"}},
			{precompile.StreamPausedEvent, []any{uint64(60), "out of funds"}},
			{precompile.StreamEndedEvent, []any{"grace over", big.NewInt(40)}},
			{precompile.StreamSettledEvent, []any{big.NewInt(40), big.NewInt(60)}},
		}
		require.Len(t, logs, len(want))
		for i, w := range want {
			event := precompile.ABI.Events[w.name]
			require.Equal(t, event.ID, logs[i].Topics[0], w.name)
			require.Equal(t, common.BigToHash(big.NewInt(3)), logs[i].Topics[1], w.name)
			require.Equal(t, common.BytesToHash(creator.Bytes()), logs[i].Topics[2], w.name)
			values, err := event.Inputs.NonIndexed().Unpack(logs[i].Data)
			require.NoError(t, err)
			require.Equal(t, w.data, values, w.name)
		}
	})

	t.Run("the same events make the same result data", func(t *testing.T) {
		a, b := newResp(), newResp()
		require.NoError(t, attachBlockLogs(req, a, cdc))
		require.NoError(t, attachBlockLogs(req, b, cdc))
		require.Equal(t, a.TxResults[0].Data, b.TxResults[0].Data)
	})

	t.Run("a block without the vote-extension record has no block logs", func(t *testing.T) {
		resp := newResp()
		plain := &abci.RequestFinalizeBlock{Height: 12, Hash: req.Hash, Txs: [][]byte{[]byte("a tx"), []byte("an evm tx")}}
		require.NoError(t, attachBlockLogs(plain, resp, cdc))
		require.Empty(t, resp.TxResults[0].Data)
		require.Empty(t, resp.TxResults[0].Events)
		require.Equal(t, newResp().Events, resp.Events)
	})

	t.Run("an unreadable compute event changes nothing", func(t *testing.T) {
		resp := newResp()
		resp.Events[2].Attributes[0].Value = "not json"
		require.Error(t, attachBlockLogs(req, resp, cdc))
		require.Empty(t, resp.TxResults[0].Data)
		require.Empty(t, resp.TxResults[0].Events)
		require.Equal(t, newResp().Events[5], resp.Events[5], "the bloom is untouched")
	})
}
