// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.18;

/// @dev The ICompute precompile's address: outside Ethereum's precompiles (0x01..0x11) and
/// cosmos/evm's (0x0100, 0x0400, 0x0800..0x08ff), so neither can ever claim it.
address constant COMPUTE_PRECOMPILE_ADDRESS = 0x000000000000000000000000000000000000c0DE;

/// @dev The ICompute instance at its fixed address.
ICompute constant COMPUTE_CONTRACT = ICompute(COMPUTE_PRECOMPILE_ADDRESS);

/// @dev A blob fetched by URI and named by its sha256 (64 lowercase hex characters).
struct Blob {
    string uri;
    string sha256;
    uint64 size;
}

/// @dev How the provider is paid: kind 1 FIXED, 2 LINEAR_DECAY (full price until
/// fullUntilBlocks after creation, then linearly down to minFraction × price at the deadline).
/// minFraction is a decimal string in [0, 1], e.g. "0.5"; ignored for FIXED.
struct PaymentFunction {
    uint8 kind;
    uint64 fullUntilBlocks;
    string minFraction;
}

/// @dev A task as the market holds it. state: 1 OPEN, 2 ASSIGNED, 3 SUBMITTED, 4 COMPLETED,
/// 5 FAILED, 6 CANCELLED, 7 EXPIRED, 8 VERIFIED. Amounts are in aogpu (the EVM's wei).
/// provider is the zero address until the task is assigned.
struct TaskInfo {
    uint64 id;
    address creator;
    string workload;
    uint8 state;
    address provider;
    uint256 maxPrice;
    uint256 price;
    uint256 escrow;
    string resultSha256;
    string resultUri;
    uint64 createdHeight;
    uint64 deadlineHeight;
    uint64 finalHeight;
}

/// @dev The market's parameters that a caller needs to build a task. Ratios are decimal strings.
struct ComputeParams {
    string denom;
    uint64 bidWindow;
    uint64 minExecutionBlocks;
    uint64 maxDeadlineBlocks;
    uint64 disputeWindow;
    string securityDepositRatio;
    string committeeFeeRatio;
    string disputeBondRatio;
}

/// @dev What a provider's GPUs must have to serve a stream; zero values ask for nothing. The
/// workload is the stream's. minComputeCapability is "major.minor", e.g. "8.0", or empty.
struct Requirements {
    uint64 minVramMib;
    string gpuModel;
    uint32 gpuCount;
    string minComputeCapability;
}

/// @dev A stream as the market holds it. state: 1 OPEN (taking subscriptions until
/// subscribeEnd), 2 LIVE, 3 PAUSED (it cannot pay another period), 4 CLOSED. providers are the
/// replicas serving it now. budget is everything funded for requests, unclaimed what of it the
/// replicas have not yet been paid on vouchers; escrow is what the stream holds (the unclaimed
/// budget, the committee fee left and the security deposit), 0 once settled. Heights are 0
/// until they happen.
struct StreamInfo {
    uint64 id;
    address creator;
    string workload;
    uint8 state;
    uint32 replicas;
    address[] providers;
    uint256 maxPricePerRequest;
    uint256 budget;
    uint256 unclaimed;
    uint256 escrow;
    uint64 createdHeight;
    uint64 subscribeEnd;
    uint64 liveHeight;
    uint64 endHeight;
    uint64 closedHeight;
    bool settled;
}

/// @title ICompute: the OpenGPU compute market from Solidity.
/// @dev Every write acts for msg.sender (never tx.origin) and moves coins from and to its
/// balance. createTask escrows maxPrice + committee fee + security deposit; nothing is sent
/// with the call (msg.value must be 0).
interface ICompute {
    /// @dev Emitted by createTask.
    event TaskCreated(
        uint64 indexed id,
        address indexed creator,
        string workload,
        uint256 maxPrice,
        uint256 escrow,
        uint64 deadlineHeight
    );
    /// @dev Emitted by cancelTask; the whole escrow went back to the creator.
    event TaskCancelled(uint64 indexed id, address indexed creator, uint256 refunded);
    /// @dev Emitted by acceptResult; the provider was paid and the task is COMPLETED.
    event ResultAccepted(uint64 indexed id, address indexed creator);
    /// @dev Emitted by disputeResult; bond was locked from the creator.
    event ResultDisputed(uint64 indexed id, address indexed creator, uint256 bond);

    /// @dev Emitted by openStream; escrow is what left msg.sender's balance.
    event StreamOpened(
        uint64 indexed id,
        address indexed creator,
        string workload,
        uint32 replicas,
        uint256 maxPricePerRequest,
        uint256 escrow,
        uint64 subscribeEnd
    );
    /// @dev Emitted by fundStream: amount was added to the budget and locked, with its committee
    /// fee and security deposit, from the creator; budget is the new total.
    event StreamFunded(uint64 indexed id, address indexed creator, uint256 amount, uint256 locked, uint256 budget);
    /// @dev Emitted by closeStream. refunded went back to the creator now (the whole escrow of a
    /// stream that never went live); the rest of a LIVE or PAUSED stream's escrow goes back when
    /// it settles at settleHeight, after the replicas' last vouchers and commitments.
    event StreamClosed(uint64 indexed id, address indexed creator, uint256 refunded, uint64 settleHeight);

    /// @dev The transitions below happen in the chain's block hooks, outside any transaction:
    /// a bid window closing, a committee's verdict, a deadline passing. Their logs are the
    /// block's own: they ride on the block's first transaction (its vote-extension record), so
    /// eth_getLogs, log filters and log subscriptions see them with the block; they have no
    /// receipt.

    /// @dev The bid window closed and provider won the task at price.
    event TaskAssigned(uint64 indexed id, address indexed creator, address indexed provider, uint256 price);
    /// @dev The committee verified the result: state VERIFIED (the dispute window runs) or
    /// COMPLETED (provider paid). resultSha256 names the result blob.
    event TaskCompleted(uint64 indexed id, address indexed creator, uint8 state, string resultSha256);
    /// @dev The task ended without a paid result: state FAILED (the result was wrong or
    /// missing) or EXPIRED (no bid, or the deadline passed). The escrow went back to the creator.
    event TaskFailed(uint64 indexed id, address indexed creator, uint8 state, string reason);
    /// @dev The subscription window closed: providers serve the stream until endHeight.
    event StreamLive(uint64 indexed id, address indexed creator, address[] providers, uint64 endHeight);
    /// @dev The stream cannot pay another period: its replicas stop serving, and it closes at
    /// graceEnd unless fundStream resumes it.
    event StreamPaused(uint64 indexed id, address indexed creator, uint64 graceEnd, string reason);
    /// @dev The chain closed the stream (its duration or its grace ran out, or no replica was
    /// left); claimed is what its replicas were paid. The rest comes back at StreamSettled.
    event StreamEnded(uint64 indexed id, address indexed creator, string reason, uint256 claimed);
    /// @dev The stream's books are closed: refunded went back to the creator.
    event StreamSettled(uint64 indexed id, address indexed creator, uint256 claimed, uint256 refunded);
    /// @dev provider left slot (reason says why: failed probes, a wrong or withheld answer) and
    /// replacement, the first standby, took it; replacement is the zero address when none was left.
    event ReplicaReplaced(
        uint64 indexed id,
        address indexed creator,
        uint32 slot,
        address provider,
        address replacement,
        string reason
    );

    /// @dev Creates a task and escrows its cost from msg.sender.
    /// @param workload the workload name, e.g. "gemm-int8/v1".
    /// @param params the workload's parameters, ABI-encoded:
    ///   gemm-int8/v1:      abi.encode(uint32 m, uint32 n, uint32 k, uint64 seedA, uint64 seedB)
    ///   infer-mlp-int8/v1: abi.encode(uint32[] widths, uint32 rows)
    ///   train-mlp-int8/v1: abi.encode(uint32[] widths, uint32 datasetRows, uint32 steps,
    ///                                 uint32 batch, uint32 lrShift, uint64 seed)
    /// @param inputs the task's input blobs (none for a seeded gemm).
    /// @param maxPrice the most the provider is paid, in aogpu.
    /// @param deadline blocks after creation by which the result must be submitted.
    /// @param paymentFunction how the pay falls with time.
    function createTask(
        string calldata workload,
        bytes calldata params,
        Blob[] calldata inputs,
        uint256 maxPrice,
        uint64 deadline,
        PaymentFunction calldata paymentFunction
    ) external returns (uint64 id);

    /// @dev Cancels an OPEN task of msg.sender's and refunds its escrow.
    function cancelTask(uint64 id) external returns (bool success);

    /// @dev Accepts a VERIFIED result of msg.sender's task: the provider is paid at once.
    function acceptResult(uint64 id) external returns (bool success);

    /// @dev Disputes a VERIFIED result of msg.sender's task, locking the dispute bond.
    function disputeResult(uint64 id) external returns (bool success);

    /// @dev Returns a task; reverts when there is none with that id.
    function getTask(uint64 id) external view returns (TaskInfo memory task);

    /// @dev Returns the ids of creator's tasks, oldest first, skipping offset; at most limit
    /// (1..100) ids.
    function tasksOf(address creator, uint64 offset, uint64 limit) external view returns (uint64[] memory ids);

    /// @dev Opens a stream of workload over model, served by replicas providers for duration
    /// blocks once live, and escrows deposit + committee fee + security deposit from msg.sender.
    /// msg.sender must have a public key on chain: requests and vouchers are checked against it.
    /// A contract never has one; an account that has only sent EVM transactions has none until
    /// it signs a Cosmos transaction.
    /// @param workload the workload every request runs: "infer-mlp-int8/v1".
    /// @param params abi.encode(uint32[] widths, uint32 rows): rows is the most rows a request carries.
    /// @param model the model blob every replica loads.
    /// @param requirements what each replica's GPUs must have.
    /// @param replicas how many providers serve it at once (1..max_replicas).
    /// @param maxPricePerRequest the most a provider may ask per request, in aogpu.
    /// @param duration blocks the stream is served once live.
    /// @param deposit the budget for requests, in aogpu; each slot's share must pay a period.
    function openStream(
        string calldata workload,
        bytes calldata params,
        Blob calldata model,
        Requirements calldata requirements,
        uint32 replicas,
        uint256 maxPricePerRequest,
        uint64 duration,
        uint256 deposit
    ) external returns (uint64 id);

    /// @dev Adds amount to the budget of msg.sender's stream, locking it with its committee fee
    /// and security deposit; a PAUSED stream that can pay again goes LIVE.
    function fundStream(uint64 id, uint256 amount) external returns (bool success);

    /// @dev Closes msg.sender's stream (see StreamClosed for when the escrow comes back).
    function closeStream(uint64 id) external returns (bool success);

    /// @dev Returns a stream; reverts when there is none with that id.
    function getStream(uint64 id) external view returns (StreamInfo memory stream);

    /// @dev Returns the market's parameters.
    function params() external view returns (ComputeParams memory);
}
