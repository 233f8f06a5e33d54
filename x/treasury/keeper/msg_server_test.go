package keeper_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/core/address"

	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/treasury/keeper"
	"github.com/opengpu/ogpu/x/treasury/types"
)

// fakeBank keeps balances by module name or address string.
type fakeBank struct {
	balances map[string]sdk.Coins
	blocked  map[string]bool
}

func (b *fakeBank) GetAllBalances(_ context.Context, addr sdk.AccAddress) sdk.Coins {
	return b.balances[addr.String()]
}

func (b *fakeBank) BlockedAddr(addr sdk.AccAddress) bool { return b.blocked[addr.String()] }

func (b *fakeBank) SendCoinsFromModuleToAccount(_ context.Context, module string, to sdk.AccAddress, amt sdk.Coins) error {
	from := authtypes.NewModuleAddress(module).String()
	rest, neg := b.balances[from].SafeSub(amt...)
	if neg {
		return fmt.Errorf("insufficient funds: %s < %s", b.balances[from], amt)
	}
	b.balances[from] = rest
	b.balances[to.String()] = b.balances[to.String()].Add(amt...)
	return nil
}

func TestMsgSpend(t *testing.T) {
	var codec address.Codec = addresscodec.NewBech32Codec("ogpu")
	str := func(a sdk.AccAddress) string { s, _ := codec.BytesToString(a); return s }
	gov := str(authtypes.NewModuleAddress("gov"))
	recipient := sdk.AccAddress(make([]byte, 20))
	coins := func(n int64) sdk.Coins { return sdk.NewCoins(sdk.NewInt64Coin("aogpu", n)) }

	for _, tc := range []struct {
		name    string
		msg     types.MsgSpend
		err     string
		reserve int64 // what the reserve holds afterwards
	}{
		{name: "governance spends", msg: types.MsgSpend{Authority: gov, Pool: types.ReservePool, Recipient: str(recipient), Amount: coins(40)}, reserve: 60},
		{name: "not governance", msg: types.MsgSpend{Authority: str(recipient), Pool: types.ReservePool, Recipient: str(recipient), Amount: coins(40)}, err: "only the governance account", reserve: 100},
		{name: "provider rewards are not governed", msg: types.MsgSpend{Authority: gov, Pool: types.ProviderRewardsPool, Recipient: str(recipient), Amount: coins(1)}, err: `pool "provider_rewards": must be one of`, reserve: 100},
		{name: "zero amount", msg: types.MsgSpend{Authority: gov, Pool: types.ReservePool, Recipient: str(recipient), Amount: sdk.Coins{}}, err: "must be positive", reserve: 100},
		{name: "more than the pool holds", msg: types.MsgSpend{Authority: gov, Pool: types.ReservePool, Recipient: str(recipient), Amount: coins(101)}, err: "insufficient funds", reserve: 100},
		{name: "bad recipient", msg: types.MsgSpend{Authority: gov, Pool: types.ReservePool, Recipient: "ogpu1nope", Amount: coins(1)}, err: "recipient", reserve: 100},
		{name: "blocked recipient", msg: types.MsgSpend{Authority: gov, Pool: types.ReservePool, Recipient: str(authtypes.NewModuleAddress("bonded_tokens_pool")), Amount: coins(1)}, err: "cannot receive", reserve: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reserve := authtypes.NewModuleAddress(types.ReservePool).String()
			bank := &fakeBank{
				balances: map[string]sdk.Coins{reserve: coins(100)},
				blocked:  map[string]bool{authtypes.NewModuleAddress("bonded_tokens_pool").String(): true},
			}
			srv := keeper.NewMsgServer(keeper.NewKeeper(bank, codec, gov))
			_, err := srv.Spend(context.Background(), &tc.msg)
			if tc.err == "" {
				require.NoError(t, err)
				require.Equal(t, coins(40), bank.balances[recipient.String()])
			} else {
				require.ErrorContains(t, err, tc.err)
				require.True(t, bank.balances[recipient.String()].IsZero(), "no state change on error")
			}
			require.Equal(t, coins(tc.reserve), bank.balances[reserve])
		})
	}
}
