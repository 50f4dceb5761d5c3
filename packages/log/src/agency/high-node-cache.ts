/**
 * The complete subtree hashes of a transparency log that proofs read outside
 * full level-0 tiles (issue 14): those at level 8 and up, and those at the
 * right edge of the tree (in its last, partial tile). They never change once
 * stored, and every proof needs some of them, so the log keeps them in memory.
 * @module
 */

/**
 * Most nodes held: 65,536 (≈ 10 MiB with keys and map entries; a log of 16
 * million leaves has ≈ 65,000 nodes at levels ≥ 8). Beyond it, the oldest
 * entered go first.
 */
export const HIGH_NODE_MAX = 65_536;

/** A bounded map (level, index) → hash of stored complete subtrees. */
export class HighNodeCache {
  private readonly nodes = new Map<number, Uint8Array>();

  constructor(private readonly max = HIGH_NODE_MAX) {}

  /** The hash of node (level, index), if held. */
  get(level: number, index: number): Uint8Array | undefined {
    return this.nodes.get(key(level, index));
  }

  /** Holds the stored hash of a complete subtree. */
  set(level: number, index: number, hash: Uint8Array): void {
    const k = key(level, index);
    if (this.nodes.has(k)) return;
    if (this.nodes.size >= this.max) {
      const oldest = this.nodes.keys().next();
      if (!oldest.done) this.nodes.delete(oldest.value);
    }
    this.nodes.set(k, hash);
  }

  /** Nodes held (for tests). */
  get size(): number {
    return this.nodes.size;
  }
}

/** One number per node (exact while index < 2^47: any log of up to 140 trillion leaves). */
function key(level: number, index: number): number {
  return index * 64 + level;
}
