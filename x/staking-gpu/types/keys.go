package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name; its module account holds all bonded and unbonding
	// provider stake. The CLI calls it "staking-gpu".
	ModuleName = "stakinggpu"
	// CLIName is the name of the module's tx and query commands.
	CLIName = "staking-gpu"
	// StoreKey is the module's store key; "stakinggpu" would share a prefix with x/staking's.
	StoreKey = "gpustaking"
	// RewardsPoolName is the module account of the provider rewards share of the genesis
	// allocation (x/treasury lists it; this module releases it).
	RewardsPoolName = "provider_rewards"
)

// Store prefixes, declared once.
var (
	ParamsKey                = collections.NewPrefix(0)
	ProvidersKey             = collections.NewPrefix(1)
	UnbondingKey             = collections.NewPrefix(2)
	UnbondingByOperatorKey   = collections.NewPrefix(3)
	UnbondingByCompletionKey = collections.NewPrefix(4)
	UnbondingSeqKey          = collections.NewPrefix(5)
	RewardPoolKey            = collections.NewPrefix(6)
	EpochWorkKey             = collections.NewPrefix(7)
	RewardsKey               = collections.NewPrefix(8)
)
