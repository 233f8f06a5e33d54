// Package client is how a Go program uses an ogpu chain without the CLI: it connects to a node
// (gRPC, and optionally CometBFT RPC), signs and broadcasts transactions, creates tasks and
// follows them to their end, downloads results and checks them locally, and queries tasks,
// providers and committees. The ogpud CLI and the provider sidecar are built on it.
//
// What it owns:
//   - Send signs with a cosmos-sdk tx.Factory (keyring, key, fees), simulates the gas and
//     multiplies it by the factory's gas adjustment, and on a wrong sequence refreshes the
//     account and tries again a bounded number of times; WaitTx waits for the block.
//   - CreateTask and WaitTask: the task's id from its tx, then one callback per change of state
//     until the task is final.
//   - Download streams a blob capped at its declared size and checks its sha256; a result is
//     read with a signed request (sidecar/blobauth) as its creator, see NewKeyringSigner.
//   - CheckResult runs Freivalds' check of a gemm-int8 result against the task's inputs, the
//     seeded ones generated as the provider did (Task.GemmInputSeeds), the uploaded ones
//     streamed and hash-checked.
//   - Streams (docs/streams.md): OpenStream, FundStream, CloseStream, ChallengeResponse, Stream,
//     Streams and WaitStream; the calls to a stream's replicas, paid with vouchers, are
//     client/stream's.
//
// A sketch, against `ogpud dev` (see Example):
//
//	c, err := client.Dial(client.Config{GRPC: "localhost:9090", RPC: "http://localhost:26657",
//		ChainID: "ogpu-dev-1", EVMChainID: 1337})
//	kr, err := c.OpenKeyring("test", home)
//	txf := c.TxFactory(kr, "alice")
//	id, err := c.CreateTask(ctx, txf, msg)
//	signer, err := client.NewKeyringSigner(kr, "alice")
//	task, err := c.WaitTask(ctx, id, func(t computetypes.Task) {
//		fmt.Println(t.State)
//		if t.State == computetypes.TASK_STATE_VERIFIED {
//			err := c.CheckResult(ctx, t, signer) // nil: accept it; gemm.ErrWrongResult: dispute it
//		}
//	})
//
// Every method takes a context and wraps its errors with the call that failed; the package
// prints nothing and holds no globals.
package client
