package types

import errorsmod "cosmossdk.io/errors"

// DefaultGenesis has the default params and no verifiers.
func DefaultGenesis() *GenesisState { return &GenesisState{Params: DefaultParams()} }

// Validate checks the genesis state.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, v := range gs.Verifiers {
		if v.Validator == "" || seen[v.Validator] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "verifiers[%d] %q: empty or listed twice", i, v.Validator)
		}
		seen[v.Validator] = true
	}
	tasks := map[uint64]bool{}
	for i, c := range gs.Committees {
		if tasks[c.TaskId] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "committees[%d]: task %d listed twice", i, c.TaskId)
		}
		tasks[c.TaskId] = true
	}
	for i, a := range gs.Attestations {
		if !tasks[a.TaskId] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "attestations[%d]: task %d has no committee", i, a.TaskId)
		}
		if a.Height != 0 && !a.Verdict.Valid() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "attestations[%d]: verdict %s", i, a.Verdict)
		}
	}
	for i, p := range gs.Tallies {
		if !tasks[p.TaskId] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "tallies[%d]: task %d has no committee", i, p.TaskId)
		}
	}
	return nil
}
