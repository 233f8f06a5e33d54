package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

var _ sdk.Msg = &MsgSpend{}

// ValidateBasic checks the fields that need no state.
func (m *MsgSpend) ValidateBasic() error {
	if !IsGoverned(m.Pool) {
		return errorsmod.Wrapf(ErrUnknownPool, "pool %q: must be one of %v", m.Pool, GovernedPools)
	}
	if !m.Amount.IsValid() || m.Amount.IsZero() {
		return errorsmod.Wrapf(ErrInvalidAmount, "amount %q: must be positive, sorted, valid coins", m.Amount)
	}
	return nil
}
