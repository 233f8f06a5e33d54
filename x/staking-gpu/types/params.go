package types

import (
	"time"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultBondDenom is the chain's base denom.
const DefaultBondDenom = "aogpu"

// Limits on the parameters governance may set.
const (
	maxUnbondingTime    = 365 * 24 * time.Hour
	maxJailDuration     = 365 * 24 * time.Hour
	maxRewardPeriod     = 100 * 365 * 24 * time.Hour
	maxGPUsLimit        = 1024
	maxCollateralRatio  = 1000
	maxValidatorBonus   = 10
	defaultRewardPeriod = 3652*24*time.Hour + 12*time.Hour // 10 years of 365.25 days
)

// DefaultParams are the parameters of DESIGN §9.
func DefaultParams() Params {
	return Params{
		BondDenom:            DefaultBondDenom,
		MinProviderStake:     math.NewIntWithDecimal(1000, 18),
		CollateralRatio:      math.LegacyNewDec(2),
		UnbondingTime:        72 * time.Hour,
		FraudSlashFraction:   math.LegacyNewDecWithPrec(10, 2),
		JailDuration:         24 * time.Hour,
		ProviderRewardPeriod: defaultRewardPeriod,
		RewardEpoch:          100,
		ValidatorBonus:       math.LegacyNewDecWithPrec(12, 1),
		MaxGpus:              64,
	}
}

// Validate checks every parameter against its allowed range.
func (p Params) Validate() error {
	if err := sdk.ValidateDenom(p.BondDenom); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "bond_denom %q: %v", p.BondDenom, err)
	}
	if p.MinProviderStake.IsNil() || p.MinProviderStake.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidParams, "min_provider_stake %s: must be ≥ 0", p.MinProviderStake)
	}
	if err := decInRange("collateral_ratio", p.CollateralRatio, math.LegacyZeroDec(), math.LegacyNewDec(maxCollateralRatio), true); err != nil {
		return err
	}
	if p.UnbondingTime <= 0 || p.UnbondingTime > maxUnbondingTime {
		return errorsmod.Wrapf(ErrInvalidParams, "unbonding_time %s: must be in (0, %s]", p.UnbondingTime, maxUnbondingTime)
	}
	if err := decInRange("fraud_slash_fraction", p.FraudSlashFraction, math.LegacyZeroDec(), math.LegacyOneDec(), false); err != nil {
		return err
	}
	if p.JailDuration <= 0 || p.JailDuration > maxJailDuration {
		return errorsmod.Wrapf(ErrInvalidParams, "jail_duration %s: must be in (0, %s]", p.JailDuration, maxJailDuration)
	}
	if p.ProviderRewardPeriod <= 0 || p.ProviderRewardPeriod > maxRewardPeriod {
		return errorsmod.Wrapf(ErrInvalidParams, "provider_reward_period %s: must be in (0, %s]", p.ProviderRewardPeriod, maxRewardPeriod)
	}
	if p.RewardEpoch == 0 {
		return errorsmod.Wrap(ErrInvalidParams, "reward_epoch 0: must be at least 1 block")
	}
	if err := decInRange("validator_bonus", p.ValidatorBonus, math.LegacyOneDec(), math.LegacyNewDec(maxValidatorBonus), true); err != nil {
		return err
	}
	if p.MaxGpus == 0 || p.MaxGpus > maxGPUsLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "max_gpus %d: must be in [1, %d]", p.MaxGpus, maxGPUsLimit)
	}
	return nil
}

// decInRange checks lo ≤ d ≤ hi, or lo < d ≤ hi when the low end is open.
func decInRange(field string, d, lo, hi math.LegacyDec, loClosed bool) error {
	open := "("
	if loClosed {
		open = "["
	}
	if d.IsNil() || d.GT(hi) || d.LT(lo) || (!loClosed && d.Equal(lo)) {
		return errorsmod.Wrapf(ErrInvalidParams, "%s %v: must be in %s%s, %s]", field, d, open, lo, hi)
	}
	return nil
}

// Collateral is what a task at price locks of its provider's bond: collateral_ratio × price,
// rounded up. A bid needs that much bonded and not locked by other tasks.
func (p Params) Collateral(price math.Int) math.Int {
	return p.CollateralRatio.MulInt(price).Ceil().TruncateInt()
}

// CheckHoldFits refuses an unbonding_time shorter than holding a task for hold blocks at
// MaxBlockTime: a provider's collateral must not finish unbonding before a task it backs can end.
func CheckHoldFits(hold uint64, unbonding time.Duration) error {
	if need := time.Duration(hold) * MaxBlockTime; unbonding < need {
		return errorsmod.Wrapf(ErrInvalidParams, "unbonding_time %s: must be at least the longest a task can be held, %d blocks × %s = %s", unbonding, hold, MaxBlockTime, need)
	}
	return nil
}
