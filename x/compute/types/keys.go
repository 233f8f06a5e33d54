package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name; its module account holds every task's escrow.
	ModuleName = "compute"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
)

// Store prefixes, declared once.
var (
	ParamsKey           = collections.NewPrefix(0)
	TasksKey            = collections.NewPrefix(1)
	TasksByStateKey     = collections.NewPrefix(2)
	TasksByCreatorKey   = collections.NewPrefix(3)
	TasksByProviderKey  = collections.NewPrefix(4)
	TaskSeqKey          = collections.NewPrefix(5)
	BidsKey             = collections.NewPrefix(6)
	TimersKey           = collections.NewPrefix(7)
	ActiveByProviderKey = collections.NewPrefix(8)

	StreamsKey           = collections.NewPrefix(9)
	StreamsByStateKey    = collections.NewPrefix(10)
	StreamsByCreatorKey  = collections.NewPrefix(11)
	StreamSeqKey         = collections.NewPrefix(12)
	SubscriptionsKey     = collections.NewPrefix(13)
	CommitmentsKey       = collections.NewPrefix(14)
	StreamClaimsKey      = collections.NewPrefix(15)
	StreamTimersKey      = collections.NewPrefix(16)
	SampleDrawsKey       = collections.NewPrefix(17)
	StreamDeadlinesKey   = collections.NewPrefix(18)
	StreamsByProviderKey = collections.NewPrefix(19)
)
