package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

var (
	_ sdk.Msg = &MsgCreateTask{}
	_ sdk.Msg = &MsgCancelTask{}
	_ sdk.Msg = &MsgBid{}
	_ sdk.Msg = &MsgWithdrawBid{}
	_ sdk.Msg = &MsgSubmitResult{}
	_ sdk.Msg = &MsgReportInputUnavailable{}
	_ sdk.Msg = &MsgAcceptResult{}
	_ sdk.Msg = &MsgDisputeResult{}
	_ sdk.Msg = &MsgUpdateParams{}
)

// MaxAmount bounds every price: no more oGPU than the whole supply (21,000,000 OGPU in aogpu).
// It also keeps the ratio arithmetic on prices far from math.Int's limits.
var MaxAmount = math.NewIntWithDecimal(21_000_000, 18)

func validateAddress(field, addr string) error {
	if _, err := sdk.AccAddressFromBech32(addr); err != nil {
		return errorsmod.Wrapf(ErrInvalidAddress, "%s %q: %v", field, addr, err)
	}
	return nil
}

// ValidateBasic checks the fields that need no state; limits that are parameters are checked by
// the keeper.
func (m *MsgCreateTask) ValidateBasic() error {
	if err := validateAddress("creator", m.Creator); err != nil {
		return err
	}
	if _, err := m.Workload.Validate(m.Inputs); err != nil {
		return err
	}
	if err := m.Requirements.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidRequirement, "requirements: %v", err)
	}
	if m.Requirements.Workload != m.Workload.Name {
		return errorsmod.Wrapf(ErrInvalidRequirement, "requirements.workload %q: must equal workload.name %q", m.Requirements.Workload, m.Workload.Name)
	}
	if err := m.MaxPrice.Validate(); err != nil || !m.MaxPrice.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidPrice, "max_price %q: must be a positive amount of the market denom", m.MaxPrice)
	}
	if m.MaxPrice.Amount.GT(MaxAmount) {
		return errorsmod.Wrapf(ErrInvalidPrice, "max_price %s: must be at most the whole supply, %s", m.MaxPrice.Amount, MaxAmount)
	}
	if m.Deadline == 0 {
		return errorsmod.Wrap(ErrInvalidDeadline, "deadline 0: must be a positive number of blocks")
	}
	if m.ExecutionBlocks > m.Deadline {
		return errorsmod.Wrapf(ErrInvalidDeadline, "execution_blocks %d: must be at most the deadline of %d blocks", m.ExecutionBlocks, m.Deadline)
	}
	return m.Payment.Validate(m.Deadline)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgCancelTask) ValidateBasic() error { return validateAddress("creator", m.Creator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgBid) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	if m.Price.IsNil() || !m.Price.IsPositive() || m.Price.GT(MaxAmount) {
		return errorsmod.Wrapf(ErrInvalidPrice, "price %v: must be positive and at most the whole supply", m.Price)
	}
	return nil
}

// ValidateBasic checks the fields that need no state.
func (m *MsgWithdrawBid) ValidateBasic() error { return validateAddress("provider", m.Provider) }

// ValidateBasic checks the fields that need no state; the size bound is the workload's, checked
// by the keeper.
func (m *MsgSubmitResult) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	return m.Result().ValidateResult()
}

// ValidateBasic checks the fields that need no state.
func (m *MsgReportInputUnavailable) ValidateBasic() error {
	return validateAddress("provider", m.Provider)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgAcceptResult) ValidateBasic() error { return validateAddress("creator", m.Creator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgDisputeResult) ValidateBasic() error { return validateAddress("creator", m.Creator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgUpdateParams) ValidateBasic() error {
	if err := validateAddress("authority", m.Authority); err != nil {
		return err
	}
	return m.Params.Validate()
}

// Result is the blob the message submits.
func (m *MsgSubmitResult) Result() Blob { return Blob{Uri: m.Uri, Sha256: m.Sha256, Size_: m.Size_} }
