package types

import (
	"fmt"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// Settlement is a committee's verdict on a task and who it pays.
type Settlement struct {
	Verdict Verdict
	// Paid are the member accounts that share the committee fee equally, each at most MaxShare;
	// what the cap leaves goes back to the client.
	Paid     []string
	MaxShare math.Int
	// Escalation are the escalation committee's members on the winning side: they share the
	// bond of a dispute that failed.
	Escalation []string
	// Final: no dispute follows (an escalation committee's verdict).
	Final bool
}

// Validate checks the verdict and that nobody is listed twice.
func (s Settlement) Validate() error {
	switch s.Verdict {
	case VERDICT_VALID, VERDICT_INVALID, VERDICT_INPUT_UNAVAILABLE, VERDICT_RESULT_UNAVAILABLE:
	default:
		return errorsmod.Wrapf(ErrInvalidVerdict, "verdict %s: must be VALID, INVALID, INPUT_UNAVAILABLE or RESULT_UNAVAILABLE", s.Verdict)
	}
	for _, list := range [][]string{s.Paid, s.Escalation} {
		seen := make(map[string]struct{}, len(list))
		for i, a := range list {
			if err := validateAddress(fmt.Sprintf("paid[%d]", i), a); err != nil {
				return err
			}
			if _, dup := seen[a]; dup {
				return errorsmod.Wrapf(ErrInvalidVerdict, "paid[%d] %s: listed twice", i, a)
			}
			seen[a] = struct{}{}
		}
	}
	if len(s.Paid) > 0 && (s.MaxShare.IsNil() || s.MaxShare.IsNegative()) {
		return errorsmod.Wrapf(ErrInvalidVerdict, "max_share %v: must not be negative", s.MaxShare)
	}
	return nil
}

// EqualShare is one member's part of fee split among n, at most maxShare.
func EqualShare(fee math.Int, n int, maxShare math.Int) math.Int {
	if n == 0 || !fee.IsPositive() {
		return math.ZeroInt()
	}
	return math.MinInt(fee.QuoRaw(int64(n)), maxShare)
}
