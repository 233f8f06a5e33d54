package app

import (
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	abci "github.com/cometbft/cometbft/abci/types"

	dbm "github.com/cosmos/cosmos-db"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log/v2"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

// TestAnswerEveryCheckTx checks that whatever the wrapped handler does, CheckTx answers with a
// response carrying the error's codespace and code, and no error.
func TestAnswerEveryCheckTx(t *testing.T) {
	ok := &abci.ResponseCheckTx{Code: abci.CodeTypeOK, GasWanted: 7}
	refused := &abci.ResponseCheckTx{Codespace: "sdk", Code: sdkerrors.ErrInsufficientFee.ABCICode(), Log: "insufficient fee"}
	tests := []struct {
		name      string
		handler   sdk.CheckTxHandler
		want      *abci.ResponseCheckTx // nil: an error response with codespace and code
		codespace string
		code      uint32
		log       string
	}{
		{name: "a response passes unchanged", handler: answer(ok, nil), want: ok},
		{name: "a refusal passes unchanged", handler: answer(refused, nil), want: refused},
		{
			name:      "an undecodable tx wrapped with %w",
			handler:   answer(nil, fmt.Errorf("decoding tx: %w", errorsmod.Wrap(sdkerrors.ErrTxDecode, "unexpected EOF"))),
			codespace: sdkerrors.ErrTxDecode.Codespace(), code: sdkerrors.ErrTxDecode.ABCICode(),
			log: "unexpected EOF: tx parse error",
		},
		{
			name:      "a registered error wrapped with %w",
			handler:   answer(nil, fmt.Errorf("decoding tx: %w", sdkerrors.ErrTxDecode)),
			codespace: sdkerrors.ErrTxDecode.Codespace(), code: sdkerrors.ErrTxDecode.ABCICode(),
			log: "decoding tx: tx parse error",
		},
		{
			name:      "a registered error",
			handler:   answer(nil, errorsmod.Wrap(sdkerrors.ErrInvalidRequest, "recheck")),
			codespace: sdkerrors.ErrInvalidRequest.Codespace(), code: sdkerrors.ErrInvalidRequest.ABCICode(),
			log: "recheck: invalid request",
		},
		{
			name:      "an unregistered error",
			handler:   answer(nil, errors.New("unsupported abci.RequestCheckTx.Type: RECHECK")),
			codespace: errorsmod.UndefinedCodespace, code: 1,
			log: "unsupported abci.RequestCheckTx.Type: RECHECK",
		},
		{
			name:      "no response and no error",
			handler:   answer(nil, nil),
			codespace: sdkerrors.ErrLogic.Codespace(), code: sdkerrors.ErrLogic.ABCICode(),
			log: "check tx handler gave no response: internal logic error",
		},
		{
			name:      "a panic",
			handler:   func(sdk.RunTx, *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) { panic("index out of range") },
			codespace: sdkerrors.ErrPanic.Codespace(), code: sdkerrors.ErrPanic.ABCICode(),
			log: "check tx: index out of range: panic",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := answerEveryCheckTx(tc.handler)(nil, &abci.RequestCheckTx{Tx: []byte{1}, Type: abci.CheckTxType_New})
			require.NoError(t, err)
			require.NotNil(t, res)
			if tc.want != nil {
				require.Same(t, tc.want, res)
				return
			}
			require.Equal(t, &abci.ResponseCheckTx{Codespace: tc.codespace, Code: tc.code, Log: tc.log}, res)
		})
	}
}

func answer(res *abci.ResponseCheckTx, err error) sdk.CheckTxHandler {
	return func(sdk.RunTx, *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) { return res, err }
}

// TestCheckTxAnswersMalformedTxs sends txs that do not decode to the app's CheckTx, behind which
// is the EVM mempool's handler: each is answered with ErrTxDecode, not an error.
func TestCheckTxAnswersMalformedTxs(t *testing.T) {
	a := New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.EmptyAppOptions{})
	require.NotNil(t, a.EVMMempool, "CheckTx goes through the EVM mempool's handler")

	from, to := sdk.AccAddress(make([]byte, 20)), sdk.AccAddress(append(make([]byte, 19), 1))
	builder := a.TxConfig().NewTxBuilder()
	require.NoError(t, builder.SetMsgs(banktypes.NewMsgSend(from, to, sdk.NewCoins(sdk.NewInt64Coin(BaseDenom, 1)))))
	builder.SetGasLimit(200_000)
	builder.SetFeeAmount(sdk.NewCoins(sdk.NewInt64Coin(BaseDenom, 200_000_000_000_000)))
	builder.SetMemo("a tx that decodes")
	valid, err := a.TxConfig().TxEncoder()(builder.GetTx())
	require.NoError(t, err)
	_, err = a.TxDecode(valid)
	require.NoError(t, err, "the whole tx decodes")

	randomBytes := func(n int) []byte {
		bz := make([]byte, n)
		_, err := rand.Read(bz)
		require.NoError(t, err)
		return bz
	}
	tests := []struct {
		name string
		tx   []byte
	}{
		{"7 random bytes", randomBytes(7)},
		{"a valid tx cut in half", valid[:len(valid)/2]},
		{"a valid tx with its last byte dropped", valid[:len(valid)-1]},
		{"2 MB of random bytes", randomBytes(2 << 20)},
		{"a valid tx followed by garbage", append(append([]byte{}, valid...), 0xff, 0xff, 0xff)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := a.CheckTx(&abci.RequestCheckTx{Tx: tc.tx, Type: abci.CheckTxType_New})
			require.NoError(t, err)
			require.NotNil(t, res)
			require.Equal(t, sdkerrors.ErrTxDecode.Codespace(), res.Codespace, res.Log)
			require.Equal(t, sdkerrors.ErrTxDecode.ABCICode(), res.Code, res.Log)
			require.Contains(t, res.Log, sdkerrors.ErrTxDecode.Error())
			require.NotContains(t, res.Log, ".go:", "no source location in the log")
		})
	}
}
