package types

import errorsmod "cosmossdk.io/errors"

var (
	ErrInvalidAuthority = errorsmod.Register(ModuleName, 2, "invalid authority")
	ErrUnknownPool      = errorsmod.Register(ModuleName, 3, "unknown pool")
	ErrInvalidAmount    = errorsmod.Register(ModuleName, 4, "invalid amount")
	ErrInvalidRecipient = errorsmod.Register(ModuleName, 5, "invalid recipient")
)
