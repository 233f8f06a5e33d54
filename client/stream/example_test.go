package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/client/stream"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// Example opens a stream of a 784-128-10 model on a chain that `ogpud dev` runs, waits for its
// replicas, sends one MNIST-sized row, checks every tenth answer locally, and challenges a wrong
// one. OGPU_HOME is the dev chain's home, MODEL the model blob served at MODEL_URI.
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
	model, err := os.ReadFile(os.Getenv("MODEL"))
	if err != nil {
		log.Fatal(err)
	}
	blob, err := c.DescribeBlob(ctx, os.Getenv("MODEL_URI"), uint64(len(model)))
	if err != nil {
		log.Fatal(err)
	}

	price, _ := math.NewIntFromString("1000000000000000") // 0.001 OGPU a request
	deposit, _ := math.NewIntFromString("10000000000000000000")
	id, err := c.OpenStream(ctx, c.TxFactory(kr, "bob"), &computetypes.MsgOpenStream{
		Creator: bob.String(),
		Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{784, 128, 10}, Rows: 8},
		}},
		Model:              blob,
		Requirements:       stakinggputypes.Requirements{Workload: workload.InferMlpInt8V1},
		Replicas:           2,
		MaxPricePerRequest: sdk.NewCoin(computetypes.DefaultDenom, price),
		Duration:           1000,
		Deposit:            sdk.NewCoin(computetypes.DefaultDenom, deposit),
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.WaitStream(ctx, id, client.StreamIsLive); err != nil {
		log.Fatal(err)
	}

	s, err := stream.New(ctx, c, kr, "bob", id, stream.WithModel(model), stream.WithSpotCheck(0.1))
	if err != nil {
		log.Fatal(err)
	}
	row := make([]int8, 784)
	res, err := s.Infer(ctx, [][]int8{row})
	var wrong *stream.WrongResponseError
	if errors.As(err, &wrong) {
		// the request and the response must be served where the committee can fetch them
		checkTask, err := s.Challenge(ctx, wrong.Response.Receipt, "https://example.org/in/"+wrong.Response.Receipt.Receipt.InputSha256,
			"https://example.org/out/"+wrong.Response.Receipt.Receipt.OutputSha256)
		fmt.Println("challenged as check task", checkTask, err)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("digit", res.Argmax[0], "from", res.Replica, "in", res.Latency, "receipt", res.Receipt.Receipt.Sequence)
}
