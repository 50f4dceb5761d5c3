/**
 * A compact range: the right edge of the tree, for appending leaves and computing roots without the whole tree.
 * @module
 */
import { ChaosCoreError } from "../errors.js";
import { assertHash, isHash, toIndex } from "./integers.js";
import { foldRight, resolveProof, subtreeRootPlan } from "./proof-plans.js";
import { emptyRoot, hashChildren, type NodeLookup, type StoredNode } from "./tree.js";
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
