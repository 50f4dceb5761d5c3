/**
 * Proof plans (RFC 9162 §2.1.3.1 PATH, §2.1.4.1 SUBPROOF) as the complete subtrees a store holds, and their resolution into proofs.
 * @module
 */
import { ChaosCoreError } from "../errors.js";
import { isHash, largestPowerOfTwoBelow, toIndex } from "./integers.js";
import { emptyRoot, hashChildren, type NodeId, type NodeLookup, type ProofPlan } from "./tree.js";
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

export function makePlan(kind: ProofPlan["kind"], ranges: readonly [number, number][]): ProofPlan {
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
export function inclusionRanges(
  m: number,
  start: number,
  n: number,
  out: [number, number][],
): void {
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
export function consistencyRanges(
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
export function rangeNodes(start: number, end: number): NodeId[] {
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
export function foldRight(hashes: readonly Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1];
  if (acc === undefined) return emptyRoot();
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i] as Uint8Array, acc);
  return acc;
}

export function nodeKey(node: NodeId): string {
  return `${node.level}/${node.index}`;
}
