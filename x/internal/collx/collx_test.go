package collx_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"

	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/testutil"

	"github.com/opengpu/ogpu/x/internal/collx"
)

func TestClearRemovesOnlyTheRange(t *testing.T) {
	key := storetypes.NewKVStoreKey("test")
	ctx := testutil.DefaultContext(key, storetypes.NewTransientStoreKey("transient"))
	sb := collections.NewSchemaBuilder(runtime.NewKVStoreService(key))
	m := collections.NewMap(sb, collections.NewPrefix(0), "m", collections.PairKeyCodec(collections.Uint64Key, collections.StringKey), collections.Uint64Value)
	_, err := sb.Build()
	require.NoError(t, err)
	for task := uint64(1); task <= 3; task++ {
		for _, p := range []string{"a", "b", "c"} {
			require.NoError(t, m.Set(ctx, collections.Join(task, p), task))
		}
	}
	require.NoError(t, collx.Clear(ctx, m, collections.NewPrefixedPairRange[uint64, string](2)))
	require.NoError(t, collx.Clear(ctx, m, collections.NewPrefixedPairRange[uint64, string](9)), "an empty range")
	iter, err := m.Iterate(ctx, nil)
	require.NoError(t, err)
	keys, err := iter.Keys()
	require.NoError(t, err)
	require.Len(t, keys, 6)
	for _, k := range keys {
		require.NotEqual(t, uint64(2), k.K1())
	}
}
