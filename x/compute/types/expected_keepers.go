package types

import (
	"context"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// BankKeeper moves escrow in and out.
type BankKeeper interface {
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	SendCoinsFromAccountToModule(ctx context.Context, senderAddr sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
}

// AccountKeeper gives the public keys that vouchers and receipts are verified with.
type AccountKeeper interface {
	GetAccount(ctx context.Context, addr sdk.AccAddress) sdk.AccountI
}

// ProviderKeeper is what the market needs from x/staking-gpu.
type ProviderKeeper interface {
	Eligible(ctx context.Context, operator sdk.AccAddress, reqs stakinggputypes.Requirements, price math.Int) error
	GetProvider(ctx context.Context, operator sdk.AccAddress) (stakinggputypes.Provider, error)
	Slash(ctx context.Context, operator sdk.AccAddress, fraction math.LegacyDec, reason string) (math.Int, error)
	// PenalizeFraud slashes and jails; the slash first pays payees (each up to its amount), the
	// rest goes to the community pool. It returns the slash and what the payees got.
	PenalizeFraud(ctx context.Context, operator sdk.AccAddress, reason string, payees []stakinggputypes.Payee) (math.Int, []math.Int, error)
	// RecordWork records a completed task's work units and the protocol fee it paid (the most
	// the provider may be rewarded for it).
	RecordWork(ctx context.Context, operator sdk.AccAddress, units, fee math.Int) error
	// RecordStreamWork records the work units and protocol fee of a stream claim, as RecordWork,
	// without counting a completed task.
	RecordStreamWork(ctx context.Context, operator sdk.AccAddress, units, fee math.Int) error
	// RecycleFee moves a protocol fee from fromModule into the provider reward pool.
	RecycleFee(ctx context.Context, fromModule string, fee math.Int) error
	RecordFailure(ctx context.Context, operator sdk.AccAddress) error
	// LockCollateral locks collateral_ratio × price of the bond for an assignment and returns it;
	// UnlockCollateral releases it when the assignment ends.
	LockCollateral(ctx context.Context, operator sdk.AccAddress, price math.Int) (math.Int, error)
	UnlockCollateral(ctx context.Context, operator sdk.AccAddress, amount math.Int) error
	// RaiseCollateral raises a lock of locked to collateral_ratio × price and returns the new
	// lock, or fails with stakinggputypes.ErrInsufficientBond, changing nothing, when the free
	// stake cannot cover it.
	RaiseCollateral(ctx context.Context, operator sdk.AccAddress, locked, price math.Int) (math.Int, error)
	// CheckHoldFits refuses market params under which a task can be held longer than the
	// provider stake's unbonding_time.
	CheckHoldFits(ctx context.Context, holdBlocks uint64) error
}

// CommitteeKeeper draws the validators that verify a task's result (x/committee), escalates
// disputes, and hears when a task ends.
type CommitteeKeeper interface {
	DrawCommittee(ctx context.Context, taskID uint64, exclude []sdk.AccAddress) ([]string, error)
	CanEscalate(ctx context.Context, taskID uint64, exclude []sdk.AccAddress) (bool, error)
	Escalate(ctx context.Context, taskID uint64, disputer string) error
	// ResolveUndecided ends an escalation that reached no verdict: the first verdict stands.
	ResolveUndecided(ctx context.Context, taskID uint64) error
	TaskClosed(ctx context.Context, taskID uint64) error
}
