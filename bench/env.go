package bench

import (
	"cosmossdk.io/log/v2"
	dbm "github.com/cosmos/cosmos-db"
	evmserver "github.com/cosmos/evm/server"

	servertypes "github.com/cosmos/cosmos-sdk/server/types"
)

// Env is what the benchmarks take from the ogpud command that runs them: its binary, and its
// own ways to write a chain's files and open the application.
type Env struct {
	// Binary is the ogpud binary whose nodes and sidecars the benchmarks start.
	Binary string
	// DevChainID is the chain id of the homes WriteDevHome writes.
	DevChainID string
	// WriteDevHome writes a dev chain into home (genesis, one validator, the dev keys in a test
	// keyring, configs on 127.0.0.1 with the standard ports) and returns the dev keys.
	WriteDevHome func(home string) ([]Account, error)
	// WriteTestnet writes the homes node0… of the n-validator network of `make localnet` into dir.
	WriteTestnet func(dir, chainID string, n int) error
	// NodeHost is the loopback address node i of that network listens on.
	NodeHost func(i int) string
	// SetSidecarAddress points the node of home at the sidecar attestor listening on addr.
	SetSidecarAddress func(home, addr string) error
	// NewApp opens the application as `ogpud start` does.
	NewApp func(log.Logger, dbm.DB, servertypes.AppOptions) evmserver.Application
}

// Account is a key of a dev home.
type Account struct {
	Name    string
	Address string
}
