package app_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	vestingtypes "github.com/cosmos/cosmos-sdk/x/auth/vesting/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/app"
	treasurytypes "github.com/opengpu/ogpu/x/treasury/types"
)

func init() {
	cfg := sdk.GetConfig()
	app.SetBech32Prefixes(cfg)
}

func addr(b byte) string { return sdk.AccAddress(append(make([]byte, 19), b)).String() }

func TestAllocationValidate(t *testing.T) {
	ogpu := func(n int64) sdkmath.Int { return sdkmath.NewInt(n).Mul(sdkmath.NewIntWithDecimal(1, 18)) }
	for _, tc := range []struct {
		name   string
		mutate func(*app.Allocation)
		errs   []string
	}{
		{name: "designed split", mutate: func(*app.Allocation) {}},
		{
			name:   "moved between shares still adds up",
			mutate: func(a *app.Allocation) { a.Reserve = a.Reserve.Sub(ogpu(1)); a.Ecosystem = a.Ecosystem.Add(ogpu(1)) },
		},
		{
			name:   "reserve short",
			mutate: func(a *app.Allocation) { a.Reserve = ogpu(2_000_000) },
			errs:   []string{"adds up to 20900000 OGPU, not exactly 21000000 OGPU", "share reserve is 2000000 OGPU, designed 10% = 2100000 OGPU"},
		},
		{
			name:   "one aogpu too many in the team",
			mutate: func(a *app.Allocation) { a.Team[1].Amount = a.Team[1].Amount.AddRaw(1) },
			errs:   []string{"adds up to 21000000.000000000000000001 OGPU", "share team is 3150000.000000000000000001 OGPU"},
		},
		{
			name:   "no team",
			mutate: func(a *app.Allocation) { a.Team = nil },
			errs:   []string{"share team: at least one team member"},
		},
		{
			name:   "bad team address",
			mutate: func(a *app.Allocation) { a.Team[0].Address = "cosmos1xyz" },
			errs:   []string{"share team: member 0 address"},
		},
		{
			name:   "duplicate team member",
			mutate: func(a *app.Allocation) { a.Team[1].Address = a.Team[0].Address },
			errs:   []string{"listed twice"},
		},
		{
			name:   "negative share",
			mutate: func(a *app.Allocation) { a.Ecosystem = ogpu(-1) },
			errs:   []string{"share ecosystem: amount must be zero or positive"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := app.DefaultAllocation([]string{addr(1), addr(2), addr(3)}, 1_800_000_000)
			tc.mutate(&a)
			err := a.Validate()
			if len(tc.errs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, e := range tc.errs {
				require.Contains(t, err.Error(), e)
			}
		})
	}
}

func TestApplyAllocation(t *testing.T) {
	a := app.New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.EmptyAppOptions{})
	cdc := a.AppCodec()
	state := app.DefaultGenesisState(cdc, a.BasicModuleManager)

	// a validator funded before the allocation is paid from the community share
	prefunded := sdkmath.NewInt(600_000).Mul(sdkmath.NewIntWithDecimal(1, 18))
	bankGen := banktypes.GetGenesisStateFromAppState(cdc, state)
	bankGen.Balances = append(bankGen.Balances, banktypes.Balance{Address: addr(9), Coins: sdk.NewCoins(sdk.NewCoin(app.BaseDenom, prefunded))})
	state[banktypes.ModuleName] = cdc.MustMarshalJSON(bankGen)

	alloc := app.DefaultAllocation([]string{addr(1), addr(2)}, 1_800_000_000)
	require.NoError(t, app.ApplyAllocation(cdc, state, alloc))

	bankGen = banktypes.GetGenesisStateFromAppState(cdc, state)
	require.Equal(t, app.TotalSupply.String(), bankGen.Supply.AmountOf(app.BaseDenom).String())
	balances := map[string]sdkmath.Int{}
	for _, b := range bankGen.Balances {
		balances[b.Address] = b.Coins.AmountOf(app.BaseDenom)
	}
	pool := func(name string) sdkmath.Int { return balances[authtypes.NewModuleAddress(name).String()] }
	require.Equal(t, app.PercentOfSupply(10), pool(treasurytypes.EcosystemPool))
	require.Equal(t, app.PercentOfSupply(15).Sub(prefunded), pool(treasurytypes.CommunityPool))
	require.Equal(t, app.PercentOfSupply(10), pool(treasurytypes.ReservePool))
	require.Equal(t, app.PercentOfSupply(50), pool(treasurytypes.ProviderRewardsPool))
	require.Equal(t, app.PercentOfSupply(15), balances[addr(1)].Add(balances[addr(2)]))

	authGen := authtypes.GetGenesisStateFromAppState(cdc, state)
	accounts, err := authtypes.UnpackAccounts(authGen.Accounts)
	require.NoError(t, err)
	vesting := 0
	for _, acc := range accounts {
		if v, ok := acc.(*vestingtypes.ContinuousVestingAccount); ok {
			vesting++
			require.Equal(t, int64(1_800_000_000), v.StartTime)
			require.Equal(t, int64(1_800_000_000)+app.TeamVestingSeconds, v.EndTime)
			require.Equal(t, balances[v.Address], v.OriginalVesting.AmountOf(app.BaseDenom))
		}
	}
	require.Equal(t, 2, vesting)

	// the result is a valid genesis for every module
	raw, err := json.Marshal(state)
	require.NoError(t, err)
	var decoded map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &decoded))
	require.NoError(t, a.BasicModuleManager.ValidateGenesis(cdc, a.TxConfig(), decoded))

	// applying twice is refused; so is paying more from the community share than it holds
	require.ErrorContains(t, app.ApplyAllocation(cdc, state, alloc), "applied before")
	state = app.DefaultGenesisState(cdc, a.BasicModuleManager)
	bankGen = banktypes.GetGenesisStateFromAppState(cdc, state)
	bankGen.Balances = []banktypes.Balance{{Address: addr(9), Coins: sdk.NewCoins(sdk.NewCoin(app.BaseDenom, app.PercentOfSupply(16)))}}
	state[banktypes.ModuleName] = cdc.MustMarshalJSON(bankGen)
	require.ErrorContains(t, app.ApplyAllocation(cdc, state, alloc), "share community: genesis accounts already hold 3360000 OGPU")
}

func TestParseOGPU(t *testing.T) {
	amt, err := app.ParseOGPU("1.5")
	require.NoError(t, err)
	require.Equal(t, "1500000000000000000", amt.String())
	amt, err = app.ParseOGPU("0.000000000000000001")
	require.NoError(t, err)
	require.Equal(t, "1", amt.String())
	_, err = app.ParseOGPU("-1")
	require.ErrorContains(t, err, "must not be negative")
	_, err = app.ParseOGPU("ten")
	require.ErrorContains(t, err, "not a decimal number")
	require.Equal(t, "21000000", app.FormatOGPU(app.TotalSupply))
}
