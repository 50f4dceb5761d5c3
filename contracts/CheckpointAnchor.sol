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
 *
 * Groups (`anchorGroup`): a family of logs (the shards of one deployment; a single log is a group
 * of one) keeps ONE storage slot, `groupState[group] = keccak256(abi.encode(LogState[]))` over its
 * live logs in strictly ascending `logId` order (zero for an empty list). Each anchor passes the
 * current list as calldata, checked against the slot; every checkpoint is still verified on chain
 * (RFC 9162 consistency proof from the log's previous size and root) and its history lives in the
 * `Anchored` events only. The one per-log storage write is `groupOf[logId]`, once per log lifetime,
 * so a log has one history: never both a legacy and a group one, never two groups, never rejoined.
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

    /// @notice A log's entry in its group's state: anchored checkpoint count, latest size and root.
    struct LogState {
        bytes32 logId;
        uint64 count;
        uint64 size;
        bytes32 root;
    }

    /**
     * @notice One checkpoint of `anchorGroup`. `log` names the log: a value below 2**64 is a
     * position in `current` (a log of the group's state), any other value the logId of a new log.
     * `proofLength`: the number of hashes of its consistency proof, taken in order from `proofs`.
     * `retire`: the log leaves the group's live state after this checkpoint (a frozen shard at its
     * final size) and can never be anchored again.
     */
    struct GroupInput {
        bytes32 log;
        uint64 size;
        bytes32 root;
        uint64 proofLength;
        bool retire;
    }

    mapping(bytes32 logId => mapping(uint256 index => Checkpoint)) private _checkpoints;

    /// @notice The hash of each group's live state (`keccak256(abi.encode(LogState[]))`, 0 when empty).
    mapping(bytes32 group => bytes32 state) public groupState;
    /// @notice The group a log has joined (zero when none); written once, never cleared.
    mapping(bytes32 logId => bytes32 group) public groupOf;

    /// @notice A checkpoint was anchored as the `index`-th (from 0) checkpoint of the log.
    event Anchored(bytes32 indexed logId, uint256 index, uint256 size, bytes32 root);

    /// @notice A group transaction: the group's state hash after it.
    event GroupAnchored(bytes32 indexed group, bytes32 state);
    /// @notice A log joined a group (its first checkpoint, index 0, was anchored in this transaction).
    event GroupJoined(bytes32 indexed group, bytes32 indexed logId);
    /// @notice A log left its group's live state after its checkpoint of this transaction.
    event GroupRetired(bytes32 indexed group, bytes32 indexed logId);

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

    /// @notice The given current list does not hash to the group's stored state.
    error GroupStateMismatch(bytes32 group, bytes32 stored, bytes32 given);
    /// @notice Input `input` is not after the previous one in ascending logId order.
    error GroupOrder(bytes32 group, uint256 input);
    /// @notice Input `input` names a position outside `current` (or gives both a position and a logId).
    error GroupPosition(bytes32 group, uint256 input, uint64 position);
    /// @notice The log already belongs to a group (joined, possibly retired): it cannot join again
    /// nor start a legacy history.
    error LogInGroup(bytes32 logId, bytes32 group);
    /// @notice The log has a legacy (storage) history: it cannot join a group.
    error LogHasHistory(bytes32 logId);
    /// @notice The inputs' proof lengths do not add up to the number of `proofs`.
    error GroupProofs(bytes32 group, uint256 used, uint256 given);
    /// @notice The group id must not be zero, and a group anchor needs at least one input.
    error EmptyGroupAnchor(bytes32 group, uint256 inputs);

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

    /**
     * @notice Anchors one checkpoint of each of several logs of a group in one transaction, with
     * one storage write (the group's state hash). All or nothing.
     * @param group the group id: keccak256 of the family origin (the origin of its first shard).
     * @param current the group's live state, strictly ascending by logId; empty when the stored
     * state is zero.
     * @param inputs the checkpoints, strictly ascending by the logId they name (a position names
     * `current[position].logId`).
     * @param proofs the inputs' RFC 9162 consistency proofs, concatenated in input order.
     */
    function anchorGroup(
        bytes32 group,
        LogState[] calldata current,
        GroupInput[] calldata inputs,
        bytes32[] calldata proofs
    ) external onlyRole(ANCHORER_ROLE) {
        if (group == bytes32(0) || inputs.length == 0) revert EmptyGroupAnchor(group, inputs.length);
        _checkState(group, current);
        // The next state's ABI encoding is written in place: [0x20, k, k × LogState].
        uint256 base = _allocate(64 + 128 * (current.length + inputs.length));
        Cursor memory at = Cursor(base + 64, 0, 0, group, 0);
        bytes32 lastId;
        for (uint256 j; j < inputs.length; ++j) {
            GroupInput calldata input = inputs[j];
            bytes32 logId = input.log;
            uint64 count;
            at.j = j;
            if (uint256(logId) < 2 ** 64) {
                (logId, count) = _extendAt(current, input, proofs, at);
            } else {
                _join(group, input);
                _skipBelow(current, logId, at);
                count = 1;
            }
            if (logId <= lastId) revert GroupOrder(group, j);
            lastId = logId;
            emit Anchored(logId, count - 1, input.size, input.root);
            if (input.retire) emit GroupRetired(group, logId);
            else at.end = _put(at.end, logId, count, input.size, input.root);
        }
        if (at.p != proofs.length) revert GroupProofs(group, at.p, proofs.length);
        uint256 end = _copy(current, at.c, current.length, at.end);
        bytes32 state = _stateHash(base, end);
        groupState[group] = state;
        emit GroupAnchored(group, state);
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
            bytes32 group = groupOf[logId];
            if (group != bytes32(0)) revert LogInGroup(logId, group);
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

    /// @dev Reverts unless `current` hashes to the group's stored state (an empty list to zero).
    function _checkState(bytes32 group, LogState[] calldata current) private view {
        bytes32 stored = groupState[group];
        bytes32 given;
        if (current.length != 0) {
            // keccak256(abi.encode(current)), hashed from a copy in scratch memory above the free
            // pointer (the words of a static struct array are its calldata bytes).
            assembly ("memory-safe") {
                let ptr := mload(0x40)
                let size := mul(current.length, 128)
                mstore(ptr, 0x20)
                mstore(add(ptr, 32), current.length)
                calldatacopy(add(ptr, 64), current.offset, size)
                given := keccak256(ptr, add(size, 64))
            }
        }
        if (given != stored) revert GroupStateMismatch(group, stored, given);
    }

    /// @dev Reserves `size` bytes of memory (not zeroed) and returns their address.
    function _allocate(uint256 size) private pure returns (uint256 ptr) {
        assembly ("memory-safe") {
            ptr := mload(0x40)
            mstore(0x40, add(ptr, size))
        }
    }

    /// @dev Copies `current[from:to]` (4 words each) to memory at `at`; returns the end.
    function _copy(LogState[] calldata current, uint256 from, uint256 to, uint256 at)
        private
        pure
        returns (uint256)
    {
        if (to <= from) return at;
        uint256 size = (to - from) * 128;
        assembly ("memory-safe") {
            calldatacopy(at, add(current.offset, mul(from, 128)), size)
        }
        return at + size;
    }

    /// @dev Writes one LogState's 4 words at `at`; returns the end.
    function _put(uint256 at, bytes32 logId, uint64 count, uint64 size, bytes32 root)
        private
        pure
        returns (uint256)
    {
        assembly ("memory-safe") {
            mstore(at, logId)
            mstore(add(at, 32), count)
            mstore(add(at, 64), size)
            mstore(add(at, 96), root)
        }
        return at + 128;
    }

    /// @dev keccak256(abi.encode(LogState[])) of the entries in [base + 64, end); zero when none.
    function _stateHash(uint256 base, uint256 end) private pure returns (bytes32 h) {
        uint256 k = (end - base - 64) / 128;
        if (k == 0) return bytes32(0);
        assembly ("memory-safe") {
            mstore(base, 0x20)
            mstore(add(base, 32), k)
            h := keccak256(base, sub(end, base))
        }
    }

    /// @dev Where `anchorGroup` is: the end of the next state written, entries of `current` and
    /// hashes of `proofs` consumed.
    struct Cursor {
        uint256 end;
        uint256 c;
        uint256 p;
        bytes32 group;
        uint256 j;
    }

    /// @dev An input naming position `input.log` of `current`: copies the entries before it,
    /// verifies its checkpoint with the next `proofLength` hashes; returns its logId and new count.
    function _extendAt(
        LogState[] calldata current,
        GroupInput calldata input,
        bytes32[] calldata proofs,
        Cursor memory at
    ) private view returns (bytes32, uint64) {
        uint256 position = uint256(input.log);
        if (position < at.c || position >= current.length) {
            revert GroupPosition(at.group, at.j, uint64(position));
        }
        at.end = _copy(current, at.c, position, at.end);
        at.c = position + 1;
        uint256 from = at.p;
        uint256 to = from + input.proofLength;
        if (to > proofs.length) revert GroupProofs(at.group, to, proofs.length);
        at.p = to;
        return (current[position].logId, _extend(current[position], input, proofs[from:to]));
    }

    /// @dev Copies the entries of `current` below `logId` (the place of a new log) to the next state.
    function _skipBelow(LogState[] calldata current, bytes32 logId, Cursor memory at) private pure {
        uint256 from = at.c;
        uint256 c = from;
        while (c < current.length && current[c].logId < logId) ++c;
        at.end = _copy(current, from, c, at.end);
        at.c = c;
    }

    /// @dev The new count of a log of the group: checks size and root, verifies the consistency proof.
    function _extend(LogState calldata old, GroupInput calldata input, bytes32[] calldata proof)
        private
        view
        returns (uint64)
    {
        bytes32 logId = old.logId;
        bytes32 root = input.root;
        uint64 size = input.size;
        if (root == bytes32(0)) revert ZeroRoot();
        uint64 oldSize = old.size;
        if (size <= oldSize) {
            if (size == oldSize && root == old.root) revert AlreadyAnchored(logId, old.count - 1);
            revert SizeNotIncreasing(logId, oldSize, size);
        }
        if (!_verifyConsistency(oldSize, size, old.root, root, proof)) {
            revert ConsistencyProofInvalid(logId, oldSize, size);
        }
        return old.count + 1;
    }

    /// @dev A new log joins `group`: never anchored before, neither in a group nor in legacy storage.
    function _join(bytes32 group, GroupInput calldata input) private {
        bytes32 logId = input.log;
        if (input.root == bytes32(0)) revert ZeroRoot();
        bytes32 joined = groupOf[logId];
        if (joined != bytes32(0)) revert LogInGroup(logId, joined);
        if (_checkpoints[logId][0].root != bytes32(0)) revert LogHasHistory(logId);
        if (input.size == 0) revert SizeNotIncreasing(logId, 0, 0);
        if (input.proofLength != 0) revert UnexpectedProof(logId);
        groupOf[logId] = group;
        emit GroupJoined(group, logId);
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
