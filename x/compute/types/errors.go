package types

import errorsmod "cosmossdk.io/errors"

// Errors a user can hit, one per rule.
var (
	ErrInvalidAuthority   = errorsmod.Register(ModuleName, 2, "invalid authority")
	ErrInvalidParams      = errorsmod.Register(ModuleName, 3, "invalid params")
	ErrInvalidAddress     = errorsmod.Register(ModuleName, 4, "invalid address")
	ErrUnknownWorkload    = errorsmod.Register(ModuleName, 5, "unknown workload")
	ErrInvalidWorkload    = errorsmod.Register(ModuleName, 6, "invalid workload parameters")
	ErrInvalidPrice       = errorsmod.Register(ModuleName, 7, "invalid price")
	ErrInvalidDeadline    = errorsmod.Register(ModuleName, 8, "invalid deadline")
	ErrInvalidPayment     = errorsmod.Register(ModuleName, 9, "invalid payment function")
	ErrInvalidInput       = errorsmod.Register(ModuleName, 10, "invalid input")
	ErrTaskNotFound       = errorsmod.Register(ModuleName, 11, "task not found")
	ErrWrongState         = errorsmod.Register(ModuleName, 12, "task is not in the state this needs")
	ErrNotCreator         = errorsmod.Register(ModuleName, 13, "not the task's creator")
	ErrBidWindowClosed    = errorsmod.Register(ModuleName, 14, "bid window closed")
	ErrDuplicateBid       = errorsmod.Register(ModuleName, 15, "provider already bid on this task")
	ErrTooManyBids        = errorsmod.Register(ModuleName, 16, "task has the most bids allowed")
	ErrBidNotFound        = errorsmod.Register(ModuleName, 17, "bid not found")
	ErrNotEligible        = errorsmod.Register(ModuleName, 18, "provider not eligible for the task")
	ErrNotAssignee        = errorsmod.Register(ModuleName, 19, "not the task's assigned provider")
	ErrDeadlinePassed     = errorsmod.Register(ModuleName, 20, "deadline passed")
	ErrInvalidResult      = errorsmod.Register(ModuleName, 21, "invalid result")
	ErrInvalidVerdict     = errorsmod.Register(ModuleName, 22, "invalid verdict")
	ErrInvalidRequirement = errorsmod.Register(ModuleName, 24, "invalid requirements")
	ErrInvalidGenesis     = errorsmod.Register(ModuleName, 25, "invalid genesis")
	ErrDisputeClosed      = errorsmod.Register(ModuleName, 26, "dispute window closed")
	ErrNoEscalation       = errorsmod.Register(ModuleName, 27, "no escalation committee can be drawn")
)
