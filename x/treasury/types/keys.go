package types

import "slices"

const (
	// ModuleName is the name of the treasury module.
	ModuleName = "treasury"

	// EcosystemPool holds the ecosystem share (10%) of the genesis allocation; governance spends it.
	EcosystemPool = "ecosystem"
	// CommunityPool holds the community and airdrop share (15%); governance spends it.
	CommunityPool = "community"
	// ReservePool holds the reserve share (10%); governance spends it.
	ReservePool = "reserve"
	// ProviderRewardsPool holds the GPU provider rewards share (50%), released to providers by
	// verified work; nobody can spend it by message.
	ProviderRewardsPool = "provider_rewards"
)

// GovernedPools are the pools MsgSpend may draw from, in a fixed order.
var GovernedPools = []string{EcosystemPool, CommunityPool, ReservePool}

// AllPools are every allocation pool, in a fixed order.
var AllPools = []string{EcosystemPool, CommunityPool, ReservePool, ProviderRewardsPool}

// IsGoverned reports whether pool is one governance may spend from.
func IsGoverned(pool string) bool { return slices.Contains(GovernedPools, pool) }
