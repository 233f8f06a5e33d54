// Package keepertest has in-memory stand-ins for the SDK keepers our modules depend on, so
// keeper tests run on a light store without the whole app.
package keepertest

import (
	"context"
	"sort"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// Bank is an in-memory x/bank with its insufficient-funds rule, and x/distribution's community
// pool as a module account in it.
type Bank struct{ balances map[string]math.Int }

// NewBank returns an empty bank.
func NewBank() *Bank { return &Bank{balances: map[string]math.Int{}} }

// CommunityPool is where FundCommunityPool sends coins.
var CommunityPool = authtypes.NewModuleAddress(distrtypes.ModuleName)

func key(addr sdk.AccAddress, denom string) string { return string(addr) + "/" + denom }

// GetBalance returns addr's balance of denom.
func (b *Bank) GetBalance(_ context.Context, addr sdk.AccAddress, denom string) sdk.Coin {
	if v, ok := b.balances[key(addr, denom)]; ok {
		return sdk.NewCoin(denom, v)
	}
	return sdk.NewCoin(denom, math.ZeroInt())
}

// Set sets addr's balance of denom.
func (b *Bank) Set(addr sdk.AccAddress, denom string, amount math.Int) {
	b.balances[key(addr, denom)] = amount
}

// Total is the sum of every balance of denom: it must never change, whatever moves.
func (b *Bank) Total(denom string) math.Int {
	sum := math.ZeroInt()
	for k, v := range b.balances {
		if len(k) > len(denom) && k[len(k)-len(denom)-1:] == "/"+denom {
			sum = sum.Add(v)
		}
	}
	return sum
}

// Snapshot renders every balance in a fixed order.
func (b *Bank) Snapshot() []string {
	out := make([]string, 0, len(b.balances))
	for k, v := range b.balances {
		out = append(out, k+"="+v.String())
	}
	sort.Strings(out)
	return out
}

// Clone returns an independent copy.
func (b *Bank) Clone() *Bank {
	c := NewBank()
	for k, v := range b.balances {
		c.balances[k] = v
	}
	return c
}

// Send moves amt from one account to another, or fails without moving anything.
func (b *Bank) Send(from, to sdk.AccAddress, amt sdk.Coins) error {
	for _, c := range amt {
		if have := b.GetBalance(nil, from, c.Denom).Amount; have.LT(c.Amount) {
			return sdkerrors.ErrInsufficientFunds.Wrapf("spendable balance %s%s is smaller than %s", have, c.Denom, c)
		}
	}
	for _, c := range amt {
		b.balances[key(from, c.Denom)] = b.GetBalance(nil, from, c.Denom).Amount.Sub(c.Amount)
		b.balances[key(to, c.Denom)] = b.GetBalance(nil, to, c.Denom).Amount.Add(c.Amount)
	}
	return nil
}

// SendCoinsFromAccountToModule implements the bank keeper method.
func (b *Bank) SendCoinsFromAccountToModule(_ context.Context, from sdk.AccAddress, module string, amt sdk.Coins) error {
	return b.Send(from, authtypes.NewModuleAddress(module), amt)
}

// SendCoinsFromModuleToAccount implements the bank keeper method.
func (b *Bank) SendCoinsFromModuleToAccount(_ context.Context, module string, to sdk.AccAddress, amt sdk.Coins) error {
	return b.Send(authtypes.NewModuleAddress(module), to, amt)
}

// SendCoinsFromModuleToModule moves coins between two module accounts.
func (b *Bank) SendCoinsFromModuleToModule(_ context.Context, from, to string, amt sdk.Coins) error {
	return b.Send(authtypes.NewModuleAddress(from), authtypes.NewModuleAddress(to), amt)
}

// FundCommunityPool implements x/distribution's method.
func (b *Bank) FundCommunityPool(_ context.Context, amount sdk.Coins, sender sdk.AccAddress) error {
	return b.Send(sender, CommunityPool, amount)
}

// Validators answers which operators run a bonded validator.
type Validators map[string]stakingtypes.Validator

// GetValidator implements the staking keeper method.
func (v Validators) GetValidator(_ context.Context, addr sdk.ValAddress) (stakingtypes.Validator, error) {
	if val, ok := v[string(addr)]; ok {
		return val, nil
	}
	return stakingtypes.Validator{}, stakingtypes.ErrNoValidatorFound
}

// SetBonded makes the account operator run a bonded validator.
func (v Validators) SetBonded(operator sdk.AccAddress) {
	v[string(operator)] = stakingtypes.Validator{Status: stakingtypes.Bonded}
}
