/**
 * RFC 9162 §2.1.1 tree hashing: leaf and node hashes, the empty root, the root of a list of leaf hashes.
 * @module
 */
import { ChaosCoreError } from "../errors.js";
import { sha256, sha256Concat } from "../hash.js";
import { concatBytes } from "../hex.js";
import { assertHash, largestPowerOfTwoBelow } from "./integers.js";

export { HASH_SIZE } from "./integers.js";

/** A complete subtree of the tree: level 0 = leaves; covers [index·2^level, (index+1)·2^level). */
export type NodeId = { readonly level: number; readonly index: number };

/** A complete subtree with its hash, as persisted by a log writer. */
export type StoredNode = NodeId & { readonly hash: Uint8Array };

/** Reads the hash of a complete subtree from a store (`undefined` if it is not stored). */
export type NodeLookup = (level: number, index: number) => Uint8Array | undefined;

/**
 * What to fetch and how to combine it to build a proof without recomputing
 * the tree. Each element of `elements` is one proof hash: the hash of a leaf
 * range, listed as the complete subtrees that compose it (largest first); a
 * ragged range [a, b) is hashed RFC 9162-style as
 * `node(c0, node(c1, … node(c(k−2), c(k−1))))`.
 */
export type ProofPlan = {
  readonly kind: "inclusion" | "consistency" | "root";
  readonly elements: readonly (readonly NodeId[])[];
  /** Every node to fetch, deduplicated, in first-use order. */
  nodes(): NodeId[];
};

export const LEAF_PREFIX = Uint8Array.of(0x00);
export const NODE_PREFIX = Uint8Array.of(0x01);
export const EMPTY_ROOT = sha256(new Uint8Array(0));

export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const data = new Uint8Array(1 + left.length + right.length);
  data[0] = 0x01;
  data.set(left, 1);
  data.set(right, 1 + left.length);
  return sha256(data);
}

/**
 * The RFC 9162 leaf hash: SHA-256(0x00 ‖ data).
 *
 * @example
 * ```ts
 * const h = leafHash(utf8("entry")); // 32 bytes
 * ```
 */
export function leafHash(data: Uint8Array): Uint8Array {
  return data.length > 256
    ? sha256Concat([LEAF_PREFIX, data])
    : sha256(concatBytes(LEAF_PREFIX, data));
}

/**
 * The RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right).
 * @throws ChaosCoreError INVALID_INPUT when a child is not a 32-byte hash.
 * @example
 * ```ts
 * const parent = nodeHash(leafHash(a), leafHash(b));
 * ```
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertHash(left, "INVALID_INPUT", "left child");
  assertHash(right, "INVALID_INPUT", "right child");
  return hashChildren(left, right);
}

/**
 * The root of the empty tree: SHA-256 of the empty string
 * (e3b0c442…b855). A fresh copy on every call.
 * @example
 * ```ts
 * bytesToHex(emptyRoot()); // 0xe3b0c442…
 * ```
 */
export function emptyRoot(): Uint8Array {
  return EMPTY_ROOT.slice();
}

/**
 * The Merkle tree hash MTH(D[n]) of a list of leaf hashes (RFC 9162 §2.1.1),
 * computed from all leaves in O(n). Meant for tests, audits and small trees;
 * a log uses `CompactRange` or `subtreeRootPlan` instead.
 * @throws ChaosCoreError INVALID_INPUT when a leaf hash is not 32 bytes.
 * @example
 * ```ts
 * rootFromLeafHashes([leafHash(utf8("a")), leafHash(utf8("b"))]);
 * ```
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(leafHashes)) {
    throw new ChaosCoreError("INVALID_INPUT", "leaf hashes must be an array");
  }
  for (const h of leafHashes) assertHash(h, "INVALID_INPUT", "leaf hash");
  if (leafHashes.length === 0) return emptyRoot();
  return mth(leafHashes, 0, leafHashes.length);
}

/** MTH(D[start:end]) by the RFC 9162 §2.1.1 recursion (independent of the plans below). */
export function mth(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return (leaves[start] as Uint8Array).slice();
  const k = largestPowerOfTwoBelow(n);
  return hashChildren(mth(leaves, start, start + k), mth(leaves, start + k, end));
}
