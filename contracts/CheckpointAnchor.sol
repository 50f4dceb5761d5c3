// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/**
 * @title CheckpointAnchor
 * @notice Anchors the checkpoints (tree size, root hash) of RFC 9162 transparency logs in contract
 * storage. A log is identified by `logId = keccak256(bytes(origin))`, where `origin` is the
 * checkpoint's C2SP origin line. Each new checkpoint of a log must be larger than the last one and
 * come with an RFC 9162 consistency proof from the last anchored checkpoint, which this contract
 * verifies itself (SHA-256 precompile): a root that rewrites history is rejected on chain.
 * The whole history stays readable by a plain `eth_call` (events are emitted for indexers too).
 * @dev Storage per log: two slots per checkpoint and nothing else. The caller names the index of
 * the new checkpoint (the log's checkpoint count); the contract checks that slot `index` is empty
 * and slot `index - 1` is not, so no separate "head" slot is read and rewritten on every anchor
 * (2,900 gas saved per anchor), and a replayed anchor fails on its own index. Roots are never zero,
 * so an empty root marks a free index; `count` finds the first one by exponential + binary search.
 */
contract CheckpointAnchor is AccessControl {
    /// @notice The role allowed to anchor checkpoints (the log operator).
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /// @notice One anchored checkpoint. Two storage slots: `root`, then the three packed integers.
    struct Checkpoint {
        bytes32 root;
        uint64 size;
        uint64 timestamp;
        uint64 blockNumber;
    }

    /// @notice One entry of `anchorBatch`.
    struct AnchorInput {
        bytes32 logId;
        uint64 index;
        uint64 size;
        bytes32 root;
        bytes32[] proof;
    }

    mapping(bytes32 logId => mapping(uint256 index => Checkpoint)) private _checkpoints;

    /// @notice A checkpoint was anchored as the `index`-th (from 0) checkpoint of the log.
    event Anchored(bytes32 indexed logId, uint256 index, uint256 size, bytes32 root);

    /// @notice The size is not larger than the size of the log's latest anchored checkpoint (0 if none).
    error SizeNotIncreasing(bytes32 logId, uint64 lastSize, uint64 size);
    /// @notice The checkpoint (same size and root) is already the log's latest anchored one.
    error AlreadyAnchored(bytes32 logId, uint64 index);
    /// @notice A proof was given for the first checkpoint of a log, which needs none.
    error UnexpectedProof(bytes32 logId);
    /// @notice The index is not the log's checkpoint count: `index` is taken, or `index - 1` is free.
    error IndexMismatch(bytes32 logId, uint64 index);
    /// @notice A root must not be zero.
    error ZeroRoot();
    /// @notice The consistency proof does not link the latest anchored checkpoint to the new one.
    error ConsistencyProofInvalid(bytes32 logId, uint64 size1, uint64 size2);
    /// @notice No checkpoint with this index (`count` checkpoints are anchored).
    error CheckpointNotFound(bytes32 logId, uint256 index, uint64 count);
    /// @notice The range [from, to) is not within [0, count).
    error InvalidRange(bytes32 logId, uint256 from, uint256 to, uint64 count);

    /// @param admin receives DEFAULT_ADMIN_ROLE (grants and revokes anchorers).
    /// @param anchorer receives ANCHORER_ROLE (none when the zero address).
    constructor(address admin, address anchorer) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (anchorer != address(0)) _grantRole(ANCHORER_ROLE, anchorer);
    }

    /**
     * @notice Anchors the checkpoint (`size`, `root`) of the log `logId` as its `index`-th checkpoint.
     * @param index the number of checkpoints anchored so far for this log (0 for the first).
     * @param proof the RFC 9162 consistency proof from the latest anchored checkpoint of the log
     * to this one; empty for the first checkpoint of a log.
     */
    function anchor(bytes32 logId, uint64 index, uint64 size, bytes32 root, bytes32[] calldata proof)
        external
        onlyRole(ANCHORER_ROLE)
    {
        _anchor(logId, index, size, root, proof);
    }

    /// @notice Anchors one checkpoint of each of several logs in one transaction (all or nothing).
    function anchorBatch(AnchorInput[] calldata inputs) external onlyRole(ANCHORER_ROLE) {
        uint256 n = inputs.length;
        for (uint256 i; i < n; ++i) {
            AnchorInput calldata input = inputs[i];
            _anchor(input.logId, input.index, input.size, input.root, input.proof);
        }
    }

    /// @notice The latest checkpoint of a log and the number of checkpoints (all zero when none).
    function latest(bytes32 logId) external view returns (Checkpoint memory checkpoint, uint64 total) {
        total = _count(logId);
        if (total != 0) checkpoint = _checkpoints[logId][total - 1];
    }

    /// @notice The number of anchored checkpoints of a log.
    function count(bytes32 logId) external view returns (uint64) {
        return _count(logId);
    }

    /// @notice The `index`-th (from 0) anchored checkpoint of a log.
    function checkpointAt(bytes32 logId, uint256 index) external view returns (Checkpoint memory cp) {
        cp = _checkpoints[logId][index];
        if (cp.root == bytes32(0)) revert CheckpointNotFound(logId, index, _count(logId));
    }

    /// @notice The checkpoints with index in [from, to) of a log.
    function checkpoints(bytes32 logId, uint256 from, uint256 to)
        external
        view
        returns (Checkpoint[] memory out)
    {
        uint64 n = _count(logId);
        if (from > to || to > n) revert InvalidRange(logId, from, to, n);
        out = new Checkpoint[](to - from);
        for (uint256 i = from; i < to; ++i) out[i - from] = _checkpoints[logId][i];
    }

    /// @notice The log id of a checkpoint origin: keccak256 of its UTF-8 bytes.
    function logIdOf(string calldata origin) external pure returns (bytes32) {
        return keccak256(bytes(origin));
    }

    function _anchor(bytes32 logId, uint64 index, uint64 size, bytes32 root, bytes32[] calldata proof)
        private
    {
        if (root == bytes32(0)) revert ZeroRoot();
        mapping(uint256 => Checkpoint) storage log = _checkpoints[logId];
        Checkpoint storage slot = log[index];
        bytes32 taken = slot.root; // warms the slot written below
        if (index == 0) {
            if (taken != bytes32(0)) revert IndexMismatch(logId, index);
            if (size == 0) revert SizeNotIncreasing(logId, 0, 0);
            if (proof.length != 0) revert UnexpectedProof(logId);
        } else {
            Checkpoint storage previous = log[index - 1];
            bytes32 previousRoot = previous.root;
            uint64 previousSize = previous.size;
            if (taken != bytes32(0) || previousRoot == bytes32(0)) {
                if (taken == root && slot.size == size) revert AlreadyAnchored(logId, index);
                revert IndexMismatch(logId, index);
            }
            if (size <= previousSize) {
                if (size == previousSize && root == previousRoot) revert AlreadyAnchored(logId, index - 1);
                revert SizeNotIncreasing(logId, previousSize, size);
            }
            if (!_verifyConsistency(previousSize, size, previousRoot, root, proof)) {
                revert ConsistencyProofInvalid(logId, previousSize, size);
            }
        }
        slot.root = root;
        slot.size = size;
        slot.timestamp = uint64(block.timestamp);
        slot.blockNumber = uint64(block.number);
        emit Anchored(logId, index, size, root);
    }

    /// @dev The first free index: exponential search for a free one, then binary search below it.
    function _count(bytes32 logId) private view returns (uint64) {
        mapping(uint256 => Checkpoint) storage log = _checkpoints[logId];
        if (log[0].root == bytes32(0)) return 0;
        uint256 hi = 1;
        while (log[hi].root != bytes32(0)) hi <<= 1;
        uint256 lo = hi >> 1; // taken; hi is free
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) >> 1;
            if (log[mid].root != bytes32(0)) lo = mid;
            else hi = mid;
        }
        return uint64(hi);
    }

    /**
     * @dev RFC 9162 §2.1.4.2, for 0 < size1 < size2 (checked by the caller). Steps:
     * 1. if size1 is a power of two, prepend root1 to the path; 2. fail on an empty path;
     * 3. fn = size1 - 1, sn = size2 - 1; 4. while LSB(fn), shift fn and sn right;
     * 5. fr = sr = path[0]; 6. for each next c: fail if sn == 0; if LSB(fn) or fn == sn then
     * fr = H(c, fr), sr = H(c, sr) and, if not LSB(fn), shift both until LSB(fn) or fn == 0;
     * else sr = H(sr, c); then shift both once; 7. succeed iff fr == root1, sr == root2, sn == 0.
     */
    function _verifyConsistency(
        uint256 size1,
        uint256 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) private view returns (bool) {
        uint256 n = proof.length;
        uint256 i;
        bytes32 fr;
        if (size1 & (size1 - 1) == 0) {
            fr = root1;
        } else {
            if (n == 0) return false;
            fr = proof[0];
            i = 1;
        }
        bytes32 sr = fr;
        uint256 fn = size1 - 1;
        uint256 sn = size2 - 1;
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        for (; i < n; ++i) {
            if (sn == 0) return false;
            bytes32 c = proof[i];
            if (fn & 1 == 1 || fn == sn) {
                fr = _hashChildren(c, fr);
                sr = _hashChildren(c, sr);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = _hashChildren(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && fr == root1 && sr == root2;
    }

    /// @dev SHA-256(0x01 ‖ left ‖ right) through the SHA-256 precompile (address 0x02), in scratch memory.
    function _hashChildren(bytes32 left, bytes32 right) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 1), left)
            mstore(add(ptr, 33), right)
            if iszero(staticcall(gas(), 0x02, ptr, 65, ptr, 0x20)) { revert(0, 0) }
            h := mload(ptr)
        }
    }
}
