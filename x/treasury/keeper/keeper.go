package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/treasury/types"
)

// BankKeeper is what the treasury needs from x/bank.
type BankKeeper interface {
	GetAllBalances(ctx context.Context, addr sdk.AccAddress) sdk.Coins
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
	BlockedAddr(addr sdk.AccAddress) bool
}

// Keeper spends the governance-held allocation pools. It holds no state of its own: the pools
// are module accounts and their balances live in x/bank.
type Keeper struct {
	bank         BankKeeper
	addressCodec address.Codec
	authority    string
}

// NewKeeper returns a treasury keeper; authority is the governance module address.
func NewKeeper(bank BankKeeper, addressCodec address.Codec, authority string) Keeper {
	return Keeper{bank: bank, addressCodec: addressCodec, authority: authority}
}

// Authority returns the address allowed to spend.
func (k Keeper) Authority() string { return k.authority }

// Spend sends amount from a governed pool to recipient.
func (k Keeper) Spend(ctx context.Context, pool string, recipient sdk.AccAddress, amount sdk.Coins) error {
	if !types.IsGoverned(pool) {
		return errorsmod.Wrapf(types.ErrUnknownPool, "pool %q: must be one of %v", pool, types.GovernedPools)
	}
	if k.bank.BlockedAddr(recipient) {
		return errorsmod.Wrapf(types.ErrInvalidRecipient, "recipient %s: module accounts and precompiles cannot receive", recipient)
	}
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, pool, recipient, amount); err != nil {
		return errorsmod.Wrapf(err, "spend from pool %s", pool)
	}
	return nil
}

// Pools returns every allocation pool with its balance.
func (k Keeper) Pools(ctx context.Context) ([]types.Pool, error) {
	pools := make([]types.Pool, 0, len(types.AllPools))
	for _, name := range types.AllPools {
		addr := authtypes.NewModuleAddress(name)
		addrStr, err := k.addressCodec.BytesToString(addr)
		if err != nil {
			return nil, err
		}
		pools = append(pools, types.Pool{
			Name:     name,
			Address:  addrStr,
			Governed: types.IsGoverned(name),
			Balance:  k.bank.GetAllBalances(ctx, addr),
		})
	}
	return pools, nil
}
