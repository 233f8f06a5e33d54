package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/testutil/network"
)

// TestGenesisAllocateRejectsWrongSum checks that the CLI refuses an allocation that does not
// add up to 21,000,000 OGPU and names the share that is off, leaving the genesis unchanged.
func TestGenesisAllocateRejectsWrongSum(t *testing.T) {
	bin := network.Binary(t)
	home := filepath.Join(t.TempDir(), "home")
	network.Run(t, bin, "init", "alloc", "--chain-id", "ogpu-alloc-1", "--home", home)
	network.Run(t, bin, "keys", "add", "team", "--keyring-backend", "test", "--home", home)
	team := strings.TrimSpace(string(network.Run(t, bin, "keys", "show", "team", "-a", "--keyring-backend", "test", "--home", home)))

	_, err := network.TryRun(bin, "genesis", "allocate", "--team", team, "--reserve", "2000000", "--home", home)
	require.Error(t, err)
	require.Contains(t, err.Error(), "adds up to 20900000 OGPU, not exactly 21000000 OGPU")
	require.Contains(t, err.Error(), "share reserve is 2000000 OGPU, designed 10% = 2100000 OGPU")

	// the right sum is accepted once, and only once
	network.Run(t, bin, "genesis", "allocate", "--team", team, "--home", home)
	_, err = network.TryRun(bin, "genesis", "allocate", "--team", team, "--home", home)
	require.ErrorContains(t, err, "allocation was applied before")
	network.Run(t, bin, "genesis", "validate", "--home", home)
}
