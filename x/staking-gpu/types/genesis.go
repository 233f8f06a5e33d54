package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// DefaultGenesis has the default params and nothing else: the reward release starts at genesis.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextUnbondingId: 1}
}

// Validate checks the genesis state for consistency.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	providers := make(map[string]struct{}, len(gs.Providers))
	for i, p := range gs.Providers {
		if err := validateOperator(p.Operator); err != nil {
			return errorsmod.Wrapf(err, "providers[%d]", i)
		}
		if _, dup := providers[p.Operator]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "providers[%d] %s: listed twice", i, p.Operator)
		}
		providers[p.Operator] = struct{}{}
		if err := ValidateProviderSpec(p.Moniker, p.Endpoint, p.Gpus, p.Workloads); err != nil {
			return errorsmod.Wrapf(err, "providers[%d]", i)
		}
		if p.Bonded.IsNil() || p.Bonded.IsNegative() || p.WorkUnits.IsNil() || p.WorkUnits.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "providers[%d]: bonded and work_units must be ≥ 0", i)
		}
	}
	ids := make(map[uint64]struct{}, len(gs.UnbondingEntries))
	for i, e := range gs.UnbondingEntries {
		if _, ok := providers[e.Operator]; !ok {
			return errorsmod.Wrapf(ErrInvalidGenesis, "unbonding_entries[%d]: operator %s is not a provider", i, e.Operator)
		}
		if e.Id == 0 || e.Id >= gs.NextUnbondingId {
			return errorsmod.Wrapf(ErrInvalidGenesis, "unbonding_entries[%d].id %d: must be in [1, next_unbonding_id)", i, e.Id)
		}
		if _, dup := ids[e.Id]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "unbonding_entries[%d].id %d: listed twice", i, e.Id)
		}
		ids[e.Id] = struct{}{}
		if e.Amount.IsNil() || !e.Amount.IsPositive() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "unbonding_entries[%d].amount: must be positive", i)
		}
	}
	if gs.NextUnbondingId == 0 {
		return errorsmod.Wrap(ErrInvalidGenesis, "next_unbonding_id: must be at least 1")
	}
	seen := map[string]struct{}{}
	for i, w := range gs.EpochWork {
		if _, ok := providers[w.Operator]; !ok {
			return errorsmod.Wrapf(ErrInvalidGenesis, "epoch_work[%d]: operator %s is not a provider", i, w.Operator)
		}
		if _, dup := seen[w.Operator]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "epoch_work[%d] %s: listed twice", i, w.Operator)
		}
		seen[w.Operator] = struct{}{}
		if w.Weight.IsNil() || !w.Weight.IsPositive() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "epoch_work[%d].weight: must be positive", i)
		}
		if !w.Fees.IsNil() && w.Fees.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "epoch_work[%d].fees: must not be negative", i)
		}
	}
	seen = map[string]struct{}{}
	accrued := math.ZeroInt()
	for i, r := range gs.Rewards {
		if err := validateOperator(r.Operator); err != nil {
			return errorsmod.Wrapf(err, "rewards[%d]", i)
		}
		if _, dup := seen[r.Operator]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "rewards[%d] %s: listed twice", i, r.Operator)
		}
		seen[r.Operator] = struct{}{}
		if r.Amount.IsNil() || !r.Amount.IsPositive() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "rewards[%d].amount: must be positive", i)
		}
		accrued = accrued.Add(r.Amount)
	}
	if pool := gs.RewardPool; pool != nil {
		recycled := pool.Recycled
		if recycled.IsNil() {
			recycled = math.ZeroInt()
		}
		if pool.Total.IsNil() || pool.Released.IsNil() || pool.Allocated.IsNil() || pool.Withdrawn.IsNil() ||
			pool.Total.IsNegative() || pool.Withdrawn.IsNegative() || recycled.IsNegative() ||
			pool.Released.GT(pool.Total) || pool.Allocated.GT(pool.Released.Add(recycled)) || pool.Withdrawn.GT(pool.Allocated) {
			return errorsmod.Wrap(ErrInvalidGenesis, "reward_pool: must have 0 ≤ withdrawn ≤ allocated ≤ released + recycled, released ≤ total and recycled ≥ 0")
		}
		if !pool.Allocated.Sub(pool.Withdrawn).Equal(accrued) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "rewards: sum %s must equal reward_pool allocated − withdrawn %s", accrued, pool.Allocated.Sub(pool.Withdrawn))
		}
	} else if len(gs.Rewards) > 0 {
		return errorsmod.Wrap(ErrInvalidGenesis, "rewards: need a reward_pool")
	}
	return nil
}
