package types

import (
	"context"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// BankKeeper moves stake, slashed coins and rewards.
type BankKeeper interface {
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	SendCoinsFromAccountToModule(ctx context.Context, senderAddr sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
}

// CommunityPool receives slashed provider stake (x/distribution).
type CommunityPool interface {
	FundCommunityPool(ctx context.Context, amount sdk.Coins, sender sdk.AccAddress) error
}

// ValidatorSet tells whether a provider's operator also runs a validator (x/staking).
type ValidatorSet interface {
	GetValidator(ctx context.Context, addr sdk.ValAddress) (stakingtypes.Validator, error)
}

// WorkTracker tells whether a provider still has tasks or leases it must finish (x/compute).
type WorkTracker interface {
	HasOpenWork(ctx context.Context, provider sdk.AccAddress) (bool, error)
	// HeldTasks lists up to limit ids of the tasks the provider holds.
	HeldTasks(ctx context.Context, provider sdk.AccAddress, limit int) ([]uint64, error)
	// LongestHoldBlocks is the most blocks a provider can hold a task under the market's params.
	LongestHoldBlocks(ctx context.Context) (uint64, error)
}

// MaxBlockTime is the slowest block time the params are checked for: a task held for the
// longest possible number of blocks must end within unbonding_time at this pace.
const MaxBlockTime = 2 * time.Second
