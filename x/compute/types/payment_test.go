package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/x/compute/types"
)

func TestPaymentFunction(t *testing.T) {
	fixed := types.PaymentFunction{Kind: types.PAYMENT_KIND_FIXED}
	// created at 100, deadline 200, full until 120, then down to 25% at 200
	decay := types.PaymentFunction{Kind: types.PAYMENT_KIND_LINEAR_DECAY, FullUntilBlocks: 20, MinFraction: math.LegacyNewDecWithPrec(25, 2)}
	price := math.NewInt(1_000_000)
	tests := []struct {
		name   string
		f      types.PaymentFunction
		height int64
		want   int64
	}{
		{"fixed, early", fixed, 101, 1_000_000},
		{"fixed, at the deadline", fixed, 200, 1_000_000},
		{"decay, before the offset", decay, 110, 1_000_000},
		{"decay, at the offset", decay, 120, 1_000_000},
		{"decay, one block later", decay, 121, 990_625}, // 1 − 0.75/80
		{"decay, half way", decay, 160, 625_000},        // 1 − 0.75/2
		{"decay, one block before the deadline", decay, 199, 259_375},
		{"decay, at the deadline", decay, 200, 250_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, math.NewInt(tc.want), tc.f.Pay(price, 100, 200, tc.height))
		})
	}

	// rounding is down, in the client's favour: 7 × (1 − 0.75 × 1/80) = 6.934…
	require.Equal(t, math.NewInt(6), decay.Pay(math.NewInt(7), 100, 200, 121))
	// the payment never rises as delivery gets later
	prev := price
	for h := int64(100); h <= 200; h++ {
		p := decay.Pay(price, 100, 200, h)
		require.True(t, p.LTE(prev), "height %d", h)
		prev = p
	}
	zero := types.PaymentFunction{Kind: types.PAYMENT_KIND_LINEAR_DECAY, FullUntilBlocks: 0, MinFraction: math.LegacyZeroDec()}
	require.True(t, zero.Pay(price, 100, 200, 200).IsZero())
}
