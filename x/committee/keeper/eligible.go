package keeper

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/x/committee/types"
)

// eligible is a verifier that may be drawn now, with its consensus power.
type eligible struct {
	val   sdk.ValAddress
	str   string
	power int64
}

// eligibleVerifiers are the verifiers that may be drawn now (see eligiblePool), leaving out the
// validators operated by the accounts in exclude and the validators in members.
func (k Keeper) eligibleVerifiers(ctx context.Context, exclude []sdk.AccAddress, members []types.Member) ([]eligible, error) {
	pool, err := k.eligiblePool(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]eligible, 0, len(pool))
	for _, e := range pool {
		if memberIndex(members, e.str) >= 0 ||
			slices.ContainsFunc(exclude, func(a sdk.AccAddress) bool { return sdk.AccAddress(e.val).Equals(a) }) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// eligiblePool is the bonded validators that registered as verifiers, are not jailed or benched
// and hold at least min_verifier_stake, in address order. It walks x/staking's bonded set (at
// most max_validators), never the verifier records: anyone can register one of those for a
// validator of 1 aogpu, and a draw must not do work that grows with them.
func (k Keeper) eligiblePool(ctx context.Context) ([]eligible, error) {
	if pool, ok := k.eligible.get(ctx); ok {
		return pool, nil
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	reduction := k.staking.PowerReduction(ctx)
	it, err := k.staking.LastValidatorsIterator(ctx)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var pool []eligible
	for ; it.Valid(); it.Next() {
		val := sdk.ValAddress(slices.Clone(stakingtypes.AddressFromLastValidatorPowerKey(it.Key())))
		v, found, err := k.getVerifier(ctx, val)
		if err != nil {
			return nil, err
		}
		if !found || v.BenchedUntil > h {
			continue
		}
		validator, err := k.staking.GetValidator(ctx, val)
		if errors.Is(err, stakingtypes.ErrNoValidatorFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !validator.IsBonded() || validator.IsJailed() || validator.Tokens.LT(params.MinVerifierStake) {
			continue
		}
		if power := validator.ConsensusPower(reduction); power > 0 {
			pool = append(pool, eligible{val: val, str: v.Validator, power: power})
		}
	}
	// no it.Error() here: a store's cache iterator reports an error once it is exhausted
	k.eligible.put(ctx, pool)
	return pool, nil
}

// BeginBlocker starts the block's eligible-verifier cache empty.
func (k Keeper) BeginBlocker(ctx context.Context) error {
	k.eligible.arm(sdk.UnwrapSDKContext(ctx))
	return nil
}

// eligibleCache remembers the eligible pool of the block being finalized, so that the draws at
// the end of a block (x/compute's EndBlocker draws every committee due) walk the bonded set once.
//
// What it returns must always be what a fresh walk would, or nodes could disagree. So it serves
// only a window in which nothing but this module's own writes changes the pool: FinalizeBlock
// outside transactions (never CheckTx, simulation or proposals, which run on other branches of
// the state, some concurrently; nor a tx, which may delegate, unbond or edit a validator), from
// this module's BeginBlocker, the last one, to the end of its EndBlocker, the last one. There
// x/staking changes the validator set only in its EndBlocker, which runs before x/compute's, and
// nothing walks the pool before x/compute's. Every write of this module that can change the pool
// (register, deregister, bench, slash, params) forgets it, and so does a tally that fails: its
// cache context, where the pool may have been walked after a bench, is dropped.
//
// Keyed by height and block hash and disarmed at the end of EndBlock, it does not outlive its
// block. An optimistic execution aborted before EndBlock leaves it armed but empty: a rerun of
// the same block may fill it in PreBlock, where again only this module's writes change the pool,
// and its BeginBlocker empties it.
type eligibleCache struct {
	mu     sync.Mutex
	armed  bool
	height int64
	hash   []byte
	filled bool
	pool   []eligible
}

// arm starts an empty cache for the block of ctx.
func (c *eligibleCache) arm(ctx sdk.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = ctx.ExecMode() == sdk.ExecModeFinalize
	c.height, c.hash = ctx.BlockHeight(), slices.Clone(ctx.HeaderInfo().Hash)
	c.filled, c.pool = false, nil
}

// disarm ends the block's cache.
func (c *eligibleCache) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.filled, c.pool = false, false, nil
}

// forget drops the pool after a change to it; the next draw walks the bonded set again.
func (c *eligibleCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.filled, c.pool = false, nil
}

// usable reports whether ctx is in the window the cache serves; c.mu is held.
func (c *eligibleCache) usable(ctx context.Context) bool {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	return c.armed && sdkCtx.ExecMode() == sdk.ExecModeFinalize && len(sdkCtx.TxBytes()) == 0 &&
		sdkCtx.BlockHeight() == c.height && bytes.Equal(sdkCtx.HeaderInfo().Hash, c.hash)
}

func (c *eligibleCache) get(ctx context.Context) ([]eligible, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.filled || !c.usable(ctx) {
		return nil, false
	}
	return c.pool, true
}

func (c *eligibleCache) put(ctx context.Context, pool []eligible) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.usable(ctx) {
		c.filled, c.pool = true, pool
	}
}
