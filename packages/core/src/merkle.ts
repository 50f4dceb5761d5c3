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
 * @module
 */
import { ChaosCoreError } from "./errors.js";
import { sha256 } from "./hash.js";
import { concatBytes, equalBytes } from "./hex.js";

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

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

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);
const EMPTY_ROOT = sha256(new Uint8Array(0));

function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right));
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
  return sha256(concatBytes(LEAF_PREFIX, data));
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
 * a log uses {@link CompactRange} or {@link subtreeRootPlan} instead.
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
function mth(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return (leaves[start] as Uint8Array).slice();
  const k = largestPowerOfTwoBelow(n);
  return hashChildren(mth(leaves, start, start + k), mth(leaves, start + k, end));
}

// ---- proof plans ------------------------------------------------------------------------------

/**
 * Plans the inclusion proof PATH(m, D[n]) of RFC 9162 §2.1.3.1 for leaf
 * `leafIndex` in a tree of `treeSize` leaves. The plan's elements are in
 * proof order (from the leaf's sibling up to the root's other child).
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when the index or size is
 * negative, not an integer, above 2^53 − 1, or when `leafIndex >= treeSize`.
 * @example
 * ```ts
 * const plan = inclusionProofPlan(5, 8);
 * const fetched = await store.getNodes(plan.nodes());
 * const proof = resolveProof(plan, (l, i) => fetched.get(`${l}/${i}`));
 * ```
 */
export function inclusionProofPlan(
  leafIndex: bigint | number,
  treeSize: bigint | number,
): ProofPlan {
  const m = toIndex(leafIndex, "leafIndex");
  const n = toIndex(treeSize, "treeSize");
  if (m >= n) {
    throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", "leaf index is not below tree size", {
      details: { leafIndex: m, treeSize: n },
    });
  }
  const ranges: [number, number][] = [];
  inclusionRanges(m, 0, n, ranges);
  return makePlan("inclusion", ranges);
}

/**
 * Plans the consistency proof PROOF(m, D[n]) of RFC 9162 §2.1.4.1 between
 * the tree of `size1` leaves and the tree of `size2` leaves. Equal sizes give
 * an empty plan.
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE unless 0 < size1 <= size2
 * (a proof from the empty tree is meaningless and not defined by RFC 9162).
 * @example
 * ```ts
 * const plan = consistencyProofPlan(previous.size, current.size);
 * ```
 */
export function consistencyProofPlan(size1: bigint | number, size2: bigint | number): ProofPlan {
  const m = toIndex(size1, "size1");
  const n = toIndex(size2, "size2");
  if (m === 0 || m > n) {
    throw new ChaosCoreError(
      "MERKLE_INDEX_OUT_OF_RANGE",
      "a consistency proof needs 0 < size1 <= size2",
      { details: { size1: m, size2: n } },
    );
  }
  const ranges: [number, number][] = [];
  if (m < n) consistencyRanges(m, 0, n, true, ranges);
  return makePlan("consistency", ranges);
}

/**
 * Plans the root of the tree of `treeSize` leaves from its complete subtrees
 * (the compact range of [0, n): one node per set bit of n). Its single element
 * resolves to the root; for n = 0 it has no nodes and resolves to
 * {@link emptyRoot}.
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when the size is invalid.
 * @example
 * ```ts
 * const [root] = resolveProof(subtreeRootPlan(size), lookup);
 * ```
 */
export function subtreeRootPlan(treeSize: bigint | number): ProofPlan {
  const n = toIndex(treeSize, "treeSize");
  return makePlan("root", [[0, n]]);
}

/**
 * Computes the hashes of a plan from the stored complete subtrees. Each node
 * is looked up once.
 * @throws ChaosCoreError INVALID_INPUT when a node is missing from the store
 * or is not a 32-byte hash.
 * @example
 * ```ts
 * const proof = resolveProof(inclusionProofPlan(i, n), (level, index) => nodes.get(level, index));
 * ```
 */
export function resolveProof(plan: ProofPlan, lookup: NodeLookup): Uint8Array[] {
  const cache = new Map<string, Uint8Array>();
  const fetch = (node: NodeId): Uint8Array => {
    const key = nodeKey(node);
    let hash = cache.get(key);
    if (hash === undefined) {
      hash = lookup(node.level, node.index);
      if (!isHash(hash)) {
        throw new ChaosCoreError(
          "INVALID_INPUT",
          hash === undefined
            ? `node (${node.level}, ${node.index}) is missing from the store`
            : `node (${node.level}, ${node.index}) is not a 32-byte hash`,
          { details: { level: node.level, index: node.index } },
        );
      }
      cache.set(key, hash);
    }
    return hash;
  };
  return plan.elements.map((element) => foldRight(element.map(fetch)));
}

function makePlan(kind: ProofPlan["kind"], ranges: readonly [number, number][]): ProofPlan {
  const elements = Object.freeze(
    ranges.map(([start, end]) => Object.freeze(rangeNodes(start, end))),
  );
  return Object.freeze({
    kind,
    elements,
    nodes(): NodeId[] {
      const seen = new Set<string>();
      const out: NodeId[] = [];
      for (const element of elements) {
        for (const node of element) {
          const key = nodeKey(node);
          if (!seen.has(key)) {
            seen.add(key);
            out.push({ level: node.level, index: node.index });
          }
        }
      }
      return out;
    },
  });
}

/** PATH(m, D[start:start+n]) as leaf ranges, RFC 9162 §2.1.3.1. */
function inclusionRanges(m: number, start: number, n: number, out: [number, number][]): void {
  if (n <= 1) return;
  const k = largestPowerOfTwoBelow(n);
  if (m < k) {
    inclusionRanges(m, start, k, out);
    out.push([start + k, start + n]);
  } else {
    inclusionRanges(m - k, start + k, n - k, out);
    out.push([start, start + k]);
  }
}

/** SUBPROOF(m, D[start:start+n], b) as leaf ranges, RFC 9162 §2.1.4.1. */
function consistencyRanges(
  m: number,
  start: number,
  n: number,
  b: boolean,
  out: [number, number][],
): void {
  if (m === n) {
    if (!b) out.push([start, start + n]);
    return;
  }
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) {
    consistencyRanges(m, start, k, b, out);
    out.push([start + k, start + n]);
  } else {
    consistencyRanges(m - k, start + k, n - k, false, out);
    out.push([start, start + k]);
  }
}

/**
 * The complete subtrees composing MTH(D[start:end]), largest first. Every
 * range met by the RFC 9162 recursion starts at a multiple of the next power
 * of two ≥ its length, so each piece is aligned.
 */
function rangeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let s = start;
  while (s < end) {
    const n = end - s;
    let width = 1;
    let level = 0;
    while (width * 2 <= n) {
      width *= 2;
      level++;
    }
    out.push({ level, index: s / width });
    s += width;
  }
  return out;
}

/** Hash of a range from its pieces: node(h0, node(h1, … node(h(k−2), h(k−1)))). */
function foldRight(hashes: readonly Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1];
  if (acc === undefined) return emptyRoot();
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i] as Uint8Array, acc);
  return acc;
}

function nodeKey(node: NodeId): string {
  return `${node.level}/${node.index}`;
}

// ---- compact range ----------------------------------------------------------------------------

/**
 * The right frontier of the tree (a compact range of [0, size), a.k.a. a
 * Merkle mountain range): one complete subtree per set bit of `size`, largest
 * first. A log writer appends leaves in O(1) amortized hashes each and
 * persists only the nodes each append completes.
 *
 * @example
 * ```ts
 * const range = CompactRange.fromNodes(size, (l, i) => stored.get(`${l}/${i}`));
 * const created = range.append(leafHash(entry)); // persist these
 * const root = range.root();
 * ```
 */
export class CompactRange {
  #size: number;
  #hashes: Uint8Array[];

  /** An empty range (tree size 0). */
  constructor() {
    this.#size = 0;
    this.#hashes = [];
  }

  /**
   * Rebuilds the frontier of a tree of `size` leaves from stored complete
   * subtrees (the nodes of `subtreeRootPlan(size)`).
   * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when `size` is invalid.
   * @throws ChaosCoreError INVALID_INPUT when a frontier node is missing or not 32 bytes.
   */
  static fromNodes(size: bigint | number, lookup: NodeLookup): CompactRange {
    const n = toIndex(size, "size");
    const range = new CompactRange();
    const element = subtreeRootPlan(n).elements[0] ?? [];
    range.#hashes = element.map((node) => {
      const hash = lookup(node.level, node.index);
      if (!isHash(hash)) {
        throw new ChaosCoreError(
          "INVALID_INPUT",
          `frontier node (${node.level}, ${node.index}) is missing or not a 32-byte hash`,
          { details: { level: node.level, index: node.index } },
        );
      }
      return hash.slice();
    });
    range.#size = n;
    return range;
  }

  /** The number of leaves. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends a leaf hash. Returns every node this append completes, bottom-up:
   * the leaf itself at level 0, then each new parent (level ≥ 1). Persisting
   * all of them keeps the store complete for {@link resolveProof}.
   * @throws ChaosCoreError INVALID_INPUT when `leafHash` is not 32 bytes.
   * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when the tree is full (2^53 − 1 leaves).
   */
  append(leafHash: Uint8Array): StoredNode[] {
    assertHash(leafHash, "INVALID_INPUT", "leaf hash");
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", "the tree is full");
    }
    let hash: Uint8Array = leafHash.slice();
    let level = 0;
    let index = this.#size;
    const created: StoredNode[] = [{ level, index, hash }];
    // Each trailing 1 bit of the old size is a left sibling to merge with.
    let s = this.#size;
    while (s % 2 === 1) {
      const left = this.#hashes.pop() as Uint8Array;
      hash = hashChildren(left, hash);
      level++;
      index = Math.floor(index / 2);
      s = Math.floor(s / 2);
      created.push({ level, index, hash });
    }
    this.#hashes.push(hash);
    this.#size++;
    return created;
  }

  /** The tree's root hash MTH(D[size]); {@link emptyRoot} when empty. */
  root(): Uint8Array {
    return foldRight(this.#hashes);
  }

  /** The frontier nodes (largest first), i.e. the nodes of `subtreeRootPlan(size)`. */
  nodes(): StoredNode[] {
    const element = subtreeRootPlan(this.#size).elements[0] ?? [];
    return element.map((node, i) => ({
      level: node.level,
      index: node.index,
      hash: (this.#hashes[i] as Uint8Array).slice(),
    }));
  }

  /** An independent copy. */
  clone(): CompactRange {
    const copy = new CompactRange();
    copy.#size = this.#size;
    copy.#hashes = this.#hashes.map((h) => h.slice());
    return copy;
  }
}

// ---- verification -----------------------------------------------------------------------------

/**
 * Computes the root implied by an inclusion proof (RFC 9162 §2.1.3.2, steps
 * 1–4), after checking the proof has exactly the length the index and size
 * require.
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when an index or size is
 * invalid or `leafIndex >= treeSize`.
 * @throws ChaosCoreError MERKLE_PROOF_MALFORMED when the leaf hash or a proof
 * hash is not 32 bytes, or the proof has the wrong number of hashes.
 * @example
 * ```ts
 * const root = rootFromInclusionProof(leafHash(entry), 5, 8, proof);
 * ```
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  leafIndex: bigint | number,
  treeSize: bigint | number,
  proof: readonly Uint8Array[],
): Uint8Array {
  const index = toIndex(leafIndex, "leafIndex");
  const size = toIndex(treeSize, "treeSize");
  if (index >= size) {
    throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", "leaf index is not below tree size", {
      details: { leafIndex: index, treeSize: size },
    });
  }
  assertHash(leafHash, "MERKLE_PROOF_MALFORMED", "leaf hash");
  assertProof(proof);
  const want = inclusionProofLength(index, size);
  if (proof.length !== want) {
    throw new ChaosCoreError(
      "MERKLE_PROOF_MALFORMED",
      `inclusion proof has ${proof.length} hashes, expected ${want}`,
      { details: { leafIndex: index, treeSize: size, got: proof.length, want } },
    );
  }
  // RFC 9162 §2.1.3.2.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw inclusionInvalid("proof is longer than the path to the root");
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw inclusionInvalid("proof is shorter than the path to the root");
  return r;
}

/**
 * Verifies that `leafHash` is the leaf at `leafIndex` of the tree of
 * `treeSize` leaves whose root is `root` (RFC 9162 §2.1.3.2).
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when an index or size is
 * invalid or `leafIndex >= treeSize`.
 * @throws ChaosCoreError MERKLE_PROOF_MALFORMED when a hash is not 32 bytes
 * or the proof has the wrong number of hashes.
 * @throws ChaosCoreError MERKLE_INCLUSION_PROOF_INVALID when the proof does
 * not lead to `root`.
 * @example
 * ```ts
 * verifyInclusion(leafHash(entry), 5, checkpoint.size, proof, checkpoint.rootHash);
 * ```
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  leafIndex: bigint | number,
  treeSize: bigint | number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const computed = rootFromInclusionProof(leafHash, leafIndex, treeSize, proof);
  assertHash(root, "MERKLE_PROOF_MALFORMED", "root");
  if (!equalBytes(computed, root)) {
    throw inclusionInvalid("the proof leads to another root");
  }
}

/**
 * Verifies that the tree of `size1` leaves with root `root1` is a prefix of
 * the tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2). Equal
 * sizes need an empty proof and equal roots. A proof from the empty tree
 * (`size1 = 0`) is refused, as transparency-dev/merkle does: it proves
 * nothing and RFC 9162 does not define it.
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE unless 0 < size1 <= size2.
 * @throws ChaosCoreError MERKLE_PROOF_MALFORMED when a hash is not 32 bytes
 * or the proof has the wrong number of hashes.
 * @throws ChaosCoreError MERKLE_CONSISTENCY_PROOF_INVALID when the proof does
 * not link `root1` to `root2`.
 * @example
 * ```ts
 * verifyConsistency(old.size, cur.size, proof, old.rootHash, cur.rootHash);
 * ```
 */
export function verifyConsistency(
  size1: bigint | number,
  size2: bigint | number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  const first = toIndex(size1, "size1");
  const second = toIndex(size2, "size2");
  if (first > second) {
    throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", "size1 is larger than size2", {
      details: { size1: first, size2: second },
    });
  }
  if (first === 0) {
    throw new ChaosCoreError(
      "MERKLE_INDEX_OUT_OF_RANGE",
      "a consistency proof from the empty tree is meaningless",
      { details: { size1: first, size2: second } },
    );
  }
  assertHash(root1, "MERKLE_PROOF_MALFORMED", "root1");
  assertHash(root2, "MERKLE_PROOF_MALFORMED", "root2");
  assertProof(proof);
  if (first === second) {
    if (proof.length !== 0) {
      throw new ChaosCoreError("MERKLE_PROOF_MALFORMED", "equal sizes need an empty proof", {
        details: { size1: first, size2: second, got: proof.length, want: 0 },
      });
    }
    if (!equalBytes(root1, root2)) throw consistencyInvalid("equal sizes but different roots");
    return;
  }
  const want = consistencyProofLength(first, second);
  if (proof.length !== want) {
    throw new ChaosCoreError(
      "MERKLE_PROOF_MALFORMED",
      `consistency proof has ${proof.length} hashes, expected ${want}`,
      { details: { size1: first, size2: second, got: proof.length, want } },
    );
  }
  // RFC 9162 §2.1.4.2.
  const path = isPowerOfTwo(first) ? [root1, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) throw consistencyInvalid("proof is longer than the path to the root");
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw consistencyInvalid("proof is shorter than the path to the root");
  if (!equalBytes(fr, root1)) throw consistencyInvalid("the proof does not lead to root1");
  if (!equalBytes(sr, root2)) throw consistencyInvalid("the proof does not lead to root2");
}

/** inner + border of transparency-dev's decompInclProof: the exact proof length. */
function inclusionProofLength(index: number, size: number): number {
  const inner = bitLength(xor(index, size - 1));
  return inner + popCount(Math.floor(index / 2 ** inner));
}

function consistencyProofLength(size1: number, size2: number): number {
  const shift = trailingZeros(size1);
  const inner = bitLength(xor(size1 - 1, size2 - 1)) - shift;
  const border = popCount(Math.floor((size1 - 1) / 2 ** (inner + shift)));
  return (isPowerOfTwo(size1) ? 0 : 1) + inner + border;
}

function inclusionInvalid(message: string): ChaosCoreError<"MERKLE_INCLUSION_PROOF_INVALID"> {
  return new ChaosCoreError("MERKLE_INCLUSION_PROOF_INVALID", message);
}

function consistencyInvalid(message: string): ChaosCoreError<"MERKLE_CONSISTENCY_PROOF_INVALID"> {
  return new ChaosCoreError("MERKLE_CONSISTENCY_PROOF_INVALID", message);
}

// ---- helpers ----------------------------------------------------------------------------------

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

function assertHash(
  value: unknown,
  code: "INVALID_INPUT" | "MERKLE_PROOF_MALFORMED",
  what: string,
): asserts value is Uint8Array {
  if (!isHash(value)) {
    throw new ChaosCoreError(code, `${what} is not a ${HASH_SIZE}-byte hash`, {
      details: { length: value instanceof Uint8Array ? value.length : typeof value },
    });
  }
}

function assertProof(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) {
    throw new ChaosCoreError("MERKLE_PROOF_MALFORMED", "proof is not an array of hashes");
  }
  proof.forEach((p, i) => {
    assertHash(p, "MERKLE_PROOF_MALFORMED", `proof[${i}]`);
  });
}

/** A non-negative integer up to 2^53 − 1 from a number or bigint. */
function toIndex(value: unknown, what: string): number {
  if (typeof value === "bigint" && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(value);
  }
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ChaosCoreError(
    "MERKLE_INDEX_OUT_OF_RANGE",
    `${what} must be an integer in [0, 2^53 − 1]`,
    {
      details: {
        [what]:
          typeof value === "bigint" || typeof value === "number" ? String(value) : typeof value,
      },
    },
  );
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** trailingZeros(n) === n;
}

function bitLength(n: number): number {
  let bits = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) bits++;
  return bits;
}

function popCount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

function trailingZeros(n: number): number {
  if (n === 0) return 0;
  let zeros = 0;
  for (let v = n; v % 2 === 0; v /= 2) zeros++;
  return zeros;
}

/** Bitwise XOR of two safe non-negative integers (beyond 32 bits). */
function xor(a: number, b: number): number {
  const hi = Math.floor(a / 2 ** 32) ^ Math.floor(b / 2 ** 32);
  const lo = (a >>> 0) ^ (b >>> 0);
  return (hi >>> 0) * 2 ** 32 + (lo >>> 0);
}
