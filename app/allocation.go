package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	vestingtypes "github.com/cosmos/cosmos-sdk/x/auth/vesting/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	treasurytypes "github.com/opengpu/ogpu/x/treasury/types"
)

// TeamVestingSeconds is how long team and advisor allocations vest: 3 years of 365 days.
const TeamVestingSeconds int64 = 3 * 365 * 24 * 60 * 60

// Share names used in allocation files and errors.
const (
	ShareEcosystem       = "ecosystem"
	ShareCommunity       = "community"
	ShareTeam            = "team"
	ShareProviderRewards = "provider_rewards"
	ShareReserve         = "reserve"
)

// DesignedPercent is each share's percentage of the supply (DESIGN §4).
var DesignedPercent = map[string]int64{
	ShareEcosystem: 10, ShareCommunity: 15, ShareTeam: 15, ShareProviderRewards: 50, ShareReserve: 10,
}

// shareOrder fixes the order in which shares are checked and reported.
var shareOrder = []string{ShareEcosystem, ShareCommunity, ShareTeam, ShareProviderRewards, ShareReserve}

// TeamMember is one team or advisor vesting account.
type TeamMember struct {
	Address string      `json:"address"`
	Amount  sdkmath.Int `json:"amount"` // aogpu
}

// Allocation is the genesis split of the 21,000,000 OGPU, in aogpu.
type Allocation struct {
	Ecosystem       sdkmath.Int
	Community       sdkmath.Int
	ProviderRewards sdkmath.Int
	Reserve         sdkmath.Int
	Team            []TeamMember
	// VestingStart is the unix time team vesting starts (usually the genesis time).
	VestingStart int64
}

// PercentOfSupply returns pct% of the total supply in aogpu.
func PercentOfSupply(pct int64) sdkmath.Int {
	return TotalSupply.MulRaw(pct).QuoRaw(100)
}

// DefaultAllocation is the designed split with the team share divided equally among members
// (the first member takes the remainder of the division).
func DefaultAllocation(team []string, vestingStart int64) Allocation {
	a := Allocation{
		Ecosystem:       PercentOfSupply(DesignedPercent[ShareEcosystem]),
		Community:       PercentOfSupply(DesignedPercent[ShareCommunity]),
		ProviderRewards: PercentOfSupply(DesignedPercent[ShareProviderRewards]),
		Reserve:         PercentOfSupply(DesignedPercent[ShareReserve]),
		VestingStart:    vestingStart,
	}
	if len(team) == 0 {
		return a
	}
	teamShare := PercentOfSupply(DesignedPercent[ShareTeam])
	each := teamShare.QuoRaw(int64(len(team)))
	rest := teamShare.Sub(each.MulRaw(int64(len(team))))
	for i, addr := range team {
		amt := each
		if i == 0 {
			amt = amt.Add(rest)
		}
		a.Team = append(a.Team, TeamMember{Address: addr, Amount: amt})
	}
	return a
}

func (a Allocation) shares() map[string]sdkmath.Int {
	team := sdkmath.ZeroInt()
	for _, m := range a.Team {
		team = team.Add(m.Amount)
	}
	return map[string]sdkmath.Int{
		ShareEcosystem: a.Ecosystem, ShareCommunity: a.Community, ShareTeam: team,
		ShareProviderRewards: a.ProviderRewards, ShareReserve: a.Reserve,
	}
}

// Validate checks that every share is set and that the shares add up to exactly the total
// supply. When they do not, the error names each share that is off its designed percentage.
func (a Allocation) Validate() error {
	if len(a.Team) == 0 {
		return fmt.Errorf("share %s: at least one team member address is required", ShareTeam)
	}
	seen := map[string]bool{}
	for i, m := range a.Team {
		if _, err := sdk.AccAddressFromBech32(m.Address); err != nil {
			return fmt.Errorf("share %s: member %d address %q: %w", ShareTeam, i, m.Address, err)
		}
		if m.Amount.IsNil() || !m.Amount.IsPositive() {
			return fmt.Errorf("share %s: member %s amount must be positive", ShareTeam, m.Address)
		}
		if seen[m.Address] {
			return fmt.Errorf("share %s: member %s listed twice", ShareTeam, m.Address)
		}
		seen[m.Address] = true
	}
	shares := a.shares()
	total := sdkmath.ZeroInt()
	for _, name := range shareOrder {
		amt := shares[name]
		if amt.IsNil() || amt.IsNegative() {
			return fmt.Errorf("share %s: amount must be zero or positive", name)
		}
		total = total.Add(amt)
	}
	if total.Equal(TotalSupply) {
		return nil
	}
	var off []string
	for _, name := range shareOrder {
		want := PercentOfSupply(DesignedPercent[name])
		if !shares[name].Equal(want) {
			off = append(off, fmt.Sprintf("share %s is %s OGPU, designed %d%% = %s OGPU",
				name, FormatOGPU(shares[name]), DesignedPercent[name], FormatOGPU(want)))
		}
	}
	msg := fmt.Sprintf("allocation adds up to %s OGPU, not exactly %s OGPU", FormatOGPU(total), FormatOGPU(TotalSupply))
	if len(off) > 0 {
		msg += ": " + strings.Join(off, "; ")
	}
	return errors.New(msg)
}

// ApplyAllocation writes the allocation into a genesis app state: the four pools as module
// accounts, the team as continuous vesting accounts over TeamVestingSeconds. Accounts already
// funded with aogpu in the genesis (validators, dev keys) are paid from the community share,
// so the supply is exactly 21,000,000 OGPU afterwards.
func ApplyAllocation(cdc codec.Codec, appState map[string]json.RawMessage, a Allocation) error {
	if err := a.Validate(); err != nil {
		return err
	}

	authGen := authtypes.GetGenesisStateFromAppState(cdc, appState)
	accounts, err := authtypes.UnpackAccounts(authGen.Accounts)
	if err != nil {
		return fmt.Errorf("auth genesis accounts: %w", err)
	}
	existing := map[string]bool{}
	for _, acc := range accounts {
		existing[acc.GetAddress().String()] = true
	}
	for _, pool := range treasurytypes.AllPools {
		if existing[authtypes.NewModuleAddress(pool).String()] {
			return fmt.Errorf("genesis already holds the %s pool: the allocation was applied before", pool)
		}
	}

	bankGen := banktypes.GetGenesisStateFromAppState(cdc, appState)
	prefunded := sdkmath.ZeroInt()
	for _, b := range bankGen.Balances {
		prefunded = prefunded.Add(b.Coins.AmountOf(BaseDenom))
	}
	community := a.Community.Sub(prefunded)
	if community.IsNegative() {
		return fmt.Errorf("share %s: genesis accounts already hold %s OGPU, more than the %s OGPU community share they are paid from",
			ShareCommunity, FormatOGPU(prefunded), FormatOGPU(a.Community))
	}

	poolAmounts := map[string]sdkmath.Int{
		treasurytypes.EcosystemPool: a.Ecosystem, treasurytypes.CommunityPool: community,
		treasurytypes.ReservePool: a.Reserve, treasurytypes.ProviderRewardsPool: a.ProviderRewards,
	}
	for _, pool := range treasurytypes.AllPools {
		acc := authtypes.NewEmptyModuleAccount(pool)
		accounts = append(accounts, acc)
		bankGen.Balances = append(bankGen.Balances, banktypes.Balance{
			Address: acc.GetAddress().String(),
			Coins:   sdk.NewCoins(sdk.NewCoin(BaseDenom, poolAmounts[pool])),
		})
	}

	for _, m := range a.Team {
		if existing[m.Address] {
			return fmt.Errorf("share %s: member %s already has a genesis account; team members must be new accounts", ShareTeam, m.Address)
		}
		addr := sdk.MustAccAddressFromBech32(m.Address)
		coins := sdk.NewCoins(sdk.NewCoin(BaseDenom, m.Amount))
		vacc, err := vestingtypes.NewContinuousVestingAccount(authtypes.NewBaseAccountWithAddress(addr), coins,
			a.VestingStart, a.VestingStart+TeamVestingSeconds)
		if err != nil {
			return fmt.Errorf("share %s: member %s: %w", ShareTeam, m.Address, err)
		}
		accounts = append(accounts, vacc)
		bankGen.Balances = append(bankGen.Balances, banktypes.Balance{Address: m.Address, Coins: coins})
	}

	supply := sdk.NewCoins()
	for _, b := range bankGen.Balances {
		supply = supply.Add(b.Coins...)
	}
	if !supply.AmountOf(BaseDenom).Equal(TotalSupply) {
		return fmt.Errorf("genesis supply would be %s aogpu, want %s", supply.AmountOf(BaseDenom), TotalSupply)
	}
	bankGen.Balances = banktypes.SanitizeGenesisBalances(bankGen.Balances)
	bankGen.Supply = supply

	accounts = authtypes.SanitizeGenesisAccounts(accounts)
	packed, err := authtypes.PackAccounts(accounts)
	if err != nil {
		return err
	}
	authGen.Accounts = packed

	if appState[authtypes.ModuleName], err = cdc.MarshalJSON(&authGen); err != nil {
		return err
	}
	appState[banktypes.ModuleName], err = cdc.MarshalJSON(bankGen)
	return err
}

// FormatOGPU prints an aogpu amount in OGPU, without trailing zeros.
func FormatOGPU(aogpu sdkmath.Int) string {
	s := sdkmath.LegacyNewDecFromIntWithPrec(aogpu, Decimals).String()
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// ParseOGPU reads a decimal OGPU amount ("1000", "0.5") into aogpu, exactly.
func ParseOGPU(s string) (sdkmath.Int, error) {
	d, err := sdkmath.LegacyNewDecFromStr(strings.TrimSpace(s))
	if err != nil {
		return sdkmath.Int{}, fmt.Errorf("amount %q: not a decimal number of OGPU: %w", s, err)
	}
	if d.IsNegative() {
		return sdkmath.Int{}, fmt.Errorf("amount %q: must not be negative", s)
	}
	// LegacyDec keeps exactly 18 decimals, the same as aogpu, so its raw integer is the amount
	return sdkmath.NewIntFromBigInt(d.BigInt()), nil
}
