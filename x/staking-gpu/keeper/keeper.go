package keeper

import (
	"time"

	"cosmossdk.io/collections"
	"cosmossdk.io/collections/indexes"
	"cosmossdk.io/core/address"
	corestore "cosmossdk.io/core/store"
	"cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

// UnbondingIndexes find unbonding entries by provider (for slashing and queries) and by
// completion time (for paying out in EndBlock).
type UnbondingIndexes struct {
	ByOperator   *indexes.Multi[sdk.AccAddress, uint64, types.UnbondingEntry]
	ByCompletion *indexes.Multi[time.Time, uint64, types.UnbondingEntry]
}

// IndexesList implements collections.Indexes.
func (i UnbondingIndexes) IndexesList() []collections.Index[uint64, types.UnbondingEntry] {
	return []collections.Index[uint64, types.UnbondingEntry]{i.ByOperator, i.ByCompletion}
}

// workTrackerRef is shared by every copy of the keeper, so x/compute can be wired in after
// this keeper is built.
type workTrackerRef struct{ types.WorkTracker }

// Keeper owns provider records, provider stake and the release of the provider rewards pool.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	authority    string
	bank         types.BankKeeper
	community    types.CommunityPool
	validators   types.ValidatorSet
	work         *workTrackerRef

	Schema       collections.Schema
	Params       collections.Item[types.Params]
	Providers    collections.Map[sdk.AccAddress, types.Provider]
	Unbonding    *collections.IndexedMap[uint64, types.UnbondingEntry, UnbondingIndexes]
	UnbondingSeq collections.Sequence
	RewardPool   collections.Item[types.RewardPool]
	// EpochWork is the weighted work of each provider in the current reward epoch, and the
	// protocol fees its tasks paid in it.
	EpochWork collections.Map[sdk.AccAddress, types.EpochWork]
	// Rewards are credited and not yet withdrawn, per provider.
	Rewards collections.Map[sdk.AccAddress, math.Int]
}

// NewKeeper builds the keeper; authority is the governance module address.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService corestore.KVStoreService,
	addressCodec address.Codec,
	authority string,
	bank types.BankKeeper,
	community types.CommunityPool,
	validators types.ValidatorSet,
) Keeper {
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc:          cdc,
		addressCodec: addressCodec,
		authority:    authority,
		bank:         bank,
		community:    community,
		validators:   validators,
		work:         &workTrackerRef{},
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Providers:    collections.NewMap(sb, types.ProvidersKey, "providers", sdk.AccAddressKey, codec.CollValue[types.Provider](cdc)),
		UnbondingSeq: collections.NewSequence(sb, types.UnbondingSeqKey, "unbonding_seq"),
		RewardPool:   collections.NewItem(sb, types.RewardPoolKey, "reward_pool", codec.CollValue[types.RewardPool](cdc)),
		EpochWork:    collections.NewMap(sb, types.EpochWorkKey, "epoch_work", sdk.AccAddressKey, codec.CollValue[types.EpochWork](cdc)),
		Rewards:      collections.NewMap(sb, types.RewardsKey, "rewards", sdk.AccAddressKey, sdk.IntValue),
	}
	k.Unbonding = collections.NewIndexedMap(sb, types.UnbondingKey, "unbonding", collections.Uint64Key,
		codec.CollValue[types.UnbondingEntry](cdc),
		UnbondingIndexes{
			ByOperator: indexes.NewMulti(sb, types.UnbondingByOperatorKey, "unbonding_by_operator",
				sdk.AccAddressKey, collections.Uint64Key,
				func(_ uint64, e types.UnbondingEntry) (sdk.AccAddress, error) {
					return addressCodec.StringToBytes(e.Operator)
				}),
			ByCompletion: indexes.NewMulti(sb, types.UnbondingByCompletionKey, "unbonding_by_completion",
				sdk.TimeKey, collections.Uint64Key,
				func(_ uint64, e types.UnbondingEntry) (time.Time, error) { return e.CompletionTime, nil }),
		})
	schema, err := sb.Build()
	if err != nil {
		panic(err) // a schema error is a programming error caught at start-up
	}
	k.Schema = schema
	return k
}

// SetWorkTracker wires x/compute in, so deregistering can check for open work.
func (k Keeper) SetWorkTracker(w types.WorkTracker) { k.work.WorkTracker = w }

// Authority returns the address allowed to update the params.
func (k Keeper) Authority() string { return k.authority }

// AddressCodec returns the account address codec.
func (k Keeper) AddressCodec() address.Codec { return k.addressCodec }
