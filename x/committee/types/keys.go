package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name.
	ModuleName = "committee"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
)

// Store prefixes, declared once.
var (
	ParamsKey       = collections.NewPrefix(0)
	VerifiersKey    = collections.NewPrefix(1)
	CommitteesKey   = collections.NewPrefix(2)
	AttestationsKey = collections.NewPrefix(3)
	TalliesKey      = collections.NewPrefix(4)
	PreviousCapsKey = collections.NewPrefix(5)
)
