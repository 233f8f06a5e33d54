package keeper

import (
	"cosmossdk.io/collections"
	"cosmossdk.io/collections/indexes"
	"cosmossdk.io/core/address"
	corestore "cosmossdk.io/core/store"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

// TaskIndexes find tasks by state, creator and assigned provider without scanning.
type TaskIndexes struct {
	ByState    *indexes.Multi[int32, uint64, types.Task]
	ByCreator  *indexes.Multi[sdk.AccAddress, uint64, types.Task]
	ByProvider *indexes.Multi[sdk.AccAddress, uint64, types.Task]
}

// IndexesList implements collections.Indexes.
func (i TaskIndexes) IndexesList() []collections.Index[uint64, types.Task] {
	return []collections.Index[uint64, types.Task]{i.ByState, i.ByCreator, i.ByProvider}
}

// StreamIndexes find streams by state and creator without scanning.
type StreamIndexes struct {
	ByState   *indexes.Multi[int32, uint64, types.Stream]
	ByCreator *indexes.Multi[sdk.AccAddress, uint64, types.Stream]
}

// IndexesList implements collections.Indexes.
func (i StreamIndexes) IndexesList() []collections.Index[uint64, types.Stream] {
	return []collections.Index[uint64, types.Stream]{i.ByState, i.ByCreator}
}

// commitmentKey is (stream, provider, period).
type commitmentKey = collections.Triple[uint64, sdk.AccAddress, uint64]

// committeeRef is shared by every copy of the keeper, so x/committee can be wired in later.
type committeeRef struct{ types.CommitteeKeeper }

// Keeper owns tasks, bids and their escrow.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	authority    string
	bank         types.BankKeeper
	providers    types.ProviderKeeper
	accounts     types.AccountKeeper
	committee    *committeeRef

	Schema collections.Schema
	Params collections.Item[types.Params]
	Tasks  *collections.IndexedMap[uint64, types.Task, TaskIndexes]
	// TaskSeq gives task ids, from 1.
	TaskSeq collections.Sequence
	// Bids are keyed by (task, provider).
	Bids collections.Map[collections.Pair[uint64, sdk.AccAddress], types.Bid]
	// Timers hold (height, task) for the end of each open task's current stage.
	Timers collections.KeySet[collections.Pair[int64, uint64]]
	// ActiveByProvider holds (provider, task) for tasks assigned and not yet final.
	ActiveByProvider collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]

	Streams *collections.IndexedMap[uint64, types.Stream, StreamIndexes]
	// StreamSeq gives stream ids, from 1: streams have their own id space.
	StreamSeq collections.Sequence
	// Subscriptions are an OPEN stream's offers, keyed by (stream, provider).
	Subscriptions collections.Map[collections.Pair[uint64, sdk.AccAddress], types.Subscription]
	// Commitments are keyed by (stream, provider, period).
	Commitments collections.Map[commitmentKey, types.ReceiptCommitment]
	// StreamClaims are keyed by (stream, provider), for every provider that held a slot.
	StreamClaims collections.Map[collections.Pair[uint64, sdk.AccAddress], types.StreamClaim]
	// StreamsByProvider holds (provider, stream) for the serving replicas of unsettled streams.
	StreamsByProvider collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// StreamTimers hold (height, stream) for the end of each stream's stage or period.
	StreamTimers collections.KeySet[collections.Pair[int64, uint64]]
	// SampleDraws hold (height, commitment) for commitments whose samples that block draws.
	SampleDraws collections.KeySet[collections.Pair[int64, commitmentKey]]
	// StreamDeadlines hold (height, commitment) for the last height of a commitment or a reveal.
	StreamDeadlines collections.KeySet[collections.Pair[int64, commitmentKey]]
}

// NewKeeper builds the keeper; authority is the governance module address.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService corestore.KVStoreService,
	addressCodec address.Codec,
	authority string,
	bank types.BankKeeper,
	providers types.ProviderKeeper,
	accounts types.AccountKeeper,
) Keeper {
	sb := collections.NewSchemaBuilder(storeService)
	addr := func(s string) (sdk.AccAddress, error) {
		if s == "" {
			return sdk.AccAddress{}, nil
		}
		return addressCodec.StringToBytes(s)
	}
	k := Keeper{
		cdc:          cdc,
		addressCodec: addressCodec,
		authority:    authority,
		bank:         bank,
		providers:    providers,
		accounts:     accounts,
		committee:    &committeeRef{},
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Tasks: collections.NewIndexedMap(sb, types.TasksKey, "tasks", collections.Uint64Key, codec.CollValue[types.Task](cdc),
			TaskIndexes{
				ByState: indexes.NewMulti(sb, types.TasksByStateKey, "tasks_by_state", collections.Int32Key, collections.Uint64Key,
					func(_ uint64, t types.Task) (int32, error) { return int32(t.State), nil }),
				ByCreator: indexes.NewMulti(sb, types.TasksByCreatorKey, "tasks_by_creator", sdk.AccAddressKey, collections.Uint64Key,
					func(_ uint64, t types.Task) (sdk.AccAddress, error) { return addr(t.Creator) }),
				ByProvider: indexes.NewMulti(sb, types.TasksByProviderKey, "tasks_by_provider", sdk.AccAddressKey, collections.Uint64Key,
					func(_ uint64, t types.Task) (sdk.AccAddress, error) { return addr(t.Provider) }),
			}),
		TaskSeq:          collections.NewSequence(sb, types.TaskSeqKey, "task_seq"),
		Bids:             collections.NewMap(sb, types.BidsKey, "bids", collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.Bid](cdc)),
		Timers:           collections.NewKeySet(sb, types.TimersKey, "timers", collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		ActiveByProvider: collections.NewKeySet(sb, types.ActiveByProviderKey, "active_by_provider", collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		Streams: collections.NewIndexedMap(sb, types.StreamsKey, "streams", collections.Uint64Key, codec.CollValue[types.Stream](cdc),
			StreamIndexes{
				ByState: indexes.NewMulti(sb, types.StreamsByStateKey, "streams_by_state", collections.Int32Key, collections.Uint64Key,
					func(_ uint64, s types.Stream) (int32, error) { return int32(s.State), nil }),
				ByCreator: indexes.NewMulti(sb, types.StreamsByCreatorKey, "streams_by_creator", sdk.AccAddressKey, collections.Uint64Key,
					func(_ uint64, s types.Stream) (sdk.AccAddress, error) { return addr(s.Creator) }),
			}),
		StreamSeq:         collections.NewSequence(sb, types.StreamSeqKey, "stream_seq"),
		Subscriptions:     collections.NewMap(sb, types.SubscriptionsKey, "subscriptions", collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.Subscription](cdc)),
		Commitments:       collections.NewMap(sb, types.CommitmentsKey, "commitments", commitmentKeyCodec, codec.CollValue[types.ReceiptCommitment](cdc)),
		StreamClaims:      collections.NewMap(sb, types.StreamClaimsKey, "stream_claims", collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.StreamClaim](cdc)),
		StreamsByProvider: collections.NewKeySet(sb, types.StreamsByProviderKey, "streams_by_provider", collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		StreamTimers:      collections.NewKeySet(sb, types.StreamTimersKey, "stream_timers", collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		SampleDraws:       collections.NewKeySet(sb, types.SampleDrawsKey, "sample_draws", collections.PairKeyCodec(collections.Int64Key, commitmentKeyCodec)),
		StreamDeadlines:   collections.NewKeySet(sb, types.StreamDeadlinesKey, "stream_deadlines", collections.PairKeyCodec(collections.Int64Key, commitmentKeyCodec)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err) // a schema error is a programming error caught at start-up
	}
	k.Schema = schema
	return k
}

var commitmentKeyCodec = collections.TripleKeyCodec(collections.Uint64Key, sdk.AccAddressKey, collections.Uint64Key)

// SetCommittee wires x/committee in: it draws each assigned task's committee.
func (k Keeper) SetCommittee(c types.CommitteeKeeper) { k.committee.CommitteeKeeper = c }

// Authority returns the address allowed to update the params.
func (k Keeper) Authority() string { return k.authority }

func (k Keeper) str(a sdk.AccAddress) string {
	s, err := k.addressCodec.BytesToString(a)
	if err != nil {
		return a.String()
	}
	return s
}
