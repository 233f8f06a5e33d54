package sidecar

import (
	"errors"
	"fmt"
	"time"

	"cosmossdk.io/math"
)

// Config is everything a sidecar needs.
type Config struct {
	// Home holds the keyring and, under sidecar/, the blob store.
	Home           string
	KeyringBackend string
	ChainID        string
	EVMChainID     uint64
	// GRPC is the node's gRPC address (host:port).
	GRPC string
	// RPC is the node's CometBFT RPC (http://host:port), whose websocket announces new blocks.
	RPC string
	// Listen is where the HTTP server (blobs, metrics) listens; PublicURL is how others reach it.
	Listen    string
	PublicURL string
	// AttestorListen is where the node's Attestor call is served (gRPC), for the verifier role.
	AttestorListen string

	// Provider role: the key that signs bids and results, and its pricing.
	Provider     bool
	ProviderKey  string
	PricePerGMAC math.Int // aogpu per 10^9 multiply-adds
	MinPrice     math.Int // aogpu
	// MaxConcurrent bounds the won tasks the provider holds (won and not yet submitted): it bids
	// only while it holds fewer, and runs at most this many at once.
	MaxConcurrent int
	// Executor is "auto" (CUDA when a GPU is usable, else the CPU), "cpu" or "cuda".
	Executor string
	// RegisterBond, when positive, registers the provider with it if it has no record yet.
	RegisterBond math.Int
	// BlobRetention is how long results and kept inputs stay in the blob store after their task
	// settles (COMPLETED, FAILED, EXPIRED or CANCELLED); 0 means DefaultBlobRetention.
	BlobRetention time.Duration
	// StreamConcurrency bounds the stream requests (docs/streams.md) the provider runs at once;
	// up to eight times as many wait, and more are refused. 0 means DefaultStreamConcurrency.
	StreamConcurrency int
	// BlockTime is the block time assumed until the sidecar has measured the chain's; it turns a
	// task's execution window into seconds. 0 means DefaultBlockTime.
	BlockTime time.Duration

	// Verifier role: the account of the validator's operator whose committees this sidecar serves.
	Verifier         bool
	ValidatorAccount string
	// MaxConcurrentVerifications bounds the results checked at once; the rest wait in a queue.
	// 0 means DefaultMaxConcurrentVerifications.
	MaxConcurrentVerifications int

	// AllowPrivateFetch lets fetches of inputs and results reach loopback, private and link-local
	// addresses: for dev and test chains, whose providers serve on 127.0.0.x. Off, a task cannot
	// make a sidecar probe its own host or network.
	AllowPrivateFetch bool

	// CorruptResults flips one element of every result: tests use it to play a cheating provider.
	CorruptResults bool
	// CorruptEvery, when not 0, flips one element of every CorruptEvery-th stream response:
	// tests use it to play a replica that cheats now and then.
	CorruptEvery uint64
	// ConsensusKeyFile is the validator's consensus key (priv_validator_key.json): the verifier
	// signs its reads of results with it.
	ConsensusKeyFile string
	// ThrottleGMACs, when not 0, holds the executor to this many 10^9 multiply-adds a second:
	// end-to-end tests use it to stop or kill a provider in the middle of a run, whatever the
	// speed of the machine they run on.
	ThrottleGMACs uint64
	// LazyVerifier attests VALID without fetching or checking anything: tests use it to play a
	// verifier that free-rides on the others.
	LazyVerifier bool
}

// Defaults of the settings that an older app.toml may lack.
const (
	DefaultMaxConcurrentVerifications = 2
	DefaultBlobRetention              = 24 * time.Hour
	DefaultBlockTime                  = time.Second
	DefaultStreamConcurrency          = 4
)

// withDefaults fills in the settings left zero.
func (c Config) withDefaults() Config {
	if c.MaxConcurrentVerifications == 0 {
		c.MaxConcurrentVerifications = DefaultMaxConcurrentVerifications
	}
	if c.BlobRetention == 0 {
		c.BlobRetention = DefaultBlobRetention
	}
	if c.BlockTime == 0 {
		c.BlockTime = DefaultBlockTime
	}
	if c.StreamConcurrency == 0 {
		c.StreamConcurrency = DefaultStreamConcurrency
	}
	return c
}

// Validate checks the config for the roles it enables.
func (c Config) Validate() error {
	if !c.Provider && !c.Verifier {
		return errors.New("sidecar: enable the provider role, the verifier role or both")
	}
	if c.GRPC == "" || c.ChainID == "" {
		return errors.New("sidecar: the node's gRPC address and the chain id are required")
	}
	if c.Provider {
		if c.ProviderKey == "" || c.Listen == "" || c.PublicURL == "" {
			return errors.New("sidecar provider: a key, a listen address and a public URL are required")
		}
		if c.PricePerGMAC.IsNil() || c.PricePerGMAC.IsNegative() || c.MinPrice.IsNil() || !c.MinPrice.IsPositive() {
			return fmt.Errorf("sidecar provider: price per 10^9 multiply-adds must be ≥ 0 and the minimum price > 0")
		}
		if c.MaxConcurrent < 1 {
			return errors.New("sidecar provider: max concurrent tasks must be at least 1")
		}
	}
	switch c.Executor {
	case "", "auto", "cpu", "cuda":
	default:
		return fmt.Errorf("sidecar executor %q: must be auto, cpu or cuda", c.Executor)
	}
	if c.Verifier && (c.ValidatorAccount == "" || c.AttestorListen == "") {
		return errors.New("sidecar verifier: the validator's operator account and an attestor listen address are required")
	}
	if c.MaxConcurrentVerifications < 0 || c.MaxConcurrentVerifications > 64 {
		return fmt.Errorf("sidecar max-concurrent-verifications %d: must be in 1..64 (0: the default %d)", c.MaxConcurrentVerifications, DefaultMaxConcurrentVerifications)
	}
	if c.StreamConcurrency < 0 || c.StreamConcurrency > 256 {
		return fmt.Errorf("sidecar stream-concurrency %d: must be in 1..256 (0: the default %d)", c.StreamConcurrency, DefaultStreamConcurrency)
	}
	if c.BlobRetention < 0 {
		return fmt.Errorf("sidecar blob-retention %s: must not be negative", c.BlobRetention)
	}
	if c.BlockTime < 0 || c.BlockTime > time.Hour {
		return fmt.Errorf("sidecar block-time %s: must be in 0..1h (0: the default %s)", c.BlockTime, DefaultBlockTime)
	}
	return nil
}

// Price is what the provider bids for work units: units × price per 10^9, rounded up, and at
// least the minimum price.
func (c Config) Price(units uint64) math.Int {
	p := math.NewIntFromUint64(units).Mul(c.PricePerGMAC)
	p = p.Add(math.NewInt(999_999_999)).Quo(math.NewInt(1_000_000_000))
	return math.MaxInt(p, c.MinPrice)
}
