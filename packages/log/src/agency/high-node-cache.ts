/**
 * The complete subtree hashes of a transparency log at high levels (issue 14):
 * they never change once stored, and every proof needs some of them, so the
 * log keeps those it has read in memory.
 * @module
 */

/** The lowest level kept: subtrees of 256 leaves (a full level-0 tile) and up. */
export const HIGH_NODE_MIN_LEVEL = 8;

/**
 * Most nodes held: 65,536 (≈ 10 MiB with keys and map entries; a log of 16
 * million leaves has ≈ 65,000 nodes at levels ≥ 8). Beyond it, the oldest
 * entered go first.
 */
export const HIGH_NODE_MAX = 65_536;

/** A bounded map (level, index) → hash of complete subtrees at levels ≥ {@link HIGH_NODE_MIN_LEVEL}. */
export class HighNodeCache {
  private readonly nodes = new Map<number, Uint8Array>();

  constructor(private readonly max = HIGH_NODE_MAX) {}

  /** The hash of node (level, index), if held. */
  get(level: number, index: number): Uint8Array | undefined {
    return level < HIGH_NODE_MIN_LEVEL ? undefined : this.nodes.get(key(level, index));
  }

  /** Holds the stored hash of a complete subtree (ignored below {@link HIGH_NODE_MIN_LEVEL}). */
  set(level: number, index: number, hash: Uint8Array): void {
    if (level < HIGH_NODE_MIN_LEVEL) return;
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

/** One number per node: index < 2^47 at levels ≥ 8 of any log of safe-integer size. */
function key(level: number, index: number): number {
  return index * 64 + level;
}
