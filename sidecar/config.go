package sidecar

import (
	"errors"
	"fmt"

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
	Provider      bool
	ProviderKey   string
	PricePerGMAC  math.Int // aogpu per 10^9 multiply-adds
	MinPrice      math.Int // aogpu
	MaxConcurrent int
	// Executor is "auto" (CUDA when a GPU is usable, else the CPU), "cpu" or "cuda".
	Executor string
	// RegisterBond, when positive, registers the provider with it if it has no record yet.
	RegisterBond math.Int

	// Verifier role: the account of the validator's operator whose committees this sidecar serves.
	Verifier         bool
	ValidatorAccount string

	// CorruptResults flips one element of every result: tests use it to play a cheating provider.
	CorruptResults bool
	// ConsensusKeyFile is the validator's consensus key (priv_validator_key.json): the verifier
	// signs its reads of results with it.
	ConsensusKeyFile string
	// LazyVerifier attests VALID without fetching or checking anything: tests use it to play a
	// verifier that free-rides on the others.
	LazyVerifier bool
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
	return nil
}

// Price is what the provider bids for work units: units × price per 10^9, rounded up, and at
// least the minimum price.
func (c Config) Price(units uint64) math.Int {
	p := math.NewIntFromUint64(units).Mul(c.PricePerGMAC)
	p = p.Add(math.NewInt(999_999_999)).Quo(math.NewInt(1_000_000_000))
	return math.MaxInt(p, c.MinPrice)
}
