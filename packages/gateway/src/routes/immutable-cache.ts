/**
 * A bounded in-memory cache of immutable answers (full tlog tiles and entry
 * bundles, issue 14): their bytes never change once the tile is full, so the
 * gateway reads one from the database once and serves it from memory after,
 * least recently used first out when the cache holds more than its byte bound.
 * @module
 */

/** A cached body with its strong ETag. */
export type CachedBody = { readonly body: Buffer; readonly etag: string };

/** Least-recently-used cache of immutable bodies, bounded by their total bytes. */
export class ImmutableCache {
  private readonly entries = new Map<string, CachedBody>();
  private size = 0;

  /**
   * @param maxBytes most bytes of bodies held (default 64 MiB: every level-0
   * tile of a log of 8 million leaves); a body larger than an eighth of it is
   * never cached.
   */
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** The cached body of `key`, now the most recently used; undefined when absent. */
  get(key: string): CachedBody | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  /** Caches `value` under `key`, evicting the least recently used beyond the bound. */
  set(key: string, value: CachedBody): void {
    if (value.body.length > this.maxBytes / 8) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.size -= old.body.length;
    }
    this.entries.set(key, value);
    this.size += value.body.length;
    for (const [k, v] of this.entries) {
      if (this.size <= this.maxBytes) break;
      this.entries.delete(k);
      this.size -= v.body.length;
    }
  }

  /** Bodies and bytes held (for tests and metrics). */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.size };
  }
}
