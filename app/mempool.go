package app

import (
	evmmempool "github.com/cosmos/evm/mempool"
	evmserver "github.com/cosmos/evm/server"
	evmtypes "github.com/cosmos/evm/x/vm/types"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// configureEVMMempool installs the app-side EVM mempool that cosmos/evm v0.7 requires (CometBFT
// runs with mempool type "app"), with its CheckTx, InsertTx and ReapTxs handlers, and the
// default proposal builder over it.
func (app *App) configureEVMMempool(appOpts servertypes.AppOptions, logger log.Logger) error {
	if evmtypes.GetChainConfig() == nil {
		return nil
	}
	cfg := evmserver.ResolveMempoolConfig(app.AnteHandler(), appOpts, logger)
	cosmosPoolMaxTx := evmserver.GetCosmosPoolMaxTx(appOpts, logger)
	if cosmosPoolMaxTx < 0 {
		logger.Info("EVM mempool disabled by configuration")
		return nil
	}
	if err := evmserver.ValidateReapBounds(appOpts, cfg.BlockGasLimit); err != nil {
		return err
	}

	txEncoder := evmmempool.NewTxEncoder(app.txConfig)
	mempool := evmmempool.NewMempool(
		app.CreateQueryContext, logger, app.EVMKeeper, app.FeeMarketKeeper, app.txConfig,
		evmmempool.NewTxRechecker(cfg.AnteHandler, txEncoder),
		evmmempool.NewTxRechecker(cfg.AnteHandler, txEncoder),
		cfg, cosmosPoolMaxTx,
	)
	app.EVMMempool = mempool

	// txs in the app mempool were checked on insertion and are rechecked after every block,
	// so building a proposal only encodes them
	app.prepareProposal = baseapp.NewDefaultProposalHandler(mempool, encodeOnlyVerifier{app.BaseApp}).PrepareProposalHandler()
	app.SetInsertTxHandler(mempool.NewInsertTxHandler(app.TxDecode))
	app.SetReapTxsHandler(mempool.NewReapTxsHandler())
	app.SetCheckTxHandler(mempool.NewCheckTxHandler(app.TxDecode, evmserver.GetMempoolCheckTxTimeout(appOpts, logger)))
	app.SetMempool(mempool)
	app.SetPrepareCheckStater(func(sdk.Context) {
		if !mempool.HasEventBus() {
			mempool.NotifyNewBlock()
		}
	})
	return nil
}

// encodeOnlyVerifier is the proposal tx verifier for the app mempool: it encodes, nothing more.
type encodeOnlyVerifier struct{ *baseapp.BaseApp }

func (v encodeOnlyVerifier) PrepareProposalVerifyTx(tx sdk.Tx) ([]byte, error) {
	return v.TxEncode(tx)
}
