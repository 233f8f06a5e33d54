package app

import (
	"context"
	"fmt"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// FlagCheckInvariants is the app.toml key ([ogpu] check-invariants) that makes every block
// end with a check of all invariants; a broken invariant fails the block. Test and dev chains
// turn it on.
const FlagCheckInvariants = "ogpu.check-invariants"

// TotalSupply is the fixed supply: 21,000,000 OGPU in aogpu.
var TotalSupply = sdkmath.NewInt(21_000_000).Mul(sdkmath.NewIntWithDecimal(1, Decimals))

type namedInvariant struct {
	name  string
	check sdk.Invariant
}

func (app *App) registerInvariants() []namedInvariant {
	return []namedInvariant{
		{name: "bank/fixed-supply", check: app.fixedSupplyInvariant},
		{name: "staking-gpu/stake", check: asInvariant(app.StakingGPUKeeper.StakeInvariant)},
		{name: "staking-gpu/reward-pool", check: asInvariant(app.StakingGPUKeeper.RewardPoolInvariant)},
		{name: "compute/escrow", check: asInvariant(app.ComputeKeeper.EscrowInvariant)},
		{name: "compute/stream-books", check: asInvariant(app.ComputeKeeper.StreamBooksInvariant)},
	}
}

// asInvariant adapts a keeper check that returns an error.
func asInvariant(check func(context.Context) error) sdk.Invariant {
	return func(ctx sdk.Context) (string, bool) {
		if err := check(ctx); err != nil {
			return err.Error(), true
		}
		return "", false
	}
}

// fixedSupplyInvariant holds when the total supply of aogpu is exactly 21,000,000 OGPU.
func (app *App) fixedSupplyInvariant(ctx sdk.Context) (string, bool) {
	supply := app.BankKeeper.GetSupply(ctx, BaseDenom).Amount
	if supply.Equal(TotalSupply) {
		return "", false
	}
	return fmt.Sprintf("total supply of %s is %s, want %s", BaseDenom, supply, TotalSupply), true
}

// AssertInvariants runs every invariant and returns an error naming the first broken one.
func (app *App) AssertInvariants(ctx sdk.Context) error {
	for _, inv := range app.invariants {
		if msg, broken := inv.check(ctx); broken {
			return fmt.Errorf("invariant %s broken at height %d: %s", inv.name, ctx.BlockHeight(), msg)
		}
	}
	return nil
}
