package types

import (
	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

var (
	_ sdk.Msg = &MsgRegisterProvider{}
	_ sdk.Msg = &MsgUpdateProvider{}
	_ sdk.Msg = &MsgDeregisterProvider{}
	_ sdk.Msg = &MsgBond{}
	_ sdk.Msg = &MsgUnbond{}
	_ sdk.Msg = &MsgUnjail{}
	_ sdk.Msg = &MsgWithdrawRewards{}
	_ sdk.Msg = &MsgUpdateParams{}
)

func validateOperator(operator string) error {
	if _, err := sdk.AccAddressFromBech32(operator); err != nil {
		return errorsmod.Wrapf(ErrInvalidOperator, "operator %q: %v", operator, err)
	}
	return nil
}

// validateStakeAmount checks what needs no state: a valid, positive coin. The denom is checked
// against the bond_denom parameter by the keeper.
func validateStakeAmount(c sdk.Coin) error {
	if err := c.Validate(); err != nil || !c.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidAmount, "amount %q: must be a positive amount of the bond denom", c)
	}
	return nil
}

// ValidateBasic checks the fields that need no state.
func (m *MsgRegisterProvider) ValidateBasic() error {
	if err := validateOperator(m.Operator); err != nil {
		return err
	}
	return ValidateProviderSpec(m.Moniker, m.Endpoint, m.Gpus, m.Workloads)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgUpdateProvider) ValidateBasic() error {
	if err := validateOperator(m.Operator); err != nil {
		return err
	}
	return ValidateProviderSpec(m.Moniker, m.Endpoint, m.Gpus, m.Workloads)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgDeregisterProvider) ValidateBasic() error { return validateOperator(m.Operator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgBond) ValidateBasic() error {
	if err := validateOperator(m.Operator); err != nil {
		return err
	}
	return validateStakeAmount(m.Amount)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgUnbond) ValidateBasic() error {
	if err := validateOperator(m.Operator); err != nil {
		return err
	}
	return validateStakeAmount(m.Amount)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgUnjail) ValidateBasic() error { return validateOperator(m.Operator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgWithdrawRewards) ValidateBasic() error { return validateOperator(m.Operator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgUpdateParams) ValidateBasic() error {
	if _, err := sdk.AccAddressFromBech32(m.Authority); err != nil {
		return errorsmod.Wrapf(ErrInvalidAuthority, "authority %q: %v", m.Authority, err)
	}
	return m.Params.Validate()
}
