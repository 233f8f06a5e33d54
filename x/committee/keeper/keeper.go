package keeper

import (
	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	corestore "cosmossdk.io/core/store"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/committee/types"
)

// computeRef is shared by every copy of the keeper: x/compute is built after this keeper.
type computeRef struct{ types.ComputeKeeper }

// Keeper owns verifiers, the committee of each task being verified, and their attestations.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	valCodec     address.Codec
	authority    string
	staking      types.StakingKeeper
	compute      *computeRef
	// eligible is shared by every copy of the keeper, like compute.
	eligible *eligibleCache

	Schema     collections.Schema
	Params     collections.Item[types.Params]
	Verifiers  collections.Map[sdk.ValAddress, types.Verifier]
	Committees collections.Map[uint64, types.Committee]
	// Attestations are keyed by (task, validator).
	Attestations collections.Map[collections.Pair[uint64, sdk.ValAddress], types.RecordedAttestation]
	// Tallies hold (height, task) for a verdict that waits for its last reveals until height.
	Tallies collections.KeySet[collections.Pair[int64, uint64]]
	// PreviousCaps are the vote extension caps before the last params update that changed them.
	PreviousCaps collections.Item[types.PreviousExtensionCaps]
}

// NewKeeper builds the keeper; authority is the governance module address.
func NewKeeper(cdc codec.BinaryCodec, storeService corestore.KVStoreService, addressCodec, valCodec address.Codec,
	authority string, staking types.StakingKeeper,
) Keeper {
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc: cdc, addressCodec: addressCodec, valCodec: valCodec, authority: authority, staking: staking, compute: &computeRef{}, eligible: &eligibleCache{},
		Params:     collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Verifiers:  collections.NewMap(sb, types.VerifiersKey, "verifiers", sdk.ValAddressKey, codec.CollValue[types.Verifier](cdc)),
		Committees: collections.NewMap(sb, types.CommitteesKey, "committees", collections.Uint64Key, codec.CollValue[types.Committee](cdc)),
		Attestations: collections.NewMap(sb, types.AttestationsKey, "attestations",
			collections.PairKeyCodec(collections.Uint64Key, sdk.ValAddressKey), codec.CollValue[types.RecordedAttestation](cdc)),
		Tallies:      collections.NewKeySet(sb, types.TalliesKey, "tallies", collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		PreviousCaps: collections.NewItem(sb, types.PreviousCapsKey, "previous_caps", codec.CollValue[types.PreviousExtensionCaps](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err) // a schema error is a programming error caught at start-up
	}
	k.Schema = schema
	return k
}

// SetCompute wires x/compute in: verdicts go to it.
func (k Keeper) SetCompute(c types.ComputeKeeper) { k.compute.ComputeKeeper = c }

// Authority returns the address allowed to update the params.
func (k Keeper) Authority() string { return k.authority }
