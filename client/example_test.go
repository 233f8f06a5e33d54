package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/client"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// Example creates a 512×512×512 gemm-int8 task on a chain that `ogpud dev` runs, follows it,
// checks its result and accepts it, and prints the result's hash. OGPU_HOME is the home the dev
// chain prints at start; bob is one of its funded keys.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := client.Dial(client.Config{GRPC: "localhost:9090", RPC: "http://localhost:26657", ChainID: "ogpu-dev-1", EVMChainID: 1337})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	kr, err := c.OpenKeyring("test", os.Getenv("OGPU_HOME"))
	if err != nil {
		log.Fatal(err)
	}
	rec, err := kr.Key("bob")
	if err != nil {
		log.Fatal(err)
	}
	bob, _ := rec.GetAddress()
	signer, err := client.NewKeyringSigner(kr, "bob")
	if err != nil {
		log.Fatal(err)
	}
	txf := c.TxFactory(kr, "bob")

	price, _ := math.NewIntFromString("100000000000000000000") // 100 OGPU
	id, err := c.CreateTask(ctx, txf, &computetypes.MsgCreateTask{
		Creator: bob.String(),
		Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: 512, N: 512, K: 512, SeedA: 1, SeedB: 2},
		}},
		Requirements: stakinggputypes.Requirements{Workload: workload.GemmInt8V1},
		MaxPrice:     sdk.NewCoin(computetypes.DefaultDenom, price),
		Deadline:     40,
		Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: math.LegacyZeroDec()},
	})
	if err != nil {
		log.Fatal(err)
	}
	task, err := c.WaitTask(ctx, id, func(t computetypes.Task) {
		fmt.Println("task", t.Id, t.State)
		if t.State != computetypes.TASK_STATE_VERIFIED {
			return
		}
		// the committee has verified it; check it ourselves and pay the provider now
		if err := c.CheckResult(ctx, t, signer); err != nil {
			fmt.Println("our own check:", err)
			return
		}
		if _, err := c.SendAndWait(ctx, txf, &computetypes.MsgAcceptResult{Creator: bob.String(), TaskId: t.Id}); err != nil {
			fmt.Println("accept:", err)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.State, "result sha256", task.Result.Sha256)
}
