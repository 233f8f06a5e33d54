package sidecar

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	ogpuclient "github.com/opengpu/ogpu/client"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
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
	// the tx, or a *client.TxError when the chain refused it.
	send(ctx context.Context, key string, gas uint64, msgs ...sdk.Msg) (string, error)
	// txResult says whether the tx with hash is in a block, and its *client.TxError if it failed there.
	txResult(ctx context.Context, hash string) (bool, error)
}

// chain is the sidecar's connection to its node: queries and signed transactions, through the
// ogpu client.
type chain struct {
	conn *grpc.ClientConn
	cl   *ogpuclient.Client
	kr   keyring.Keyring
}

func dialChain(cfg Config) (*chain, error) {
	cl, err := ogpuclient.Dial(ogpuclient.Config{GRPC: cfg.GRPC, RPC: cfg.RPC, ChainID: cfg.ChainID, EVMChainID: cfg.EVMChainID})
	if err != nil {
		return nil, err
	}
	c := &chain{conn: cl.GRPCConn(), cl: cl}
	if cfg.Provider {
		if c.kr, err = cl.OpenKeyring(cfg.KeyringBackend, cfg.Home); err != nil {
			return nil, err
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
const gasPrice = ogpuclient.DefaultGasPrice

// send signs msgs as name with a fixed gas limit and broadcasts them; the client resynchronises
// the sequence and tries again on a mismatch.
func (c *chain) send(ctx context.Context, name string, gas uint64, msgs ...sdk.Msg) (string, error) {
	f := c.cl.TxFactory(c.kr, name).WithSimulateAndExecute(false).WithGas(gas).WithGasPrices(gasPrice)
	return c.cl.Send(ctx, f, msgs...)
}

// txResult implements ledger.
func (c *chain) txResult(ctx context.Context, hash string) (bool, error) {
	res, err := c.cl.TxResult(ctx, hash)
	if err != nil {
		return res != nil, err
	}
	return res != nil, nil
}

// tasks implements ledger.
func (c *chain) tasks(ctx context.Context, req *computetypes.QueryTasksRequest) ([]computetypes.Task, error) {
	return c.cl.Tasks(ctx, req)
}

// task implements ledger.
func (c *chain) task(ctx context.Context, id uint64) (computetypes.Task, error) {
	return c.cl.Task(ctx, id)
}

// committee implements ledger.
func (c *chain) committee(ctx context.Context, id uint64) (*committeetypes.QueryCommitteeResponse, error) {
	return c.cl.Committee(ctx, id)
}

// committeeParams implements ledger.
func (c *chain) committeeParams(ctx context.Context) (committeetypes.Params, error) {
	return c.cl.CommitteeParams(ctx)
}

// latestBlock implements ledger.
func (c *chain) latestBlock(ctx context.Context) (int64, time.Time, error) {
	return c.cl.LatestBlock(ctx)
}
