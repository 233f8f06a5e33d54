package types

import errorsmod "cosmossdk.io/errors"

// Errors a user can hit, one per rule.
var (
	ErrInvalidAuthority  = errorsmod.Register(ModuleName, 2, "invalid authority")
	ErrInvalidParams     = errorsmod.Register(ModuleName, 3, "invalid params")
	ErrInvalidOperator   = errorsmod.Register(ModuleName, 4, "invalid operator address")
	ErrNotValidator      = errorsmod.Register(ModuleName, 5, "not a validator operator")
	ErrAlreadyRegistered = errorsmod.Register(ModuleName, 6, "verifier already registered")
	ErrNotRegistered     = errorsmod.Register(ModuleName, 7, "verifier not registered")
	ErrNoCommittee       = errorsmod.Register(ModuleName, 8, "task has no committee")
	ErrInvalidGenesis    = errorsmod.Register(ModuleName, 9, "invalid genesis")
)
