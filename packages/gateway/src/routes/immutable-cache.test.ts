import { describe, expect, it } from "vitest";
import { ImmutableCache } from "./immutable-cache.js";

const body = (n: number, fill = 1) => ({ body: Buffer.alloc(n, fill), etag: `"${n}-${fill}"` });

describe("ImmutableCache", () => {
  it("keeps at most its byte bound, evicting the least recently used", () => {
    const cache = new ImmutableCache(8192);
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for (const [i, k] of keys.entries()) cache.set(k, body(1024, i)); // exactly 8 KiB
    expect(cache.get("a")?.etag).toBe('"1024-0"'); // a is now the most recent
    cache.set("i", body(1024, 8)); // 9 KiB > 8 KiB: b, the least recently used, goes
    expect(cache.get("b")).toBeUndefined();
    expect(["a", "c", "h", "i"].map((k) => cache.get(k)?.etag)).toEqual([
      '"1024-0"',
      '"1024-2"',
      '"1024-7"',
      '"1024-8"',
    ]);
    expect(cache.stats).toEqual({ entries: 8, bytes: 8192 });
  });

  it("replaces a key without counting it twice and never caches a body above an eighth of the bound", () => {
    const cache = new ImmutableCache(8192);
    cache.set("a", body(512, 1));
    cache.set("a", body(512, 2));
    expect(cache.stats).toEqual({ entries: 1, bytes: 512 });
    expect(cache.get("a")?.etag).toBe('"512-2"');
    cache.set("big", body(1025));
    expect(cache.get("big")).toBeUndefined();
    expect(cache.stats).toEqual({ entries: 1, bytes: 512 });
  });
});
