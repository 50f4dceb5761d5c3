/**
 * Full tiles and entry bundles are immutable: the gateway reads each from the
 * database once and serves it from memory after (routes/immutable-cache.ts,
 * issue 14); a partial tile is read every time (it grows).
 */
import { TransparencyLog } from "@chaoscore/log";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

describe("full tiles from memory", () => {
  let g: Awaited<ReturnType<typeof openTestGateway>>;

  const append = async (n: number) => {
    const entries = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`entry ${i}`));
    let commit = () => {};
    await g.engine.db.transaction(async (tx) => {
      ({ commit } = await g.engine.log.appendInTransaction(tx, entries));
    });
    commit();
  };
  const get = (url: string) => g.app.inject({ method: "GET", url });

  beforeAll(async () => {
    g = await openTestGateway();
    await append(300);
  }, 60_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await g?.close();
  });

  it("reads a full tile and a full bundle once, and a partial tile every time", async () => {
    const nodes = vi.spyOn(TransparencyLog.prototype, "nodes");
    const entries = vi.spyOn(TransparencyLog.prototype, "entries");
    const tile = await get("/log/tile/0/000");
    const bundle = await get("/log/tile/entries/000");
    expect([tile.statusCode, tile.rawPayload.length, bundle.statusCode]).toEqual([200, 8192, 200]);
    expect([nodes.mock.calls.length, entries.mock.calls.length]).toEqual([1, 1]);
    for (let i = 0; i < 3; i++) {
      const again = await get("/log/tile/0/000");
      expect([again.rawPayload, again.headers.etag]).toEqual([tile.rawPayload, tile.headers.etag]);
      const bundleAgain = await get("/log/tile/entries/000");
      expect(bundleAgain.rawPayload).toEqual(bundle.rawPayload);
    }
    expect([nodes.mock.calls.length, entries.mock.calls.length]).toEqual([1, 1]);

    const partial = await get("/log/tile/0/001.p/44");
    expect(partial.rawPayload.length).toBe(44 * 32);
    await get("/log/tile/0/001.p/44");
    expect(nodes.mock.calls.length).toBe(3);
  });

  it("reads a tile in one query (no size read) and refuses one wider than the tree", async () => {
    const size = vi.spyOn(TransparencyLog.prototype, "size");
    const partial = await get("/log/tile/0/001.p/43");
    expect([partial.statusCode, partial.rawPayload.length]).toEqual([200, 43 * 32]);
    const bundle = await get("/log/tile/entries/001.p/44");
    expect(bundle.statusCode).toBe(200);
    expect(size).not.toHaveBeenCalled();
    // 300 leaves: tile 1 has 44 hashes; level 1 has one (of 256 leaves) and no partial of 2.
    for (const url of [
      "/log/tile/0/001.p/45",
      "/log/tile/entries/001.p/45",
      "/log/tile/1/000.p/2",
      "/log/tile/0/002.p/1",
    ]) {
      const missing = await get(url);
      expect([url, missing.statusCode, missing.json().code]).toEqual([
        url,
        404,
        "LOG_TILE_NOT_FOUND",
      ]);
      expect(missing.json().detail).toMatch(/tree of 300 leaves/);
    }
    expect((await get("/log/tile/1/000.p/1")).rawPayload.length).toBe(32);
    size.mockRestore();
  });

  it("keeps no answer for a tile that is not full yet", async () => {
    const missing = await get("/log/tile/0/001");
    expect(missing.json().code).toBe("LOG_TILE_NOT_FOUND");
    await append(212); // 512 leaves: tile 1 is full now
    const full = await get("/log/tile/0/001");
    expect([full.statusCode, full.rawPayload.length]).toEqual([200, 8192]);
  });
});
