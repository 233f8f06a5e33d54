package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	gogogrpc "github.com/cosmos/gogoproto/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	evmhd "github.com/cosmos/evm/crypto/hd"
	evmencoding "github.com/cosmos/evm/encoding"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// Config says where a chain's node answers.
type Config struct {
	// GRPC is the node's gRPC address, e.g. "localhost:9090".
	GRPC string
	// RPC is the node's CometBFT RPC, e.g. "http://localhost:26657"; optional (it makes
	// LatestBlock cheaper).
	RPC string
	// ChainID is the Cosmos chain id, e.g. "ogpu-dev-1"; it is signed into every tx.
	ChainID string
	// EVMChainID is the EVM chain id of the chain's codec (1337 on a dev chain).
	EVMChainID uint64
}

// StatusClient is the part of CometBFT's RPC client the Client uses.
type StatusClient interface {
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
}

// Client is a connection to an ogpu node: queries, signed transactions, task results.
type Client struct {
	conn     gogogrpc.ClientConn
	grpcConn *grpc.ClientConn // the connection Dial opened; nil when built by New
	rpc      StatusClient
	txConfig sdkclient.TxConfig
	codec    codec.Codec
	chainID  string
	http     *http.Client
	poll     time.Duration
	attempts int

	mu  sync.Mutex // one tx at a time keeps the sequence right
	seq map[string]uint64
}

// Option sets an optional part of a Client built by New.
type Option func(*Client)

// WithRPC gives the client a CometBFT RPC for LatestBlock.
func WithRPC(rpc StatusClient) Option { return func(c *Client) { c.rpc = rpc } }

// WithChainID sets the chain id TxFactory signs for.
func WithChainID(id string) Option { return func(c *Client) { c.chainID = id } }

// WithCodec sets the codec OpenKeyring uses.
func WithCodec(cdc codec.Codec) Option { return func(c *Client) { c.codec = cdc } }

// WithHTTPClient sets the HTTP client of blob downloads (default http.DefaultClient).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithPollInterval sets how often WaitTx and WaitTask ask the node (default 500 ms).
func WithPollInterval(d time.Duration) Option { return func(c *Client) { c.poll = d } }

// WithSendAttempts sets how many times Send signs and broadcasts a tx the chain refuses for a
// wrong sequence (default 3).
func WithSendAttempts(n int) Option { return func(c *Client) { c.attempts = max(n, 1) } }

// New builds a Client on conn, any gRPC connection to a node (a *grpc.ClientConn, or the SDK's
// client.Context, which routes queries over CometBFT's ABCI query). txConfig encodes and signs
// txs; it must know the ogpu messages.
func New(conn gogogrpc.ClientConn, txConfig sdkclient.TxConfig, opts ...Option) *Client {
	c := &Client{conn: conn, txConfig: txConfig, http: http.DefaultClient, poll: 500 * time.Millisecond, attempts: 3, seq: map[string]uint64{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Dial connects to the node cfg names, over plaintext gRPC, with the ogpu codec.
func Dial(cfg Config, opts ...Option) (*Client, error) {
	if cfg.GRPC == "" {
		return nil, errors.New("dial: no gRPC address")
	}
	enc := evmencoding.MakeConfig(cfg.EVMChainID)
	computetypes.RegisterInterfaces(enc.InterfaceRegistry)
	stakinggputypes.RegisterInterfaces(enc.InterfaceRegistry)
	committeetypes.RegisterInterfaces(enc.InterfaceRegistry)
	conn, err := grpc.NewClient(cfg.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.GRPC, err)
	}
	all := []Option{WithChainID(cfg.ChainID), WithCodec(enc.Codec)}
	if cfg.RPC != "" {
		rpc, err := rpchttp.New(cfg.RPC, "/websocket")
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("rpc %s: %w", cfg.RPC, err)
		}
		all = append(all, WithRPC(rpc))
	}
	c := New(conn, enc.TxConfig, append(all, opts...)...)
	c.grpcConn = conn
	return c, nil
}

// Close closes the connection Dial opened; a Client built by New leaves its connection open.
func (c *Client) Close() error {
	if c.grpcConn == nil {
		return nil
	}
	return c.grpcConn.Close()
}

// Conn is the client's gRPC connection, for queries the Client has no method for.
func (c *Client) Conn() gogogrpc.ClientConn { return c.conn }

// GRPCConn is the connection Dial opened; nil for a Client built by New.
func (c *Client) GRPCConn() *grpc.ClientConn { return c.grpcConn }

// TxConfig is the client's tx encoding.
func (c *Client) TxConfig() sdkclient.TxConfig { return c.txConfig }

// OpenKeyring opens the keyring of an ogpud home (backend "test", "file" or "os"), with the
// chain's eth_secp256k1 keys.
func (c *Client) OpenKeyring(backend, home string) (keyring.Keyring, error) {
	if c.codec == nil {
		return nil, errors.New("open keyring: the client has no codec (build it with Dial or WithCodec)")
	}
	kr, err := keyring.New("ogpud", backend, home, nil, c.codec, evmhd.EthSecp256k1Option())
	if err != nil {
		return nil, fmt.Errorf("keyring in %s: %w", home, err)
	}
	return kr, nil
}

// LatestBlock is the height and time of the newest block: from CometBFT's status when the
// client has an RPC (a few hundred bytes), else from the latest block over gRPC.
func (c *Client) LatestBlock(ctx context.Context) (int64, time.Time, error) {
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

func (c *Client) sleep(ctx context.Context) error {
	t := time.NewTimer(c.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
