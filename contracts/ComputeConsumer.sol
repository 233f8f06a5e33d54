// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.18;

import "./ICompute.sol";

/// @title ComputeConsumer: a contract that buys int8 matrix products on the OpenGPU market.
/// @dev An example to copy. The contract, not its owner, is the creator of the tasks it asks
/// for: the precompile escrows each task's cost from the contract's balance (fund it with plain
/// transfers) and pays refunds back to it. Only the owner spends; anyone may record a result.
/// A provider serves a task's result to its creator only; a contract cannot sign, so it answers
/// ERC-1271's isValidSignature for its owner, and the owner reads the results for it
/// (`ogpud q compute result ID --from OWNER --for CONTRACT`).
contract ComputeConsumer {
    /// @dev ICompute's task states that carry a result the committee has verified.
    uint8 internal constant STATE_COMPLETED = 4;
    uint8 internal constant STATE_VERIFIED = 8;

    /// @dev Pays the provider its full price until the deadline (minFraction is then ignored).
    uint8 internal constant PAYMENT_FIXED = 1;

    /// @dev ERC-1271's answers: the selector of isValidSignature, or not.
    bytes4 internal constant ERC1271_VALID = 0x1626ba7e;
    bytes4 internal constant ERC1271_INVALID = 0xffffffff;
    /// @dev secp256k1's order halved: a signature with a higher s is the malleable twin of one.
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    address public immutable owner;

    /// @dev The sha256 (64 lowercase hex characters) of each recorded task's result, by task id.
    mapping(uint64 => string) public resultSha256;

    /// @dev The contract asked for C = A·B with A m×k and B k×n generated from the seeds.
    event GemmRequested(uint64 indexed id, uint32 m, uint32 n, uint32 k, uint256 maxPrice);
    /// @dev The verified result of task id is recorded.
    event ResultRecorded(uint64 indexed id, string resultSha256);
    /// @dev The owner took amount out of the contract.
    event Withdrawn(address indexed to, uint256 amount);

    error NotOwner(address caller);
    error NotOurs(uint64 id, address creator);
    error NoVerifiedResult(uint64 id, uint8 state);
    error AlreadyRecorded(uint64 id);
    error Refused(string method, uint64 id);
    error TransferFailed(address to, uint256 amount);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() payable {
        owner = msg.sender;
    }

    /// @dev Funding: the escrow of every task comes out of this balance.
    receive() external payable {}

    /// @dev Creates a gemm-int8/v1 task with seeded inputs and a fixed payment. The escrow is
    /// maxPrice plus the committee fee and the security deposit (see ICompute.params()).
    /// @param deadline blocks after creation by which the result must be submitted.
    function requestGemm(
        uint32 m,
        uint32 n,
        uint32 k,
        uint64 seedA,
        uint64 seedB,
        uint256 maxPrice,
        uint64 deadline
    ) external onlyOwner returns (uint64 id) {
        id = COMPUTE_CONTRACT.createTask(
            "gemm-int8/v1",
            abi.encode(m, n, k, seedA, seedB),
            new Blob[](0),
            maxPrice,
            deadline,
            PaymentFunction({kind: PAYMENT_FIXED, fullUntilBlocks: 0, minFraction: ""})
        );
        emit GemmRequested(id, m, n, k, maxPrice);
    }

    /// @dev Accepts the verified result of task id: the provider is paid now, not at the end
    /// of the dispute window.
    function accept(uint64 id) external onlyOwner {
        if (!COMPUTE_CONTRACT.acceptResult(id)) revert Refused("acceptResult", id);
    }

    /// @dev Disputes the verified result of task id; the bond comes out of this balance.
    function dispute(uint64 id) external onlyOwner {
        if (!COMPUTE_CONTRACT.disputeResult(id)) revert Refused("disputeResult", id);
    }

    /// @dev Cancels task id while it is OPEN; the whole escrow comes back to this balance.
    function cancel(uint64 id) external onlyOwner {
        if (!COMPUTE_CONTRACT.cancelTask(id)) revert Refused("cancelTask", id);
    }

    /// @dev Records the result hash of one of this contract's tasks once the committee has
    /// verified it (VERIFIED or COMPLETED). Anyone may call it: it only copies what the chain
    /// says. A VERIFIED result may still be disputed; a dApp that must not act on such a result
    /// waits for COMPLETED.
    function recordResult(uint64 id) external returns (string memory sha) {
        TaskInfo memory t = COMPUTE_CONTRACT.getTask(id);
        if (t.creator != address(this)) revert NotOurs(id, t.creator);
        if (t.state != STATE_VERIFIED && t.state != STATE_COMPLETED) revert NoVerifiedResult(id, t.state);
        if (bytes(resultSha256[id]).length != 0) revert AlreadyRecorded(id);
        resultSha256[id] = t.resultSha256;
        emit ResultRecorded(id, t.resultSha256);
        return t.resultSha256;
    }

    /// @dev ERC-1271: the contract signs as its owner. A signature is valid when the owner's key
    /// made it over hash (65 bytes r ‖ s ‖ v, v 0, 1, 27 or 28, s in the lower half). A provider's
    /// blob server asks this before it serves one of the contract's results to the owner.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return ERC1271_INVALID;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return ERC1271_INVALID;
        address signer = ecrecover(hash, v, r, s);
        if (signer == address(0) || signer != owner) return ERC1271_INVALID;
        return ERC1271_VALID;
    }

    /// @dev Sends amount of this contract's balance to `to`.
    function withdraw(address payable to, uint256 amount) external onlyOwner {
        (bool ok, ) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
        emit Withdrawn(to, amount);
    }
}
