package app

import (
	"errors"

	abci "github.com/cometbft/cometbft/abci/types"

	evmmempool "github.com/cosmos/evm/mempool"
	evmserver "github.com/cosmos/evm/server"
	evmtypes "github.com/cosmos/evm/x/vm/types"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
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
	app.SetCheckTxHandler(answerEveryCheckTx(mempool.NewCheckTxHandler(app.TxDecode, evmserver.GetMempoolCheckTxTimeout(appOpts, logger))))
	app.SetMempool(mempool)
	app.SetPrepareCheckStater(func(sdk.Context) {
		if !mempool.HasEventBus() {
			mempool.NotifyNewBlock()
		}
	})
	return nil
}

// answerEveryCheckTx makes handler answer every CheckTx with a response. With the app mempool,
// CometBFT answers broadcast_tx_sync only from the CheckTx response: an error in its place (what
// the EVM mempool's handler returns for a tx that does not decode) leaves the RPC call open and
// the tx marked seen. Such an error, a missing response and a panic become a response that
// carries the error's codespace and code.
func answerEveryCheckTx(handler sdk.CheckTxHandler) sdk.CheckTxHandler {
	return func(runTx sdk.RunTx, req *abci.RequestCheckTx) (res *abci.ResponseCheckTx, err error) {
		defer func() {
			if r := recover(); r != nil {
				res, err = checkTxErrorResponse(errorsmod.Wrapf(sdkerrors.ErrPanic, "check tx: %v", r)), nil
			}
		}()
		res, err = handler(runTx, req)
		switch {
		case err != nil:
			return checkTxErrorResponse(err), nil
		case res == nil:
			return checkTxErrorResponse(errorsmod.Wrap(sdkerrors.ErrLogic, "check tx handler gave no response")), nil
		}
		return res, nil
	}
}

// checkTxErrorResponse is the CheckTx response for err, as BaseApp answers a tx RunTx refuses.
// The SDK reads a codespace and code through Cause only, not through fmt.Errorf's %w (with which
// the EVM mempool wraps the decoder's ErrTxDecode): then the answer is the first error of the
// chain it can read them from, with that error's own log.
func checkTxErrorResponse(err error) *abci.ResponseCheckTx {
	res := sdkerrors.ResponseCheckTxWithEvents(err, 0, 0, nil, false)
	if res.Codespace != errorsmod.UndefinedCodespace {
		return res
	}
	var wrapped interface {
		error
		Cause() error
	}
	if errors.As(err, &wrapped) {
		if inner := sdkerrors.ResponseCheckTxWithEvents(wrapped, 0, 0, nil, false); inner.Codespace != errorsmod.UndefinedCodespace {
			return inner
		}
	}
	var registered *errorsmod.Error
	if errors.As(err, &registered) {
		res.Codespace, res.Code = registered.Codespace(), registered.ABCICode()
	}
	return res
}

// encodeOnlyVerifier is the proposal tx verifier for the app mempool: it encodes, nothing more.
type encodeOnlyVerifier struct{ *baseapp.BaseApp }

func (v encodeOnlyVerifier) PrepareProposalVerifyTx(tx sdk.Tx) ([]byte, error) {
	return v.TxEncode(tx)
}
