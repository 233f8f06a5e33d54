package types

import errorsmod "cosmossdk.io/errors"

// Errors a user can hit, one per rule.
var (
	ErrInvalidAuthority     = errorsmod.Register(ModuleName, 2, "invalid authority")
	ErrInvalidParams        = errorsmod.Register(ModuleName, 3, "invalid params")
	ErrInvalidOperator      = errorsmod.Register(ModuleName, 4, "invalid operator address")
	ErrInvalidMoniker       = errorsmod.Register(ModuleName, 5, "invalid moniker")
	ErrInvalidEndpoint      = errorsmod.Register(ModuleName, 6, "invalid endpoint")
	ErrInvalidGPU           = errorsmod.Register(ModuleName, 7, "invalid GPU")
	ErrDuplicateGPU         = errorsmod.Register(ModuleName, 8, "duplicate GPU UUID")
	ErrUnknownWorkload      = errorsmod.Register(ModuleName, 9, "unknown workload")
	ErrInvalidAmount        = errorsmod.Register(ModuleName, 10, "invalid amount")
	ErrProviderExists       = errorsmod.Register(ModuleName, 11, "provider already registered")
	ErrProviderNotFound     = errorsmod.Register(ModuleName, 12, "provider not found")
	ErrInsufficientBond     = errorsmod.Register(ModuleName, 13, "insufficient bonded stake")
	ErrNotJailed            = errorsmod.Register(ModuleName, 14, "provider not jailed")
	ErrJailPeriodNotOver    = errorsmod.Register(ModuleName, 15, "jail period not over")
	ErrStakeRemaining       = errorsmod.Register(ModuleName, 16, "stake still bonded or unbonding")
	ErrOpenWork             = errorsmod.Register(ModuleName, 17, "provider has open work")
	ErrNoRewards            = errorsmod.Register(ModuleName, 18, "no rewards to withdraw")
	ErrInvalidRequirements  = errorsmod.Register(ModuleName, 19, "invalid requirements")
	ErrInvalidGenesis       = errorsmod.Register(ModuleName, 20, "invalid genesis")
	ErrInvalidSlashFraction = errorsmod.Register(ModuleName, 21, "invalid slash fraction")
	ErrCollateralLocked     = errorsmod.Register(ModuleName, 24, "stake locked as collateral of held tasks")
)

// Reasons a provider is not eligible for a task.
var (
	ErrProviderJailed     = errorsmod.Register(ModuleName, 22, "provider jailed")
	ErrRequirementsNotMet = errorsmod.Register(ModuleName, 23, "provider does not meet the task requirements")
)
