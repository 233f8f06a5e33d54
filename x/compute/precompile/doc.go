// Package precompile is ICompute, the stateful precompile that gives EVM callers the market of
// x/compute: a Solidity contract or an EOA creates, cancels, accepts and disputes tasks, opens,
// funds and closes streams, and reads both, at the fixed address
// 0x000000000000000000000000000000000000c0DE.
//
// contracts/ICompute.sol is the interface; abi.json is its ABI as the pinned solc writes it
// (`make contracts`), embedded in the binary. Every write acts for msg.sender (the precompile's
// caller: a contract when a contract calls, never tx.origin) and goes through the module's Msg service exactly as the Cosmos message does, so the same
// rules, errors and escrow apply. Coins move through x/bank from and to msg.sender's account;
// the common precompile's balance handler mirrors those bank events into the EVM's state in the
// same call, so the EVM and the bank agree on every balance. A write with msg.value is refused:
// the escrow is taken from the balance, never sent to the precompile. The call runs on a
// snapshot the EVM journals: a revert after it, in the same or an outer frame, undoes the task
// or stream and the escrow; a write under STATICCALL is refused.
//
// Events are EVM logs of the precompile with the task or stream id and the creator as indexed
// topics. TaskCreated, TaskCancelled, ResultAccepted, ResultDisputed, StreamOpened, StreamFunded
// and StreamClosed are the calling transaction's. TaskAssigned, TaskCompleted, TaskFailed,
// StreamLive, StreamPaused, StreamEnded, StreamSettled and ReplicaReplaced happen in the block
// hooks; they are the block's own logs (see BlockLogs).
//
// # Workload parameters
//
// createTask and openStream take the workload's parameters as ABI-encoded bytes (a stream serves
// infer-mlp-int8/v1 only, its rows the most rows one request carries):
//
//	gemm-int8/v1       abi.encode(uint32 m, uint32 n, uint32 k, uint64 seedA, uint64 seedB)
//	infer-mlp-int8/v1  abi.encode(uint32[] widths, uint32 rows)
//	train-mlp-int8/v1  abi.encode(uint32[] widths, uint32 datasetRows, uint32 steps,
//	                              uint32 batch, uint32 lrShift, uint64 seed)
//
// A task's requirements name only the workload (any GPU that serves it), and each assignment
// lasts until the deadline (execution_blocks 0). A stream's are openStream's Requirements, with
// the stream's workload.
//
// # Gas
//
// A call pays the common precompile's flat cost before it runs (a write 2000 + 30 per calldata
// byte, a view 1000 + 3 per byte), then the method's base charge below, then every KV read and
// write at the SDK's KV gas prices, metered as the Cosmos tx is. The base charge covers what
// the KV meter does not see: decoding and validating the workload's parameters and inputs, and
// the Cosmos tx's own signature and size costs, so a write is never cheaper through the EVM
// than as a Cosmos tx (a seeded gemm createTask uses about 156k gas against 45k for the Msg
// handler alone; openStream of a small MLP about 182k against 46k, fundStream 99k against 48k,
// closeStream 96k against 44k).
//
//	method         base charge
//	createTask     50000 + 5000 per input + 16 per byte of params
//	cancelTask     20000
//	acceptResult   20000
//	disputeResult  30000
//	getTask        2000
//	tasksOf        2000 + 500 per id asked for (limit 1..100)
//	params         1000
//	openStream     60000 + 16 per byte of params
//	fundStream     20000
//	closeStream    20000
//	getStream      2000
//
// # Wiring
//
// The app registers the precompile with the EVM keeper's static precompiles, lists its address
// among the active ones in the default genesis (which dev and testnet start from; the keeper
// matches them by the EIP-55 string of Address) and blocks it for bank transfers; an EVM
// transfer to it reverts, as it has no receive or fallback.
//
// # Not here
//
// The providers' stream methods (subscribe, claims, commitments) stay Cosmos messages: a
// provider's sidecar sends them, not a contract. A chain already running needs an upgrade that
// adds Address to the EVM params' active static precompiles.
package precompile
