package sidecar

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	evmhd "github.com/cosmos/evm/crypto/hd"
	evmencoding "github.com/cosmos/evm/encoding"

	"github.com/cosmos/cosmos-sdk/client"
	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// chain is the sidecar's connection to its node: queries and signed transactions.
type chain struct {
	conn     *grpc.ClientConn
	txConfig client.TxConfig
	kr       keyring.Keyring
	chainID  string

	mu  sync.Mutex // one tx at a time keeps the sequence right
	seq map[string]uint64
}

func dialChain(cfg Config) (*chain, error) {
	enc := evmencoding.MakeConfig(cfg.EVMChainID)
	computetypes.RegisterInterfaces(enc.InterfaceRegistry)
	stakinggputypes.RegisterInterfaces(enc.InterfaceRegistry)
	conn, err := grpc.NewClient(cfg.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	c := &chain{conn: conn, txConfig: enc.TxConfig, chainID: cfg.ChainID, seq: map[string]uint64{}}
	if cfg.Provider {
		if c.kr, err = keyring.New("ogpud", cfg.KeyringBackend, cfg.Home, nil, enc.Codec, evmhd.EthSecp256k1Option()); err != nil {
			return nil, fmt.Errorf("keyring in %s: %w", cfg.Home, err)
		}
	}
	return c, nil
}

func (c *chain) address(name string) (sdk.AccAddress, error) {
	rec, err := c.kr.Key(name)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", name, err)
	}
	return rec.GetAddress()
}

// gasPrice pays ten times the fee market's starting base fee, so rising fees do not stall us.
const gasPrice = "10000000000aogpu"

// send signs msgs as name and broadcasts them; on a sequence mismatch it resynchronises and
// tries again.
func (c *chain) send(ctx context.Context, name string, gas uint64, msgs ...sdk.Msg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	addr, err := c.address(name)
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		info, err := authtypes.NewQueryClient(c.conn).AccountInfo(ctx, &authtypes.QueryAccountInfoRequest{Address: addr.String()})
		if err != nil {
			return fmt.Errorf("account %s: %w", addr, err)
		}
		seq := info.Info.Sequence
		if s, ok := c.seq[name]; ok && s > seq {
			seq = s // txs of ours still in the mempool
		}
		f := clienttx.Factory{}.WithTxConfig(c.txConfig).WithKeybase(c.kr).WithChainID(c.chainID).
			WithFromName(name).WithAccountNumber(info.Info.AccountNumber).WithSequence(seq).
			WithGas(gas).WithGasPrices(gasPrice).WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
		builder, err := f.BuildUnsignedTx(msgs...)
		if err != nil {
			return err
		}
		if err := clienttx.Sign(ctx, f, name, builder, true); err != nil {
			return err
		}
		bz, err := c.txConfig.TxEncoder()(builder.GetTx())
		if err != nil {
			return err
		}
		res, err := txtypes.NewServiceClient(c.conn).BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: bz, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
		if err != nil {
			return err
		}
		if res.TxResponse.Code == 0 {
			c.seq[name] = seq + 1
			return nil
		}
		lastErr = fmt.Errorf("code %d: %s", res.TxResponse.Code, res.TxResponse.RawLog)
		if res.TxResponse.Codespace != sdkerrors.ErrWrongSequence.Codespace() || res.TxResponse.Code != sdkerrors.ErrWrongSequence.ABCICode() {
			return lastErr
		}
		delete(c.seq, name) // resynchronise with the chain and try again
	}
	return lastErr
}
