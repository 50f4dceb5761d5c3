/**
 * The nodes inside full level-0 tiles of a transparency log (issue 14): a
 * tile's 256 leaf hashes fix every node below level 8 over them (255 more),
 * and they never change once the tile is full. A proof's nodes below level 8
 * all lie in its leaf's tile, so with the tile held a proof reads none of them.
 * @module
 */
import { nodeHash } from "@chaoscore/core";

/** Leaves per tile (tlog-tiles height 8). */
const WIDTH = 256;
/** Hashes held per tile: levels 0 to 8 (the tile's root is the level-8 node). */
const NODES = 2 * WIDTH - 1;

/**
 * Most tiles held: 4,096 (16 KiB each, 64 MiB in all: every tile of a
 * 1,048,576-leaf log). Beyond it, the least recently used go first.
 */
export const TILE_NODE_MAX_TILES = 4096;

/** Bounded LRU: tile number → the 511 node hashes over its 256 leaves. */
export class TileNodeCache {
  private readonly tiles = new Map<number, Uint8Array>();

  constructor(private readonly max = TILE_NODE_MAX_TILES) {}

  /** The tile a node below level 8 lies in. */
  static tileOf(level: number, index: number): number {
    return Math.floor(index / 2 ** (8 - level));
  }

  /** A copy of the hash of node (level, index), level < 8, if its tile is held. */
  get(level: number, index: number): Uint8Array | undefined {
    if (level >= 8) return undefined;
    const tile = TileNodeCache.tileOf(level, index);
    const nodes = this.tiles.get(tile);
    if (nodes === undefined) return undefined;
    this.tiles.delete(tile);
    this.tiles.set(tile, nodes);
    const offset = NODES + 1 - ((NODES + 1) >> level) + (index - tile * (WIDTH >> level));
    return nodes.slice(offset * 32, offset * 32 + 32);
  }

  /** Holds tile `tile` from its 256 stored leaf hashes, in order. */
  set(tile: number, leafHashes: readonly Uint8Array[]): void {
    if (leafHashes.length !== WIDTH || this.tiles.has(tile)) return;
    const nodes = new Uint8Array(NODES * 32);
    leafHashes.forEach((h, i) => {
      nodes.set(h, i * 32);
    });
    // Level l starts at 512 − (512 >> l); each parent hashes its two children.
    for (let level = 1, from = 0, to = WIDTH; level <= 8; level++) {
      const count = WIDTH >> level;
      for (let p = 0; p < count; p++) {
        const left = nodes.subarray((from + 2 * p) * 32, (from + 2 * p + 1) * 32);
        const right = nodes.subarray((from + 2 * p + 1) * 32, (from + 2 * p + 2) * 32);
        nodes.set(nodeHash(left, right), (to + p) * 32);
      }
      from = to;
      to += count;
    }
    if (this.tiles.size >= this.max) {
      const oldest = this.tiles.keys().next();
      if (!oldest.done) this.tiles.delete(oldest.value);
    }
    this.tiles.set(tile, nodes);
  }

  /** Tiles held (for tests). */
  get size(): number {
    return this.tiles.size;
  }
}
