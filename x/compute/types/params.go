package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/workload"
)

// DefaultDenom is the chain's base denom.
const DefaultDenom = "aogpu"

const (
	maxWindow        = 10_000
	maxBidsLimit     = 1_000
	maxDeadlineLimit = 10_000_000
	maxFeeRatio      = 1
	maxDepositRatio  = 10
	maxTimersLimit   = 100_000
	// maxProtocolFeePercent bounds protocol_fee_ratio: the provider keeps at least half its pay.
	maxProtocolFeePercent = 50
)

// DefaultParams are the parameters of DESIGN §9.
func DefaultParams() Params {
	return Params{
		Denom:                DefaultDenom,
		BidWindow:            3,
		VerifyWindow:         10,
		SecurityDepositRatio: math.LegacyNewDecWithPrec(10, 2),
		CommitteeFeeRatio:    math.LegacyNewDecWithPrec(2, 2),
		MaxBidsPerTask:       32,
		TimeoutSlashFraction: math.LegacyNewDecWithPrec(1, 2),
		MinExecutionBlocks:   5,
		MaxDeadlineBlocks:    100_000,
		DisputeWindow:        20,
		DisputeBondRatio:     math.LegacyNewDecWithPrec(10, 2),
		ProtocolFeeRatio:     math.LegacyNewDecWithPrec(5, 2),
		MaxTimersPerBlock:    256,
		VerifyBlocksPerMib:   math.LegacyNewDecWithPrec(2, 2),
		Stream:               DefaultStreamParams(),
	}
}

// LongestHoldBlocks is the most blocks a provider can hold a task under these params: the
// longest deadline, the verify window of the largest result, the dispute window and the block
// of the draw.
func (p Params) LongestHoldBlocks() uint64 {
	largest := uint64(workload.GemmResultHeaderSize) + 4*workload.GemmMaxDim*workload.GemmMaxDim
	batch := p.MaxDeadlineBlocks + uint64(p.VerifyBlocks(largest)) + p.DisputeWindow + 1
	return max(batch, p.StreamHoldBlocks())
}

// StreamHoldBlocks is the most blocks a replica's collateral stays locked: the subscription
// window, the longest stream, its grace, the last period's commitment and reveal, and the verify
// window of its check.
func (p Params) StreamHoldBlocks() uint64 {
	s := p.Stream
	return s.SubscribeWindow + s.MaxStreamBlocks + s.StreamGraceBlocks + s.ReceiptPeriod + 2*s.RevealWindow + uint64(p.VerifyBlocks(0)) + 2
}

// VerifyBlocks is the verify window of a result of size bytes: verify_window plus
// verify_blocks_per_mib per MiB, rounded up, at most 10,000 blocks more.
func (p Params) VerifyBlocks(size uint64) int64 {
	mib := math.LegacyNewDecFromInt(math.NewIntFromUint64(size)).QuoInt64(1 << 20)
	extra := p.VerifyBlocksPerMib.Mul(mib).Ceil().TruncateInt64()
	return int64(p.VerifyWindow) + min(extra, maxWindow)
}

// ProtocolFee is what a completed task's pay sends into the provider reward pool.
func (p Params) ProtocolFee(pay math.Int) math.Int {
	return p.ProtocolFeeRatio.MulInt(pay).TruncateInt()
}

// DisputeBond is what a dispute of a task at price locks.
func (p Params) DisputeBond(price math.Int) math.Int {
	return p.DisputeBondRatio.MulInt(price).TruncateInt()
}

// Validate checks every parameter against its allowed range.
func (p Params) Validate() error {
	if err := sdk.ValidateDenom(p.Denom); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "denom %q: %v", p.Denom, err)
	}
	if p.BidWindow < 1 || p.BidWindow > maxWindow {
		return errorsmod.Wrapf(ErrInvalidParams, "bid_window %d: must be in [1, %d] blocks", p.BidWindow, maxWindow)
	}
	if p.VerifyWindow < 1 || p.VerifyWindow > maxWindow {
		return errorsmod.Wrapf(ErrInvalidParams, "verify_window %d: must be in [1, %d] blocks", p.VerifyWindow, maxWindow)
	}
	if err := decInRange("security_deposit_ratio", p.SecurityDepositRatio, math.LegacyNewDec(maxDepositRatio)); err != nil {
		return err
	}
	if err := decInRange("committee_fee_ratio", p.CommitteeFeeRatio, math.LegacyNewDec(maxFeeRatio)); err != nil {
		return err
	}
	if p.MaxBidsPerTask < 1 || p.MaxBidsPerTask > maxBidsLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "max_bids_per_task %d: must be in [1, %d]", p.MaxBidsPerTask, maxBidsLimit)
	}
	if err := decInRange("timeout_slash_fraction", p.TimeoutSlashFraction, math.LegacyOneDec()); err != nil {
		return err
	}
	if p.MinExecutionBlocks < 1 || p.MinExecutionBlocks > maxWindow {
		return errorsmod.Wrapf(ErrInvalidParams, "min_execution_blocks %d: must be in [1, %d]", p.MinExecutionBlocks, maxWindow)
	}
	if p.DisputeWindow < 1 || p.DisputeWindow > maxWindow {
		return errorsmod.Wrapf(ErrInvalidParams, "dispute_window %d: must be in [1, %d] blocks", p.DisputeWindow, maxWindow)
	}
	if err := decInRange("dispute_bond_ratio", p.DisputeBondRatio, math.LegacyNewDec(maxDepositRatio)); err != nil {
		return err
	}
	if err := decInRange("protocol_fee_ratio", p.ProtocolFeeRatio, math.LegacyNewDecWithPrec(maxProtocolFeePercent, 2)); err != nil {
		return err
	}
	if p.MaxTimersPerBlock < 1 || p.MaxTimersPerBlock > maxTimersLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "max_timers_per_block %d: must be in [1, %d]", p.MaxTimersPerBlock, maxTimersLimit)
	}
	if err := decInRange("verify_blocks_per_mib", p.VerifyBlocksPerMib, math.LegacyNewDec(maxWindow)); err != nil {
		return err
	}
	if min := p.BidWindow + p.MinExecutionBlocks; p.MaxDeadlineBlocks < min || p.MaxDeadlineBlocks > maxDeadlineLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "max_deadline_blocks %d: must be in [bid_window + min_execution_blocks = %d, %d]", p.MaxDeadlineBlocks, min, maxDeadlineLimit)
	}
	return p.Stream.Validate()
}

func decInRange(field string, d, hi math.LegacyDec) error {
	if d.IsNil() || d.IsNegative() || d.GT(hi) {
		return errorsmod.Wrapf(ErrInvalidParams, "%s %v: must be in [0, %s]", field, d, hi)
	}
	return nil
}

// MinDeadline is the shortest deadline a task may ask for.
func (p Params) MinDeadline() uint64 { return p.BidWindow + p.MinExecutionBlocks }

// SecurityDeposit is what a task with max price locks against a false promise of its inputs.
func (p Params) SecurityDeposit(maxPrice math.Int) math.Int {
	return p.SecurityDepositRatio.MulInt(maxPrice).TruncateInt()
}

// CommitteeFee is the committee's share for a task at price, rounded down (client's favour).
func (p Params) CommitteeFee(price math.Int) math.Int {
	return p.CommitteeFeeRatio.MulInt(price).TruncateInt()
}
