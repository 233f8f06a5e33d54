package sidecar

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	evmhd "github.com/cosmos/evm/crypto/hd"
	evmencoding "github.com/cosmos/evm/encoding"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cosmos/cosmos-sdk/types/query"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// ledger is what the sidecar reads from the chain and sends to it. chain implements it through
// the node's gRPC API; tests use a fake.
type ledger interface {
	// tasks lists every task req selects, all pages.
	tasks(ctx context.Context, req *computetypes.QueryTasksRequest) ([]computetypes.Task, error)
	task(ctx context.Context, id uint64) (computetypes.Task, error)
	// committee is a task's current committee and what it has recorded; a gRPC NotFound when
	// the task is not being verified.
	committee(ctx context.Context, id uint64) (*committeetypes.QueryCommitteeResponse, error)
	committeeParams(ctx context.Context) (committeetypes.Params, error)
	// latestBlock is the height and time of the newest block.
	latestBlock(ctx context.Context) (int64, time.Time, error)
	// send signs msgs as key and broadcasts them; it returns the tx hash once the mempool took
	// the tx, or a *txError when the chain refused it.
	send(ctx context.Context, key string, gas uint64, msgs ...sdk.Msg) (string, error)
	// txResult says whether the tx with hash is in a block, and its *txError if it failed there.
	txResult(ctx context.Context, hash string) (bool, error)
}

// txError is a transaction the chain refused, with the code that says why.
type txError struct {
	Codespace string
	Code      uint32
	Log       string
}

func (e *txError) Error() string { return fmt.Sprintf("%s code %d: %s", e.Codespace, e.Code, e.Log) }

// is reports whether the refusal is the registered error want.
func (e *txError) is(want interface {
	Codespace() string
	ABCICode() uint32
}) bool {
	return e.Codespace == want.Codespace() && e.Code == want.ABCICode()
}

// chain is the sidecar's connection to its node: queries and signed transactions.
type chain struct {
	conn     *grpc.ClientConn
	rpc      *rpchttp.HTTP // CometBFT RPC, for the latest block; nil without one
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
	if cfg.RPC != "" {
		if c.rpc, err = rpchttp.New(cfg.RPC, "/websocket"); err != nil {
			return nil, fmt.Errorf("rpc %s: %w", cfg.RPC, err)
		}
	}
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
func (c *chain) send(ctx context.Context, name string, gas uint64, msgs ...sdk.Msg) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	addr, err := c.address(name)
	if err != nil {
		return "", err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		info, err := authtypes.NewQueryClient(c.conn).AccountInfo(ctx, &authtypes.QueryAccountInfoRequest{Address: addr.String()})
		if err != nil {
			return "", fmt.Errorf("account %s: %w", addr, err)
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
			return "", err
		}
		if err := clienttx.Sign(ctx, f, name, builder, true); err != nil {
			return "", err
		}
		bz, err := c.txConfig.TxEncoder()(builder.GetTx())
		if err != nil {
			return "", err
		}
		res, err := txtypes.NewServiceClient(c.conn).BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: bz, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
		if err != nil {
			return "", err
		}
		if res.TxResponse.Code == 0 {
			c.seq[name] = seq + 1
			return res.TxResponse.TxHash, nil
		}
		refused := &txError{Codespace: res.TxResponse.Codespace, Code: res.TxResponse.Code, Log: res.TxResponse.RawLog}
		lastErr = refused
		if !refused.is(sdkerrors.ErrWrongSequence) {
			return "", lastErr
		}
		delete(c.seq, name) // resynchronise with the chain and try again
	}
	return "", lastErr
}

// txResult implements ledger.
func (c *chain) txResult(ctx context.Context, hash string) (bool, error) {
	res, err := txtypes.NewServiceClient(c.conn).GetTx(ctx, &txtypes.GetTxRequest{Hash: hash})
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tx %s: %w", hash, err)
	}
	if r := res.TxResponse; r != nil && r.Code != 0 {
		return true, &txError{Codespace: r.Codespace, Code: r.Code, Log: r.RawLog}
	}
	return true, nil
}

// tasks implements ledger.
func (c *chain) tasks(ctx context.Context, req *computetypes.QueryTasksRequest) ([]computetypes.Task, error) {
	q := computetypes.NewQueryClient(c.conn)
	var all []computetypes.Task
	req.Pagination = &query.PageRequest{Limit: 200}
	for {
		res, err := q.Tasks(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("query tasks: %w", err)
		}
		all = append(all, res.Tasks...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return all, nil
		}
		req.Pagination = &query.PageRequest{Key: res.Pagination.NextKey, Limit: 200}
	}
}

// task implements ledger.
func (c *chain) task(ctx context.Context, id uint64) (computetypes.Task, error) {
	res, err := computetypes.NewQueryClient(c.conn).Task(ctx, &computetypes.QueryTaskRequest{TaskId: id})
	if err != nil {
		return computetypes.Task{}, fmt.Errorf("query task %d: %w", id, err)
	}
	return res.Task, nil
}

// committee implements ledger.
func (c *chain) committee(ctx context.Context, id uint64) (*committeetypes.QueryCommitteeResponse, error) {
	return committeetypes.NewQueryClient(c.conn).Committee(ctx, &committeetypes.QueryCommitteeRequest{TaskId: id})
}

// committeeParams implements ledger.
func (c *chain) committeeParams(ctx context.Context) (committeetypes.Params, error) {
	res, err := committeetypes.NewQueryClient(c.conn).Params(ctx, &committeetypes.QueryParamsRequest{})
	if err != nil {
		return committeetypes.Params{}, fmt.Errorf("query committee params: %w", err)
	}
	return res.Params, nil
}

// latestBlock implements ledger: from CometBFT's status when the RPC is known (a few hundred
// bytes), else from the latest block over gRPC.
func (c *chain) latestBlock(ctx context.Context) (int64, time.Time, error) {
	if c.rpc != nil {
		st, err := c.rpc.Status(ctx)
		if err == nil {
			return st.SyncInfo.LatestBlockHeight, st.SyncInfo.LatestBlockTime, nil
		}
	}
	res, err := cmtservice.NewServiceClient(c.conn).GetLatestBlock(ctx, &cmtservice.GetLatestBlockRequest{})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("latest block: %w", err)
	}
	if res.SdkBlock == nil {
		return 0, time.Time{}, errors.New("latest block: the node sent no header")
	}
	return res.SdkBlock.Header.Height, res.SdkBlock.Header.Time, nil
}
