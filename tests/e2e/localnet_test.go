package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/testutil/network"
)

// TestLocalnet starts 4 validators as separate processes on 127.0.0.1-4: they reach height 10,
// go on with one stopped, and the stopped one catches up after a restart with the same state.
func TestLocalnet(t *testing.T) {
	bin := network.Binary(t)
	dir := filepath.Join(t.TempDir(), "localnet")
	network.Run(t, bin, "testnet", "init-files", "--v", "4", "--output-dir", dir, "--chain-id", "ogpu-e2e-1")

	nodes := make([]*network.Node, 4)
	for i := range nodes {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		nodes[i] = network.NewNode(bin, home, fmt.Sprintf("127.0.0.%d", i+1), "start", "--home", home)
		nodes[i].Start(t)
	}
	nodes[0].WaitHeight(t, 10, 4*time.Minute)

	stopped := nodes[3]
	stopped.Stop(t)
	ctx := context.Background()
	st, err := nodes[0].Status(ctx)
	require.NoError(t, err)
	// 3 of 4 equal validators hold 3/4 > 2/3 of the power: blocks go on
	nodes[0].WaitHeight(t, st.Height+5, 2*time.Minute)

	stopped.Start(t)
	st, err = nodes[0].Status(ctx)
	require.NoError(t, err)
	stopped.WaitHeight(t, st.Height, 3*time.Minute)

	// same block, same app hash on the restarted node and on a node that never stopped
	var h0, h3 struct {
		Result struct {
			Block struct {
				Header struct {
					AppHash string `json:"app_hash"`
				} `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	url := fmt.Sprintf("/block?height=%d", st.Height)
	require.NoError(t, network.GetJSON(ctx, nodes[0].RPC()+url, &h0))
	require.NoError(t, network.GetJSON(ctx, stopped.RPC()+url, &h3))
	require.NotEmpty(t, h0.Result.Block.Header.AppHash)
	require.Equal(t, h0.Result.Block.Header.AppHash, h3.Result.Block.Header.AppHash)
}
