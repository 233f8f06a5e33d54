// Package bench holds the benchmarks `ogpud bench` runs, one file each: gemm (the executors and
// verification), bank and market (tx/s on a dev chain), stream (a stream's requests against plain
// calls to the same model, and its bytes on chain), latency (create-task to verdict on a
// local network), vote-extensions (block time with full vote extensions), timers (the app
// driven in this process), precompile (a task created through ICompute against MsgCreateTask,
// on that app) and verify-memory (a verifier's peak heap); the dev chain and the load loop they
// share; and the report that puts their figures in one table.
//
// The chains it starts are reached through the client package (txs, tasks, queries); only the
// load loop of bank and market keeps its own sequence (see devChain.sendLoop).
//
// The processes a benchmark starts are testutil/network Nodes. What only the ogpud command can
// do (write a chain's files, open its application) comes in through Env, so this package never
// imports the command.
package bench
