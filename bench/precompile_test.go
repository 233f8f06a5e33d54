package bench_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/bench"
	"github.com/opengpu/ogpu/cmd/ogpud/cmd"
)

// asOgpud makes this test binary run as ogpud, so the dev home is written by the command the
// benchmark runs under without building it.
const asOgpud = "OGPU_BENCH_TEST_AS_OGPUD"

func TestMain(m *testing.M) {
	if os.Getenv(asOgpud) == "1" {
		if err := cmd.Execute(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	cmd.SetSDKConfig()
	os.Exit(m.Run())
}

// TestPrecompileCreateTask runs the precompile part at its smallest: one block of each kind,
// every tx committed and creating its task, and the EVM write costing at least the Cosmos tx.
func TestPrecompileCreateTask(t *testing.T) {
	t.Setenv(asOgpud, "1")
	env, err := cmd.BenchEnv()
	require.NoError(t, err)
	res, err := bench.Precompile(context.Background(), env, filepath.Join(t.TempDir(), "chain"), 2, 5, 1)
	require.NoError(t, err)

	for name, k := range map[string]bench.CreateTaskKind{"precompile": res.Precompile, "cosmos": res.Cosmos} {
		require.Equal(t, 5, k.Committed, name)
		require.Positive(t, k.GasUsed, name)
		require.LessOrEqual(t, k.GasMax, k.GasLimit, name)
		require.Positive(t, k.TxPerSec, name)
	}
	require.GreaterOrEqual(t, res.Precompile.GasMin, res.Cosmos.GasMax, "a write through the EVM costs at least the Cosmos tx")
	require.InDelta(t, float64(res.Precompile.GasUsed)/float64(res.Cosmos.GasUsed), res.GasRatio, 1e-9)
}
