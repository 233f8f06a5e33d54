package types

import (
	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

var (
	_ sdk.Msg = &MsgRegisterVerifier{}
	_ sdk.Msg = &MsgDeregisterVerifier{}
	_ sdk.Msg = &MsgUpdateParams{}
)

func validateOperator(op string) error {
	if _, err := sdk.AccAddressFromBech32(op); err != nil {
		return errorsmod.Wrapf(ErrInvalidOperator, "operator %q: %v", op, err)
	}
	return nil
}

// ValidateBasic checks the fields that need no state.
func (m *MsgRegisterVerifier) ValidateBasic() error { return validateOperator(m.Operator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgDeregisterVerifier) ValidateBasic() error { return validateOperator(m.Operator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgUpdateParams) ValidateBasic() error {
	if _, err := sdk.AccAddressFromBech32(m.Authority); err != nil {
		return errorsmod.Wrapf(ErrInvalidAuthority, "authority %q: %v", m.Authority, err)
	}
	return m.Params.Validate()
}

// Valid reports whether the verdict is one a verifier may attest.
func (v AttestedVerdict) Valid() bool { return v >= ATTESTED_VALID && v <= ATTESTED_INPUT_UNAVAILABLE }
