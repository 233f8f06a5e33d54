package types

import (
	errorsmod "cosmossdk.io/errors"
)

// DefaultGenesis has the default params and no tasks.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextTaskId: 1}
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
	return nil
}
