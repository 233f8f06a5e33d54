package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/testutil/network"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// TestLocalnet starts 4 validators as separate processes on 127.0.0.1-4, each with a scripted
// sidecar attestor. Committees of validators commit to and reveal verdicts through vote
// extensions: a task with a good result is VERIFIED with the fee shared and COMPLETED when its
// client accepts it, one with a wrong result FAILED with its provider slashed and jailed and
// the catchers paid out of the slash, and with one validator stopped a third task still reaches
// its verdict and blocks go on; the stopped validator then catches up with the same state.
func TestLocalnet(t *testing.T) {
	// a book of two bids, which squatters can fill, and a bid window long enough to try
	net, attestors := startScripted(t, "ogpu-e2e-1", 5, func(app map[string]any) {
		p := app["compute"].(map[string]any)["params"].(map[string]any)
		p["max_bids_per_task"] = 2
		p["bid_window"] = "8"
	})
	bin, homes, nodes := net.Bin, net.Homes, net.Nodes
	require.Positive(t, attestors[0].Calls(), "the node asks its sidecar in every vote")

	var verifiers struct {
		Verifiers []struct {
			Validator string `json:"validator"`
		} `json:"verifiers"`
	}
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "committee", "verifiers", "--home", homes[0], "--output", "json"), &verifiers))
	require.Len(t, verifiers.Verifiers, 4, "every validator is a verifier from genesis")
	// validator 0's operator is also a GPU provider; validator 1's account is the client
	addrs := []string{net.Addr(0), net.Addr(1), net.Addr(2), net.Addr(3)}
	validatorTx(net, 0, registerProvider(addrs[0], "p0", "http://127.0.0.1:8547"))
	validatorTx(net, 0, bond(addrs[0], ogpu(2_000)))

	t.Run("a valid result is COMPLETED and the committee shares the fee", func(t *testing.T) {
		before := make([]sdkmath.Int, 4)
		for i := range addrs {
			before[i] = balance(t, nodes[0], addrs[i])
		}
		runTask(net, 1, 1, 0, hexSHA("good"), committeetypes.ATTESTED_VALID, attestors)
		committee := net.WaitState(1, computetypes.TASK_STATE_VERIFIED, 90*time.Second).Committee
		require.Len(t, committee, 2, "every validator but the provider's and the client's")
		share := ogpu(1).QuoRaw(2) // 2% of 50 OGPU over two equal members
		for i := 2; i < 4; i++ {
			require.Equal(t, before[i].Add(share), balance(t, nodes[0], addrs[i]), "member %d gets its share", i)
		}
		validatorTx(net, 1, &computetypes.MsgAcceptResult{Creator: addrs[1], TaskId: 1})
		v := net.WaitState(1, computetypes.TASK_STATE_COMPLETED, 30*time.Second)
		requirePaidInFull(t, v)
	})

	t.Run("a wrong result is FAILED and the provider slashed and jailed", func(t *testing.T) {
		runTask(net, 2, 1, 0, hexSHA("bad"), committeetypes.ATTESTED_INVALID, attestors)
		v := net.WaitState(2, computetypes.TASK_STATE_FAILED, 90*time.Second)
		require.Contains(t, v.Outcome, "found invalid")
		p := providerRecord(t, net, addrs[0])
		require.True(t, p.Jailed)
		require.Equal(t, ogpu(1_800).String(), p.Bonded.String())
	})

	stopped := nodes[3]
	net.Stop(3)
	ctx := context.Background()
	st, err := nodes[0].Status(ctx)
	require.NoError(t, err)
	// 3 of 4 equal validators hold 3/4 > 2/3 of the power: blocks go on
	nodes[0].WaitHeight(t, st.Height+3, 2*time.Minute)

	t.Run("with a validator down a task still reaches its verdict", func(t *testing.T) {
		validatorTx(net, 2, registerProvider(addrs[2], "p2", "http://127.0.0.2:8547"))
		validatorTx(net, 2, bond(addrs[2], ogpu(2_000)))
		// the client is validator 3, whose node is down: it sends through a running node, and
		// its validator, like the provider's, is kept off the committee, which is 0 and 1
		runTask(net, 3, 3, 2, hexSHA("good too"), committeetypes.ATTESTED_VALID, attestors[:3])
		net.WaitState(3, computetypes.TASK_STATE_VERIFIED, 90*time.Second)
	})

	net.Start(3)
	st, err = nodes[0].Status(ctx)
	require.NoError(t, err)
	stopped.WaitHeight(t, st.Height, 3*time.Minute)

	// same block, same app hash on the restarted node and on a node that never stopped
	require.Equal(t, appHashAt(t, nodes[0], st.Height), appHashAt(t, stopped, st.Height))

	t.Run("squatters fill a task's book: a better bid evicts one, they cannot leave in the last block, and the honest provider is matched", func(t *testing.T) {
		// two squatters, registered and bonded providers of their own
		squatters := []string{"squat0", "squat1"}
		var squatAddrs []string
		for _, name := range squatters {
			network.Run(t, bin, "keys", "add", name, "--home", homes[0], "--output", "json")
			squatAddrs = append(squatAddrs, net.KeyAddr(homes[0], name))
		}
		validatorTx(net, 0, multiSend(addrs[0], ogpu(3_000), squatAddrs...))
		squat := func(i int, msg sdk.Msg) error {
			_, err := net.Send(homes[0], squatters[i], msg)
			return err
		}
		for i, name := range squatters {
			require.NoError(t, squat(i, registerProvider(squatAddrs[i], name, "http://127.0.0.9:1")))
			require.NoError(t, squat(i, bond(squatAddrs[i], ogpu(2_000))))
		}
		require.Equal(t, uint64(4), create(net, homes[1], "validator", gemmTask(addrs[1], 8, 8, 8, 1, 2, ogpu(100), 60)))
		net.WaitState(4, computetypes.TASK_STATE_OPEN, 30*time.Second)
		// the squatters fill the book at the max price
		var wg sync.WaitGroup
		for i := range squatters {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				assert.NoError(t, squat(i, &computetypes.MsgBid{Provider: squatAddrs[i], TaskId: 4, Price: ogpu(100)}))
			}(i)
		}
		wg.Wait()
		book := func() *computetypes.QueryTaskResponse {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := computetypes.NewQueryClient(net.Client().Conn()).Task(ctx, &computetypes.QueryTaskRequest{TaskId: 4})
			require.NoError(t, err)
			return res
		}
		require.Len(t, book().Bids, 2, "the book is full")
		// the honest provider (validator 2's operator) bids lower: it evicts a squatter
		validatorTx(net, 2, &computetypes.MsgBid{Provider: addrs[2], TaskId: 4, Price: ogpu(50)})
		b := book()
		require.Len(t, b.Bids, 2)
		require.Contains(t, []string{b.Bids[0].Provider, b.Bids[1].Provider}, addrs[2])
		// the squatters try to leave in the window's last block: refused
		nodes[0].WaitHeight(t, b.Task.BidWindowEnd-1, time.Minute)
		for i := range squatters {
			err := squat(i, &computetypes.MsgWithdrawBid{Provider: squatAddrs[i], TaskId: 4})
			require.Error(t, err, "squatter %d left at the last moment", i)
			require.Regexp(t, "bids can be withdrawn until height|bid not found|bids can be withdrawn only while OPEN", err.Error())
		}
		v := net.WaitState(4, computetypes.TASK_STATE_ASSIGNED, 60*time.Second)
		require.Equal(t, addrs[2], v.Provider)
		require.Equal(t, ogpu(50).String(), v.Price.String())
	})
}
