package types

import (
	"slices"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

var (
	_ sdk.Msg = &MsgOpenStream{}
	_ sdk.Msg = &MsgFundStream{}
	_ sdk.Msg = &MsgCloseStream{}
	_ sdk.Msg = &MsgSubscribe{}
	_ sdk.Msg = &MsgClaimStream{}
	_ sdk.Msg = &MsgCommitReceipts{}
	_ sdk.Msg = &MsgRevealSamples{}
	_ sdk.Msg = &MsgChallengeResponse{}
)

func validateAmount(field string, c sdk.Coin) error {
	if err := c.Validate(); err != nil || !c.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidPrice, "%s %q: must be a positive amount of the market denom", field, c)
	}
	if c.Amount.GT(MaxAmount) {
		return errorsmod.Wrapf(ErrInvalidPrice, "%s %s: must be at most the whole supply, %s", field, c.Amount, MaxAmount)
	}
	return nil
}

// ValidateBasic checks the fields that need no state; limits that are parameters are checked by
// the keeper.
func (m *MsgOpenStream) ValidateBasic() error {
	if err := validateAddress("creator", m.Creator); err != nil {
		return err
	}
	if !slices.Contains(StreamWorkloads, m.Workload.Name) {
		return errorsmod.Wrapf(ErrInvalidStream, "workload.name %q: streams serve %v", m.Workload.Name, StreamWorkloads)
	}
	if err := m.Model.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidInput, "model: %v", err)
	}
	if err := m.Requirements.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidRequirement, "requirements: %v", err)
	}
	if m.Requirements.Workload != m.Workload.Name {
		return errorsmod.Wrapf(ErrInvalidRequirement, "requirements.workload %q: must equal workload.name %q", m.Requirements.Workload, m.Workload.Name)
	}
	if m.Replicas == 0 {
		return errorsmod.Wrap(ErrInvalidStream, "replicas 0: must be at least 1")
	}
	if err := validateAmount("max_price_per_request", m.MaxPricePerRequest); err != nil {
		return err
	}
	if err := validateAmount("deposit", m.Deposit); err != nil {
		return err
	}
	if m.Deposit.Denom != m.MaxPricePerRequest.Denom {
		return errorsmod.Wrapf(ErrInvalidPrice, "deposit %s: must be in the denom of max_price_per_request, %s", m.Deposit, m.MaxPricePerRequest.Denom)
	}
	if m.Duration == 0 {
		return errorsmod.Wrap(ErrInvalidDeadline, "duration 0: must be a positive number of blocks")
	}
	return nil
}

// ValidateBasic checks the fields that need no state.
func (m *MsgFundStream) ValidateBasic() error {
	if err := validateAddress("creator", m.Creator); err != nil {
		return err
	}
	return validateAmount("amount", m.Amount)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgCloseStream) ValidateBasic() error { return validateAddress("creator", m.Creator) }

// ValidateBasic checks the fields that need no state.
func (m *MsgSubscribe) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	if m.Price.IsNil() || !m.Price.IsPositive() || m.Price.GT(MaxAmount) {
		return errorsmod.Wrapf(ErrInvalidPrice, "price %v: must be positive and at most the whole supply", m.Price)
	}
	return ValidateEndpoint("endpoint", m.Endpoint)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgClaimStream) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	if m.Voucher.Provider != m.Provider {
		return errorsmod.Wrapf(ErrInvalidVoucher, "voucher.provider %q: must be the claiming provider %q", m.Voucher.Provider, m.Provider)
	}
	if m.Voucher.Total.IsNil() || !m.Voucher.Total.IsPositive() || m.Voucher.Total.GT(MaxAmount) {
		return errorsmod.Wrapf(ErrInvalidVoucher, "voucher.total %v: must be positive and at most the whole supply", m.Voucher.Total)
	}
	if len(m.Signature) == 0 || len(m.Signature) > 128 {
		return errorsmod.Wrapf(ErrInvalidVoucher, "signature: %d bytes, must be 1..128", len(m.Signature))
	}
	return nil
}

// ValidateBasic checks the fields that need no state.
func (m *MsgCommitReceipts) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	if len(m.Root) != 32 {
		return errorsmod.Wrapf(ErrInvalidCommitment, "root: %d bytes, must be 32", len(m.Root))
	}
	if m.Count > 1<<MaxMerkleDepth {
		return errorsmod.Wrapf(ErrInvalidCommitment, "count %d: must be at most 2^%d receipts", m.Count, MaxMerkleDepth)
	}
	return nil
}

// ValidateBasic checks the fields that need no state.
func (m *MsgRevealSamples) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	if len(m.Samples) > MaxSamplesPerReveal {
		return errorsmod.Wrapf(ErrInvalidSample, "samples: %d, at most %d", len(m.Samples), MaxSamplesPerReveal)
	}
	for i, s := range m.Samples {
		if err := ValidateReceipt(s.Receipt); err != nil {
			return errorsmod.Wrapf(err, "samples[%d]", i)
		}
		if s.Receipt.Provider != m.Provider || s.Receipt.StreamId != m.StreamId {
			return errorsmod.Wrapf(ErrInvalidSample, "samples[%d]: a receipt of stream %d and %s, not of this stream and provider", i, s.Receipt.StreamId, s.Receipt.Provider)
		}
	}
	return ValidateEndpoint("uri_prefix", m.UriPrefix)
}

// ValidateBasic checks the fields that need no state.
func (m *MsgChallengeResponse) ValidateBasic() error {
	if err := validateAddress("creator", m.Creator); err != nil {
		return err
	}
	if err := ValidateReceipt(m.Receipt); err != nil {
		return err
	}
	if len(m.Signature) == 0 || len(m.Signature) > 128 {
		return errorsmod.Wrapf(ErrInvalidReceipt, "signature: %d bytes, must be 1..128", len(m.Signature))
	}
	for _, u := range []struct{ name, v string }{{"input_uri", m.InputUri}, {"output_uri", m.OutputUri}} {
		if err := (Blob{Uri: u.v, Sha256: m.Receipt.InputSha256, Size_: 1}).Validate(); err != nil {
			return errorsmod.Wrapf(ErrInvalidInput, "%s: %v", u.name, err)
		}
	}
	return nil
}

// zeroIfNil keeps math.Int fields of stored records usable.
func zeroIfNil(i math.Int) math.Int {
	if i.IsNil() {
		return math.ZeroInt()
	}
	return i
}

// Unclaimed is the budget not yet paid on vouchers.
func (s Stream) Unclaimed() math.Int { return zeroIfNil(s.Budget).Sub(zeroIfNil(s.Claimed)) }
