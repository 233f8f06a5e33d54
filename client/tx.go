package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
)

// DefaultGasPrice pays ten times the fee market's starting base fee, so rising fees do not stall
// a tx.
const DefaultGasPrice = "10000000000aogpu"

// DefaultGasAdjustment multiplies the simulated gas of a tx signed with TxFactory's factory.
const DefaultGasAdjustment = 1.5

// TxError is a transaction the chain refused, at broadcast or in a block, with the code that
// says why.
type TxError struct {
	Hash      string
	Codespace string
	Code      uint32
	Log       string
}

func (e *TxError) Error() string { return fmt.Sprintf("%s code %d: %s", e.Codespace, e.Code, e.Log) }

// Matches reports whether the refusal is the registered error want (e.g.
// sdkerrors.ErrWrongSequence).
func (e *TxError) Matches(want interface {
	Codespace() string
	ABCICode() uint32
}) bool {
	return e.Codespace == want.Codespace() && e.Code == want.ABCICode()
}

// TxFactory is a factory that signs as the key from of kr for the client's chain, with direct
// signing, DefaultGasPrice and simulated gas (× DefaultGasAdjustment). Change what differs with
// the factory's With methods (WithGas(n) for a fixed limit with WithSimulateAndExecute(false)).
func (c *Client) TxFactory(kr keyring.Keyring, from string) clienttx.Factory {
	return clienttx.Factory{}.WithTxConfig(c.txConfig).WithKeybase(kr).WithChainID(c.chainID).
		WithFromName(from).WithGasPrices(DefaultGasPrice).WithSignMode(signing.SignMode_SIGN_MODE_DIRECT).
		WithSimulateAndExecute(true).WithGasAdjustment(DefaultGasAdjustment)
}

// Send signs msgs with txf (its keyring, key, chain id, fees and gas settings; the client's tx
// encoding) and broadcasts
// them; it returns the tx hash once the node's mempool took the tx, or a *TxError when the chain
// refused it. The account number and sequence come from the chain, or from the client's own
// count while its earlier txs are still in the mempool. Gas is simulated and multiplied by the
// factory's gas adjustment when the factory asks for it (gas "auto") or sets none. On a wrong
// sequence Send refreshes the account and tries again, a bounded number of times.
func (c *Client) Send(ctx context.Context, txf clienttx.Factory, msgs ...sdk.Msg) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := txf.FromName()
	if txf.Keybase() == nil {
		return "", fmt.Errorf("send: no keyring for key %q", name)
	}
	rec, err := txf.Keybase().Key(name)
	if err != nil {
		return "", fmt.Errorf("key %q: %w", name, err)
	}
	addr, err := rec.GetAddress()
	if err != nil {
		return "", fmt.Errorf("key %q: %w", name, err)
	}
	txf = txf.WithTxConfig(c.txConfig)
	var lastErr error
	for attempt := 0; attempt < c.attempts; attempt++ {
		info, err := authtypes.NewQueryClient(c.conn).AccountInfo(ctx, &authtypes.QueryAccountInfoRequest{Address: addr.String()})
		if err != nil {
			return "", fmt.Errorf("account %s: %w", addr, err)
		}
		seq := info.Info.Sequence
		if s, ok := c.seq[addr.String()]; ok && s > seq {
			seq = s // txs of ours still in the mempool
		}
		f := txf.WithAccountNumber(info.Info.AccountNumber).WithSequence(seq)
		if f.SimulateAndExecute() || f.Gas() == 0 {
			gas, err := c.simulate(ctx, f, msgs...)
			if err != nil {
				return "", err
			}
			f = f.WithGas(gas)
		}
		hash, err := c.broadcast(ctx, f, msgs...)
		if err == nil {
			c.seq[addr.String()] = seq + 1
			return hash, nil
		}
		lastErr = err
		var refused *TxError
		if !errors.As(err, &refused) || !refused.Matches(sdkerrors.ErrWrongSequence) {
			return "", err
		}
		delete(c.seq, addr.String()) // resynchronise with the chain and try again
	}
	return "", lastErr
}

// Broadcast signs msgs with txf as it is (its account number, sequence and gas limit: nothing is
// asked of the chain, nothing simulated, nothing retried) and broadcasts them; it returns the tx
// hash once the node's mempool took the tx, or a *TxError. It is for a caller that keeps its own
// sequence, such as a load generator with many txs of one key in flight; others use Send.
func (c *Client) Broadcast(ctx context.Context, txf clienttx.Factory, msgs ...sdk.Msg) (string, error) {
	return c.broadcast(ctx, txf.WithTxConfig(c.txConfig), msgs...)
}

// simulate is the gas msgs use, as the node simulates them, times the factory's adjustment.
func (c *Client) simulate(ctx context.Context, f clienttx.Factory, msgs ...sdk.Msg) (uint64, error) {
	bz, err := f.BuildSimTx(msgs...)
	if err != nil {
		return 0, fmt.Errorf("simulate: %w", err)
	}
	res, err := txtypes.NewServiceClient(c.conn).Simulate(ctx, &txtypes.SimulateRequest{TxBytes: bz})
	if err != nil {
		return 0, fmt.Errorf("simulate: %w", err)
	}
	adj := f.GasAdjustment()
	if adj <= 0 {
		adj = 1
	}
	return uint64(adj * float64(res.GasInfo.GasUsed)), nil
}

// broadcast signs and broadcasts one tx, waiting only for the mempool's answer.
func (c *Client) broadcast(ctx context.Context, f clienttx.Factory, msgs ...sdk.Msg) (string, error) {
	builder, err := f.BuildUnsignedTx(msgs...)
	if err != nil {
		return "", err
	}
	if err := clienttx.Sign(ctx, f, f.FromName(), builder, true); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	bz, err := c.txConfig.TxEncoder()(builder.GetTx())
	if err != nil {
		return "", fmt.Errorf("encode tx: %w", err)
	}
	res, err := txtypes.NewServiceClient(c.conn).BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: bz, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
	if err != nil {
		return "", fmt.Errorf("broadcast: %w", err)
	}
	r := res.TxResponse
	if r == nil {
		return "", errors.New("broadcast: the node sent no tx response")
	}
	if r.Code != 0 {
		return "", &TxError{Hash: r.TxHash, Codespace: r.Codespace, Code: r.Code, Log: r.RawLog}
	}
	return r.TxHash, nil
}

// TxResult is the tx with hash once it is in a block: nil, nil while it is not; a *TxError when
// it failed there.
func (c *Client) TxResult(ctx context.Context, hash string) (*sdk.TxResponse, error) {
	res, err := txtypes.NewServiceClient(c.conn).GetTx(ctx, &txtypes.GetTxRequest{Hash: hash})
	if status.Code(err) == codes.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tx %s: %w", hash, err)
	}
	r := res.TxResponse
	if r == nil {
		return nil, fmt.Errorf("tx %s: the node sent no tx response", hash)
	}
	if r.Code != 0 {
		return r, &TxError{Hash: hash, Codespace: r.Codespace, Code: r.Code, Log: r.RawLog}
	}
	return r, nil
}

// WaitTx waits until the tx with hash is in a block and returns its result, or its *TxError if
// it failed. Lookups that fail (a node that has not indexed the block yet) are asked again
// until ctx ends.
func (c *Client) WaitTx(ctx context.Context, hash string) (*sdk.TxResponse, error) {
	for {
		res, err := c.TxResult(ctx, hash)
		var failed *TxError
		if errors.As(err, &failed) {
			return res, err
		}
		if err == nil && res != nil {
			return res, nil
		}
		if err := c.sleep(ctx); err != nil {
			return nil, fmt.Errorf("tx %s not in a block: %w", hash, err)
		}
	}
}

// SendAndWait is Send and then WaitTx.
func (c *Client) SendAndWait(ctx context.Context, txf clienttx.Factory, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	hash, err := c.Send(ctx, txf, msgs...)
	if err != nil {
		return nil, err
	}
	return c.WaitTx(ctx, hash)
}

// msgData reads the TxMsgData a tx result carries (hex).
func msgData(res *sdk.TxResponse) (sdk.TxMsgData, error) {
	var d sdk.TxMsgData
	bz, err := hex.DecodeString(res.Data)
	if err != nil {
		return d, fmt.Errorf("tx data: %w", err)
	}
	if err := d.Unmarshal(bz); err != nil {
		return d, fmt.Errorf("tx data: %w", err)
	}
	return d, nil
}
