package types

import (
	"math/big"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// Validate checks the payment function against the task's deadline (in blocks after creation).
func (f PaymentFunction) Validate(deadline uint64) error {
	switch f.Kind {
	case PAYMENT_KIND_FIXED:
		return nil
	case PAYMENT_KIND_LINEAR_DECAY:
		if f.FullUntilBlocks >= deadline {
			return errorsmod.Wrapf(ErrInvalidPayment, "full_until_blocks %d: must be below the deadline of %d blocks", f.FullUntilBlocks, deadline)
		}
		if f.MinFraction.IsNil() || f.MinFraction.IsNegative() || f.MinFraction.GT(math.LegacyOneDec()) {
			return errorsmod.Wrapf(ErrInvalidPayment, "min_fraction %v: must be in [0, 1]", f.MinFraction)
		}
		return nil
	default:
		return errorsmod.Wrapf(ErrInvalidPayment, "kind %s: must be PAYMENT_KIND_FIXED or PAYMENT_KIND_LINEAR_DECAY", f.Kind)
	}
}

// Pay is what a provider earns for a result delivered at height, for a task created at
// createdHeight with deadlineHeight, at price. LINEAR_DECAY pays price until
// F = createdHeight + full_until_blocks, then
//
//	price × ((D − h) + m × (h − F)) / (D − F)
//
// with D the deadline height and m the minimum fraction: price at F, m × price at D. The
// division is exact integer arithmetic on m's 18-decimal integer form, rounded down, so any
// rounding is in the client's favour.
func (f PaymentFunction) Pay(price math.Int, createdHeight, deadlineHeight, height int64) math.Int {
	if f.Kind != PAYMENT_KIND_LINEAR_DECAY {
		return price
	}
	full := createdHeight + int64(f.FullUntilBlocks)
	if height <= full {
		return price
	}
	if height >= deadlineHeight {
		return f.MinFraction.MulInt(price).TruncateInt()
	}
	one := math.LegacyOneDec().BigInt() // 10^18
	span := big.NewInt(deadlineHeight - full)
	num := new(big.Int).Mul(big.NewInt(deadlineHeight-height), one)
	num.Add(num, new(big.Int).Mul(f.MinFraction.BigInt(), big.NewInt(height-full)))
	num.Mul(num, price.BigInt())
	den := new(big.Int).Mul(span, one)
	return math.NewIntFromBigInt(num.Quo(num, den))
}
