package keeper

import (
	"context"
	"time"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// Bond moves amount from the operator's account into the provider's bonded stake.
func (k Keeper) Bond(ctx context.Context, operator sdk.AccAddress, amount sdk.Coin) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := checkStakeCoin(amount, params.BondDenom); err != nil {
		return err
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, operator, types.ModuleName, sdk.NewCoins(amount)); err != nil {
		return errorsmod.Wrapf(err, "bond %s", amount)
	}
	p.Bonded = p.Bonded.Add(amount.Amount)
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventBonded{
		Operator: p.Operator, Amount: amount.Amount, Bonded: p.Bonded,
	})
}

// Unbond moves amount from bonded stake into a new unbonding entry that matures after
// unbonding_time. The entry stays slashable until then.
func (k Keeper) Unbond(ctx context.Context, operator sdk.AccAddress, amount sdk.Coin) (uint64, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	if err := checkStakeCoin(amount, params.BondDenom); err != nil {
		return 0, err
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return 0, err
	}
	if amount.Amount.GT(p.Bonded) {
		return 0, errorsmod.Wrapf(types.ErrInsufficientBond, "amount %s: more than the %s%s bonded", amount, p.Bonded, params.BondDenom)
	}
	if free := p.Bonded.Sub(p.Locked); amount.Amount.GT(free) {
		held, err := k.work.HeldTasks(ctx, operator, 10)
		if err != nil {
			return 0, err
		}
		return 0, errorsmod.Wrapf(types.ErrCollateralLocked, "amount %s: %s%s of the %s%s bonded is locked as collateral of held tasks %v; at most %s%s can be unbonded until they end",
			amount, p.Locked, params.BondDenom, p.Bonded, params.BondDenom, held, math.MaxInt(free, math.ZeroInt()), params.BondDenom)
	}
	id, err := k.UnbondingSeq.Next(ctx)
	if err != nil {
		return 0, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	entry := types.UnbondingEntry{
		Id:             id,
		Operator:       p.Operator,
		Amount:         amount.Amount,
		CreationHeight: sdkCtx.BlockHeight(),
		CompletionTime: sdkCtx.BlockTime().Add(params.UnbondingTime),
	}
	if err := k.Unbonding.Set(ctx, id, entry); err != nil {
		return 0, err
	}
	p.Bonded = p.Bonded.Sub(amount.Amount)
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return 0, err
	}
	return id, sdkCtx.EventManager().EmitTypedEvent(&types.EventUnbonding{
		Operator: p.Operator, EntryId: id, Amount: amount.Amount, CompletionTime: entry.CompletionTime,
	})
}

// maxUnbondingsPerBlock bounds the entries one block pays out; the rest wait for the next
// block, in completion order.
const maxUnbondingsPerBlock = 256

// CompleteUnbondings pays out the unbonding entries whose completion time has passed, at most
// maxUnbondingsPerBlock a block. Each entry is paid in its own cache: one that cannot be paid is
// logged, reported by an event and retried next block, and cannot halt the chain.
func (k Keeper) CompleteUnbondings(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	ids, err := k.maturedUnbondings(ctx, sdkCtx.BlockTime(), maxUnbondingsPerBlock)
	if err != nil {
		return err
	}
	for _, id := range ids {
		cacheCtx, write := sdkCtx.CacheContext()
		if err := k.completeUnbonding(cacheCtx, params, id); err != nil {
			sdkCtx.Logger().Error("staking-gpu: unbonding entry not paid; retrying next block", "entry", id, "err", err)
			entry, _ := k.Unbonding.Get(ctx, id)
			if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventUnbondingDeferred{Operator: entry.Operator, EntryId: id, Error: err.Error()}); err != nil {
				return err
			}
			continue
		}
		write()
	}
	return nil
}

// maturedUnbondings are the ids of up to max entries complete at now, collected before any is
// removed.
func (k Keeper) maturedUnbondings(ctx context.Context, now time.Time, max int) ([]uint64, error) {
	it, err := k.Unbonding.Indexes.ByCompletion.Iterate(ctx, collections.NewPrefixUntilPairRange[time.Time, uint64](now))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var ids []uint64
	for ; it.Valid() && len(ids) < max; it.Next() {
		id, err := it.PrimaryKey()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (k Keeper) completeUnbonding(ctx context.Context, params types.Params, id uint64) error {
	entry, err := k.Unbonding.Get(ctx, id)
	if err != nil {
		return err
	}
	operator, err := k.addressCodec.StringToBytes(entry.Operator)
	if err != nil {
		return err
	}
	coins := sdk.NewCoins(sdk.NewCoin(params.BondDenom, entry.Amount))
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, operator, coins); err != nil {
		return errorsmod.Wrapf(err, "pay out unbonding entry %d", id)
	}
	if err := k.Unbonding.Remove(ctx, id); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventUnbondingCompleted{
		Operator: entry.Operator, EntryId: id, Amount: entry.Amount,
	})
}

// Slash takes fraction of the provider's stake (bonded plus unbonding), from bonded stake first
// and then from unbonding entries, newest first, and sends it to the community pool. It returns
// the amount taken, rounded down.
func (k Keeper) Slash(ctx context.Context, operator sdk.AccAddress, fraction math.LegacyDec, reason string) (math.Int, error) {
	slashed, _, err := k.slash(ctx, operator, fraction, reason, nil)
	return slashed, err
}

// slash takes fraction of the provider's stake; the slashed coins pay payees first, in order,
// each at most its amount, and the rest goes to the community pool.
func (k Keeper) slash(ctx context.Context, operator sdk.AccAddress, fraction math.LegacyDec, reason string, payees []types.Payee) (math.Int, []math.Int, error) {
	if fraction.IsNil() || !fraction.IsPositive() || fraction.GT(math.LegacyOneDec()) {
		return math.ZeroInt(), nil, errorsmod.Wrapf(types.ErrInvalidSlashFraction, "fraction %v: must be in (0, 1]", fraction)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return math.ZeroInt(), nil, err
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return math.ZeroInt(), nil, err
	}
	unbonding, entries, err := k.unbondingOf(ctx, operator)
	if err != nil {
		return math.ZeroInt(), nil, err
	}
	target := fraction.MulInt(p.Bonded.Add(unbonding)).TruncateInt()
	remaining := target

	fromBond := math.MinInt(remaining, p.Bonded)
	p.Bonded = p.Bonded.Sub(fromBond)
	remaining = remaining.Sub(fromBond)
	for i := len(entries) - 1; i >= 0 && remaining.IsPositive(); i-- { // entries are oldest first
		e := entries[i]
		take := math.MinInt(remaining, e.Amount)
		e.Amount = e.Amount.Sub(take)
		remaining = remaining.Sub(take)
		if e.Amount.IsZero() {
			err = k.Unbonding.Remove(ctx, e.Id)
		} else {
			err = k.Unbonding.Set(ctx, e.Id, e)
		}
		if err != nil {
			return math.ZeroInt(), nil, err
		}
	}
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return math.ZeroInt(), nil, err
	}
	paid := make([]math.Int, len(payees))
	rest := target
	for i, pe := range payees {
		paid[i] = math.MinInt(rest, pe.Amount)
		if !paid[i].IsPositive() {
			paid[i] = math.ZeroInt()
			continue
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, pe.Address, sdk.NewCoins(sdk.NewCoin(params.BondDenom, paid[i]))); err != nil {
			return math.ZeroInt(), nil, errorsmod.Wrapf(err, "pay %s out of the slash of %s", pe.Address, p.Operator)
		}
		rest = rest.Sub(paid[i])
	}
	if rest.IsPositive() {
		coins := sdk.NewCoins(sdk.NewCoin(params.BondDenom, rest))
		if err := k.community.FundCommunityPool(ctx, coins, authtypes.NewModuleAddress(types.ModuleName)); err != nil {
			return math.ZeroInt(), nil, errorsmod.Wrapf(err, "send slashed stake of %s to the community pool", p.Operator)
		}
	}
	return target, paid, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderSlashed{
		Operator: p.Operator, Fraction: fraction, Amount: target, Reason: reason,
	})
}

// Jail stops the provider from bidding until it sends MsgUnjail after until. Jailing an already
// jailed provider extends its term if until is later.
func (k Keeper) Jail(ctx context.Context, operator sdk.AccAddress, until time.Time) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if !p.Jailed || until.After(p.JailedUntil) {
		p.JailedUntil = until
	}
	p.Jailed = true
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderJailed{Operator: p.Operator, Until: p.JailedUntil})
}

// Unjail lets a jailed provider bid again once its jail term is over.
func (k Keeper) Unjail(ctx context.Context, operator sdk.AccAddress) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if !p.Jailed {
		return errorsmod.Wrapf(types.ErrNotJailed, "operator %s", p.Operator)
	}
	now := sdk.UnwrapSDKContext(ctx).BlockTime()
	if now.Before(p.JailedUntil) {
		return errorsmod.Wrapf(types.ErrJailPeriodNotOver, "operator %s is jailed until %s; block time is %s", p.Operator, p.JailedUntil.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	p.Jailed = false
	p.JailedUntil = time.Time{}
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderUnjailed{Operator: p.Operator})
}

// unbondingOf returns the sum and the entries (oldest first) of the operator's unbonding stake.
func (k Keeper) unbondingOf(ctx context.Context, operator sdk.AccAddress) (math.Int, []types.UnbondingEntry, error) {
	it, err := k.Unbonding.Indexes.ByOperator.MatchExact(ctx, operator)
	if err != nil {
		return math.ZeroInt(), nil, err
	}
	ids, err := it.PrimaryKeys()
	if err != nil {
		return math.ZeroInt(), nil, err
	}
	sum := math.ZeroInt()
	entries := make([]types.UnbondingEntry, 0, len(ids))
	for _, id := range ids {
		e, err := k.Unbonding.Get(ctx, id)
		if err != nil {
			return math.ZeroInt(), nil, err
		}
		sum = sum.Add(e.Amount)
		entries = append(entries, e)
	}
	return sum, entries, nil
}

func checkStakeCoin(c sdk.Coin, denom string) error {
	if c.Denom != denom || c.Amount.IsNil() || !c.Amount.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "amount %q: must be a positive amount of %s", c, denom)
	}
	return nil
}

// PenalizeFraud is what a result found invalid costs a provider: fraud_slash_fraction of its
// stake, jail for jail_duration, and a failure in its record. The slash pays payees first (the
// committee that caught it, the client whose dispute proved it), the rest goes to the
// community pool; paid[i] is what payees[i] got.
func (k Keeper) PenalizeFraud(ctx context.Context, operator sdk.AccAddress, reason string, payees []types.Payee) (math.Int, []math.Int, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return math.ZeroInt(), nil, err
	}
	slashed, paid, err := k.slash(ctx, operator, params.FraudSlashFraction, reason, payees)
	if err != nil {
		return math.ZeroInt(), nil, err
	}
	until := sdk.UnwrapSDKContext(ctx).BlockTime().Add(params.JailDuration)
	if err := k.Jail(ctx, operator, until); err != nil {
		return math.ZeroInt(), nil, err
	}
	return slashed, paid, k.RecordFailure(ctx, operator)
}
