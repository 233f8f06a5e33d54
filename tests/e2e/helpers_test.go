package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/testutil/network"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// balance reads an account's aogpu balance over REST at the latest height.
func balance(t testing.TB, n *network.Node, addr string) sdkmath.Int {
	t.Helper()
	var res struct {
		Balance struct {
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, network.GetJSON(ctx, n.REST()+"/cosmos/bank/v1beta1/balances/"+addr+"/by_denom?denom=aogpu", &res))
	amt, ok := sdkmath.NewIntFromString(res.Balance.Amount)
	require.True(t, ok, "balance %q", res.Balance.Amount)
	return amt
}

// ogpu returns n OGPU in aogpu.
func ogpu(n int64) sdkmath.Int { return sdkmath.NewInt(n).Mul(sdkmath.NewIntWithDecimal(1, 18)) }

func coin(amt sdkmath.Int) string { return fmt.Sprintf("%saogpu", amt) }

// aogpu is amt as a coin.
func aogpu(amt sdkmath.Int) sdk.Coin { return sdk.NewCoin("aogpu", amt) }

// gemmTask is the MsgCreateTask of `create-task gemm-int8` with seeded inputs, a fixed payment
// and no GPU requirement; callers change what differs.
func gemmTask(creator string, m, n, k int, seedA, seedB uint64, maxPrice sdkmath.Int, deadline uint64) *computetypes.MsgCreateTask {
	return &computetypes.MsgCreateTask{
		Creator: creator,
		Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: uint32(m), N: uint32(n), K: uint32(k), SeedA: seedA, SeedB: seedB},
		}},
		Requirements: stakinggputypes.Requirements{Workload: workload.GemmInt8V1},
		MaxPrice:     aogpu(maxPrice),
		Deadline:     deadline,
		Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: sdkmath.LegacyZeroDec()},
	}
}

// create has key of home send msg and returns the new task's id.
func create(net *network.Network, home, key string, msg *computetypes.MsgCreateTask) uint64 {
	net.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := net.Client().CreateTask(ctx, net.TxFactory(home, key), msg)
	require.NoError(net.T, err)
	return id
}

// registerProvider registers operator as a provider of gemm-int8, as `tx staking-gpu
// register-provider` without --auto does.
func registerProvider(operator, moniker, endpoint string) sdk.Msg {
	return &stakinggputypes.MsgRegisterProvider{Operator: operator, Moniker: moniker, Endpoint: endpoint, Workloads: []string{workload.GemmInt8V1}}
}

func bond(operator string, amt sdkmath.Int) sdk.Msg {
	return &stakinggputypes.MsgBond{Operator: operator, Amount: aogpu(amt)}
}

// providerRecord is the provider record of operator (an account address).
func providerRecord(t testing.TB, net *network.Network, operator string) stakinggputypes.Provider {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := net.Client().Provider(ctx, operator)
	require.NoError(t, err)
	return p
}

// waitServing waits until a sidecar answers on its blob and metrics server at base: it bids and
// verifies from its first pass after that.
func waitServing(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(base + "/metrics")
		if err == nil {
			res.Body.Close()
			return
		}
		require.True(t, time.Now().Before(deadline), "sidecar at %s never served: %v", base, err)
		time.Sleep(200 * time.Millisecond)
	}
}
