package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// DefaultGenesis has the default params and no tasks.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextTaskId: 1, NextStreamId: 1}
}

// Validate checks the genesis state for consistency.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.NextTaskId == 0 {
		return errorsmod.Wrap(ErrInvalidGenesis, "next_task_id: must be at least 1")
	}
	tasks := make(map[uint64]TaskState, len(gs.Tasks))
	for i, t := range gs.Tasks {
		if t.Id == 0 || t.Id >= gs.NextTaskId {
			return errorsmod.Wrapf(ErrInvalidGenesis, "tasks[%d].id %d: must be in [1, next_task_id)", i, t.Id)
		}
		if _, dup := tasks[t.Id]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "tasks[%d].id %d: listed twice", i, t.Id)
		}
		tasks[t.Id] = t.State
		if err := validateAddress("creator", t.Creator); err != nil {
			return errorsmod.Wrapf(err, "tasks[%d]", i)
		}
		if t.State == TASK_STATE_UNSPECIFIED || TaskState_name[int32(t.State)] == "" {
			return errorsmod.Wrapf(ErrInvalidGenesis, "tasks[%d].state %d: unknown", i, t.State)
		}
		if t.Escrow.IsNil() || t.Escrow.IsNegative() || (t.State.IsFinal() && !t.Escrow.IsZero()) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "tasks[%d].escrow: must be ≥ 0, and 0 once final", i)
		}
		if t.State.HasAssignee() && t.Provider == "" {
			return errorsmod.Wrapf(ErrInvalidGenesis, "tasks[%d]: assigned without a provider", i)
		}
	}
	type bidKey struct {
		task     uint64
		provider string
	}
	bids := map[bidKey]struct{}{}
	for i, b := range gs.Bids {
		if _, ok := tasks[b.TaskId]; !ok {
			return errorsmod.Wrapf(ErrInvalidGenesis, "bids[%d].task_id %d: no such task", i, b.TaskId)
		}
		if err := validateAddress("provider", b.Provider); err != nil {
			return errorsmod.Wrapf(err, "bids[%d]", i)
		}
		k := bidKey{b.TaskId, b.Provider}
		if _, dup := bids[k]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "bids[%d]: provider %s bid twice on task %d", i, b.Provider, b.TaskId)
		}
		bids[k] = struct{}{}
		if b.Price.IsNil() || !b.Price.IsPositive() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "bids[%d].price: must be positive", i)
		}
	}
	return gs.validateStreams()
}

// validateStreams checks the streams and the records that refer to them.
func (gs GenesisState) validateStreams() error {
	if len(gs.Streams) > 0 && gs.NextStreamId == 0 {
		return errorsmod.Wrap(ErrInvalidGenesis, "next_stream_id: must be at least 1")
	}
	streams := make(map[uint64]uint32, len(gs.Streams)) // id → replicas
	for i, s := range gs.Streams {
		if s.Id == 0 || s.Id >= gs.NextStreamId {
			return errorsmod.Wrapf(ErrInvalidGenesis, "streams[%d].id %d: must be in [1, next_stream_id)", i, s.Id)
		}
		if _, dup := streams[s.Id]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "streams[%d].id %d: listed twice", i, s.Id)
		}
		streams[s.Id] = s.Replicas
		if err := validateAddress("creator", s.Creator); err != nil {
			return errorsmod.Wrapf(err, "streams[%d]", i)
		}
		if s.State == STREAM_STATE_UNSPECIFIED || StreamState_name[int32(s.State)] == "" {
			return errorsmod.Wrapf(ErrInvalidGenesis, "streams[%d].state %d: unknown", i, s.State)
		}
		for _, f := range []struct {
			name string
			v    math.Int
		}{{"budget", s.Budget}, {"escrow", s.Escrow}, {"committee_fee", s.CommitteeFee}, {"security_deposit", s.SecurityDeposit}, {"claimed", s.Claimed}, {"refunded", s.Refunded}} {
			if f.v.IsNil() || f.v.IsNegative() {
				return errorsmod.Wrapf(ErrInvalidGenesis, "streams[%d].%s: must be ≥ 0", i, f.name)
			}
		}
		if s.Replicas == 0 || len(s.SlotClaimed) != int(s.Replicas) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "streams[%d].slot_claimed: %d entries, must be one per replica (%d)", i, len(s.SlotClaimed), s.Replicas)
		}
		if s.Settled && !s.Escrow.IsZero() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "streams[%d].escrow: must be 0 once settled", i)
		}
		for j, r := range s.Serving {
			if err := validateAddress("provider", r.Provider); err != nil {
				return errorsmod.Wrapf(err, "streams[%d].serving[%d]", i, j)
			}
			if r.Slot >= s.Replicas {
				return errorsmod.Wrapf(ErrInvalidGenesis, "streams[%d].serving[%d].slot %d: must be below replicas %d", i, j, r.Slot, s.Replicas)
			}
		}
	}
	for i, sub := range gs.Subscriptions {
		if _, ok := streams[sub.StreamId]; !ok {
			return errorsmod.Wrapf(ErrInvalidGenesis, "subscriptions[%d].stream_id %d: no such stream", i, sub.StreamId)
		}
		if err := validateAddress("provider", sub.Subscription.Provider); err != nil {
			return errorsmod.Wrapf(err, "subscriptions[%d]", i)
		}
	}
	for i, c := range gs.Commitments {
		if _, ok := streams[c.StreamId]; !ok {
			return errorsmod.Wrapf(ErrInvalidGenesis, "commitments[%d].stream_id %d: no such stream", i, c.StreamId)
		}
		if err := validateAddress("provider", c.Provider); err != nil {
			return errorsmod.Wrapf(err, "commitments[%d]", i)
		}
		if c.ClaimedInPeriod.IsNil() || c.ClaimedInPeriod.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "commitments[%d].claimed_in_period: must be ≥ 0", i)
		}
	}
	for i, c := range gs.Claims {
		replicas, ok := streams[c.StreamId]
		if !ok {
			return errorsmod.Wrapf(ErrInvalidGenesis, "claims[%d].stream_id %d: no such stream", i, c.StreamId)
		}
		if c.Slot >= replicas {
			return errorsmod.Wrapf(ErrInvalidGenesis, "claims[%d].slot %d: must be below the stream's replicas %d", i, c.Slot, replicas)
		}
		if c.Claimed.IsNil() || c.Claimed.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "claims[%d].claimed: must be ≥ 0", i)
		}
		if err := validateAddress("provider", c.Provider); err != nil {
			return errorsmod.Wrapf(err, "claims[%d]", i)
		}
	}
	return nil
}
