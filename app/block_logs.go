package app

import (
	"fmt"

	"cosmossdk.io/core/address"
	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	evmtypes "github.com/cosmos/evm/x/vm/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	"github.com/opengpu/ogpu/x/compute/precompile"
)

// FinalizeBlock runs the block, then attaches the EVM logs of the compute transitions its hooks
// made (a task assigned, verified, completed, failed or expired: see precompile.BlockLogs).
//
// The EVM JSON-RPC reads a block's logs from its transactions' results, so the logs ride on the
// result of the block's first transaction, the vote-extension record every block carries once
// extensions are on (that transaction is not a Cosmos tx and its result stays an error; its data
// becomes the logs). Their index follows every log of the block's EVM transactions, the block
// bloom of the EVM module gains them, and the result gains the events the JSON-RPC's log stream
// looks for, so eth_getLogs, log filters and log subscriptions all see them. The logs
// are a function of the block's events, so every node writes the same result data, which the
// next header's results hash commits to. A block without the record (before extensions are on)
// has no block logs. Logs that cannot be built are left out, with an error in the node's log: they
// mirror what the keeper emitted, and no block is refused over them.
func (app *App) FinalizeBlock(req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	resp, err := app.BaseApp.FinalizeBlock(req)
	if err != nil || resp == nil {
		return resp, err
	}
	if err := attachBlockLogs(req, resp, app.AccountKeeper.AddressCodec()); err != nil {
		// the logs mirror events the keeper wrote; a block is never refused over them
		app.Logger().Error("block logs: not attached", "height", req.Height, "err", err)
	}
	return resp, nil
}

func attachBlockLogs(req *abci.RequestFinalizeBlock, resp *abci.ResponseFinalizeBlock, addrCdc address.Codec) error {
	if len(req.Txs) == 0 || !ogpuabci.IsInjected(req.Txs[0]) || len(resp.TxResults) != len(req.Txs) {
		return nil
	}
	logs, err := precompile.BlockLogs(resp.Events, addrCdc)
	if err != nil || len(logs) == 0 {
		return err
	}
	// each EVM transaction numbers its logs from 0; these take the indexes after as many logs as
	// the block's EVM transactions hold, so none repeats another's
	height := uint64(req.Height) //nolint:gosec // a block height is positive
	next := uint64(0)
	for _, res := range resp.TxResults[1:] {
		txLogs, err := evmtypes.DecodeTxLogs(res.Data, height)
		if err != nil {
			continue // not an EVM transaction's result
		}
		next += uint64(len(txLogs))
	}
	txHash := cmttypes.Tx(req.Txs[0]).Hash()
	for i, l := range logs {
		l.BlockNumber = height
		l.BlockHash = common.BytesToHash(req.Hash)
		l.TxHash = common.BytesToHash(txHash)
		l.TxIndex = 0
		l.Index = uint(next) + uint(i)
	}
	data, err := encodeLogs(logs, txHash, req)
	if err != nil {
		return err
	}
	resp.TxResults[0].Data = data
	// the JSON-RPC's log stream (eth_newFilter's changes, websocket log subscriptions) takes the
	// logs of a transaction whose events name the EVM module and an Ethereum tx hash; unindexed,
	// so no tx search finds the record by them
	resp.TxResults[0].Events = append(resp.TxResults[0].Events,
		abci.Event{Type: sdk.EventTypeMessage, Attributes: []abci.EventAttribute{{Key: sdk.AttributeKeyModule, Value: evmtypes.ModuleName}}},
		abci.Event{Type: evmtypes.EventTypeEthereumTx, Attributes: []abci.EventAttribute{
			{Key: evmtypes.AttributeKeyEthereumTxHash, Value: fmt.Sprintf("0x%x", txHash)},
		}},
	)
	for i, ev := range resp.Events {
		if ev.Type != evmtypes.EventTypeBlockBloom {
			continue
		}
		for j, a := range ev.Attributes {
			if a.Key == evmtypes.AttributeKeyEthereumBloom {
				resp.Events[i].Attributes[j].Value = string(precompile.AddToBloom([]byte(a.Value), logs))
			}
		}
	}
	return nil
}

// encodeLogs writes the logs as the EVM module writes a transaction's: a TxMsgData holding one
// MsgEthereumTxResponse.
func encodeLogs(logs []*ethtypes.Log, txHash []byte, req *abci.RequestFinalizeBlock) ([]byte, error) {
	rsp := &evmtypes.MsgEthereumTxResponse{
		Hash:           fmt.Sprintf("0x%x", txHash),
		Logs:           evmtypes.NewLogsFromEth(logs),
		BlockHash:      req.Hash,
		BlockTimestamp: uint64(req.Time.Unix()), //nolint:gosec // block times are after 1970
	}
	anyRsp, err := codectypes.NewAnyWithValue(rsp)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(&sdk.TxMsgData{MsgResponses: []*codectypes.Any{anyRsp}})
}
