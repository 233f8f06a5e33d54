package app

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	distrkeeper "github.com/cosmos/cosmos-sdk/x/distribution/keeper"
)

// communityPoolSink is the bank keeper x/staking sees. The supply of oGPU is fixed, so the
// stake that x/staking would burn when it slashes a validator goes to the community pool.
type communityPoolSink struct {
	bankkeeper.Keeper
	distr *distrkeeper.Keeper // set once the distribution keeper exists
}

// BurnCoins moves the coins from the staking pool into the community pool instead of burning them.
func (s *communityPoolSink) BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error {
	if amt.IsZero() {
		return nil
	}
	return s.distr.FundCommunityPool(ctx, amt, authtypes.NewModuleAddress(moduleName))
}
