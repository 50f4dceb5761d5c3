/**
 * RFC 9162 §2.1 Merkle tree: hashing, proof generation from a store of
 * complete subtrees, a compact range for appending, and defensive proof
 * verification (RFC 9162 §2.1.3.2 and §2.1.4.2). Pure: no I/O.
 *
 * Addressing: a complete (perfect) subtree is a node `{ level, index }`;
 * level 0 holds the leaf hashes, and the node at level L, index i covers the
 * leaves [i·2^L, (i+1)·2^L). Indices and sizes are JavaScript numbers, exact
 * up to 2^53 − 1; bigint inputs are accepted and converted when in range.
 *
 * The implementation is split by what it does: `merkle/tree.ts` (hashing),
 * `merkle/proof-plans.ts`, `merkle/compact-range.ts`, `merkle/verify.ts`.
 *
 * @module
 */

export { CompactRange } from "./merkle/compact-range.js";
export {
  consistencyProofPlan,
  inclusionProofPlan,
  resolveProof,
  subtreeRootPlan,
} from "./merkle/proof-plans.js";
export {
  emptyRoot,
  HASH_SIZE,
  leafHash,
  type NodeId,
  type NodeLookup,
  nodeHash,
  type ProofPlan,
  rootFromLeafHashes,
  type StoredNode,
} from "./merkle/tree.js";
export {
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from "./merkle/verify.js";
