package mlp_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/mlp"
)

func TestModelRoundTrip(t *testing.T) {
	for _, widths := range [][]int{{1, 1}, {3, 5, 2}, {16, 32, 8, 10}} {
		m := mlp.RandomModel(7, widths)
		require.NoError(t, m.Validate())
		require.Equal(t, widths, m.Widths())
		bz := m.Encode()
		require.Len(t, bz, int(mlp.ModelSize(widths)))
		got, err := mlp.DecodeModel(bz)
		require.NoError(t, err)
		require.Equal(t, m, got)
		require.Equal(t, bz, got.Encode())
	}
}
