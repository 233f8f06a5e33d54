package client

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	evmhd "github.com/cosmos/evm/crypto/hd"
	evmencoding "github.com/cosmos/evm/encoding"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	authsigning "github.com/cosmos/cosmos-sdk/x/auth/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// fakeNode answers the calls Send makes: the account's sequence from chainSeq (one value per
// lookup, the last one repeated), broadcasts with the codes in answers (one per broadcast, the
// last one repeated), and simulations with gasUsed. It records the sequence and gas limit of
// every tx it is sent.
type fakeNode struct {
	txConfig sdkclient.TxConfig
	chainSeq []uint64
	answers  []uint32
	gasUsed  uint64

	lookups  int
	sentSeqs []uint64
	sentGas  []uint64
}

func (f *fakeNode) Invoke(_ context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	switch method {
	case "/cosmos.auth.v1beta1.Query/AccountInfo":
		seq := f.chainSeq[min(f.lookups, len(f.chainSeq)-1)]
		f.lookups++
		*reply.(*authtypes.QueryAccountInfoResponse) = authtypes.QueryAccountInfoResponse{Info: &authtypes.BaseAccount{AccountNumber: 3, Sequence: seq}}
	case "/cosmos.tx.v1beta1.Service/Simulate":
		*reply.(*txtypes.SimulateResponse) = txtypes.SimulateResponse{GasInfo: &sdk.GasInfo{GasUsed: f.gasUsed}}
	case "/cosmos.tx.v1beta1.Service/BroadcastTx":
		tx, err := f.txConfig.TxDecoder()(args.(*txtypes.BroadcastTxRequest).TxBytes)
		if err != nil {
			return err
		}
		sigs, err := tx.(authsigning.SigVerifiableTx).GetSignaturesV2()
		if err != nil {
			return err
		}
		f.sentSeqs = append(f.sentSeqs, sigs[0].Sequence)
		f.sentGas = append(f.sentGas, tx.(sdk.FeeTx).GetGas())
		code := f.answers[min(len(f.sentSeqs)-1, len(f.answers)-1)]
		resp := &sdk.TxResponse{TxHash: fmt.Sprintf("HASH%d", len(f.sentSeqs)), Code: code}
		if code != 0 {
			resp.Codespace = sdkerrors.ErrWrongSequence.Codespace()
			resp.RawLog = "refused"
		}
		*reply.(*txtypes.BroadcastTxResponse) = txtypes.BroadcastTxResponse{TxResponse: resp}
	default:
		return fmt.Errorf("fake node: no %s", method)
	}
	return nil
}

func (f *fakeNode) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, fmt.Errorf("fake node: no streams")
}

// newFakeClient is a Client on node with a key "alice" in an in-memory keyring.
func newFakeClient(t *testing.T, node *fakeNode) (*Client, keyring.Keyring, sdk.AccAddress) {
	enc := evmencoding.MakeConfig(1337)
	computetypes.RegisterInterfaces(enc.InterfaceRegistry)
	node.txConfig = enc.TxConfig
	kr := keyring.NewInMemory(enc.Codec, evmhd.EthSecp256k1Option())
	rec, _, err := kr.NewMnemonic("alice", keyring.English, sdk.FullFundraiserPath, "", evmhd.EthSecp256k1)
	require.NoError(t, err)
	addr, err := rec.GetAddress()
	require.NoError(t, err)
	return New(node, enc.TxConfig, WithChainID("ogpu-test-1")), kr, addr
}

func send(t *testing.T, c *Client, kr keyring.Keyring, addr sdk.AccAddress, gas uint64) (string, error) {
	msg := &computetypes.MsgAcceptResult{Creator: addr.String(), TaskId: 1}
	txf := c.TxFactory(kr, "alice")
	if gas > 0 {
		txf = txf.WithSimulateAndExecute(false).WithGas(gas)
	}
	return c.Send(context.Background(), txf, msg)
}

var wrongSequence = sdkerrors.ErrWrongSequence.ABCICode()

func TestSendRetriesAWrongSequenceWithTheChainsSequence(t *testing.T) {
	node := &fakeNode{chainSeq: []uint64{5, 7}, answers: []uint32{wrongSequence, 0}}
	c, kr, addr := newFakeClient(t, node)
	hash, err := send(t, c, kr, addr, 300_000)
	require.NoError(t, err)
	require.Equal(t, "HASH2", hash)
	require.Equal(t, []uint64{5, 7}, node.sentSeqs, "the retry signs with the refreshed sequence")

	// the chain has not seen the tx yet: the next one follows it, not the chain
	_, err = send(t, c, kr, addr, 300_000)
	require.NoError(t, err)
	require.Equal(t, []uint64{5, 7, 8}, node.sentSeqs)
}

func TestSendGivesUpAfterItsAttempts(t *testing.T) {
	node := &fakeNode{chainSeq: []uint64{5}, answers: []uint32{wrongSequence}}
	c, kr, addr := newFakeClient(t, node)
	_, err := send(t, c, kr, addr, 300_000)
	var refused *TxError
	require.ErrorAs(t, err, &refused)
	require.True(t, refused.Matches(sdkerrors.ErrWrongSequence))
	require.Len(t, node.sentSeqs, 3)
}

func TestSendDoesNotRetryOtherRefusals(t *testing.T) {
	node := &fakeNode{chainSeq: []uint64{5}, answers: []uint32{sdkerrors.ErrInsufficientFunds.ABCICode()}}
	c, kr, addr := newFakeClient(t, node)
	_, err := send(t, c, kr, addr, 300_000)
	var refused *TxError
	require.ErrorAs(t, err, &refused)
	require.True(t, refused.Matches(sdkerrors.ErrInsufficientFunds))
	require.Len(t, node.sentSeqs, 1)
}

func TestSendSimulatesGasTimesTheAdjustment(t *testing.T) {
	node := &fakeNode{chainSeq: []uint64{0}, answers: []uint32{0}, gasUsed: 100_000}
	c, kr, addr := newFakeClient(t, node)
	_, err := send(t, c, kr, addr, 0)
	require.NoError(t, err)
	require.Equal(t, []uint64{uint64(DefaultGasAdjustment * 100_000)}, node.sentGas)

	_, err = send(t, c, kr, addr, 250_000)
	require.NoError(t, err)
	require.Equal(t, uint64(250_000), node.sentGas[1], "a fixed gas limit is not simulated")
}

func TestBroadcastSignsWithTheFactorysSequenceAsItIs(t *testing.T) {
	node := &fakeNode{chainSeq: []uint64{5}, answers: []uint32{0, wrongSequence}, gasUsed: 100_000}
	c, kr, addr := newFakeClient(t, node)
	msg := &computetypes.MsgAcceptResult{Creator: addr.String(), TaskId: 1}
	txf := c.TxFactory(kr, "alice").WithAccountNumber(3).WithSequence(9).WithSimulateAndExecute(false).WithGas(250_000)
	hash, err := c.Broadcast(context.Background(), txf, msg)
	require.NoError(t, err)
	require.Equal(t, "HASH1", hash)
	require.Equal(t, []uint64{9}, node.sentSeqs)
	require.Equal(t, []uint64{250_000}, node.sentGas)
	require.Zero(t, node.lookups, "no account lookup")

	_, err = c.Broadcast(context.Background(), txf.WithSequence(10), msg)
	var refused *TxError
	require.ErrorAs(t, err, &refused)
	require.True(t, refused.Matches(sdkerrors.ErrWrongSequence))
	require.Equal(t, []uint64{9, 10}, node.sentSeqs, "a refusal is not retried")
}
