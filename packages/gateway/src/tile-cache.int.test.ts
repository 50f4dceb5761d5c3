/**
 * Cache headers of the tlog-tiles read API (issue 18 item 4): a full tile or
 * entry bundle is immutable (a year, `immutable`), a partial tile and the
 * checkpoint are `no-cache`; each carries a strong ETag, and If-None-Match
 * with it answers 304 with no body.
 */
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const IMMUTABLE = "public, max-age=31536000, immutable";

describe("tile cache headers", () => {
  let g: Awaited<ReturnType<typeof openTestGateway>>;

  const append = async (n: number) => {
    const entries = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`entry ${i}`));
    let commit = () => {};
    await g.engine.db.transaction(async (tx) => {
      ({ commit } = await g.engine.log.appendInTransaction(tx, entries));
    });
    commit();
  };
  const get = (url: string, headers: Record<string, string> = {}) =>
    g.app.inject({ method: "GET", url, headers });

  beforeAll(async () => {
    g = await openTestGateway();
    await append(260);
  }, 60_000);
  afterAll(async () => {
    await g?.close();
  });

  it("serves full tiles and bundles immutable, with an ETag that revalidates to 304", async () => {
    for (const url of ["/log/tile/0/000", "/log/tile/entries/000"]) {
      const first = await get(url);
      expect([url, first.statusCode, first.headers["cache-control"]]).toEqual([
        url,
        200,
        IMMUTABLE,
      ]);
      // Without a read replica no answer names a side.
      expect(first.headers["chaoscore-read"]).toBeUndefined();
      const etag = String(first.headers.etag);
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      const again = await get(url, { "if-none-match": etag });
      expect([again.statusCode, again.rawPayload.length]).toEqual([304, 0]);
      const other = await get(url, { "if-none-match": '"something-else"' });
      expect(other.statusCode).toBe(200);
      expect(other.rawPayload.equals(first.rawPayload)).toBe(true);
    }
    expect((await get("/log/tile/0/000")).rawPayload.length).toBe(256 * 32);
  });

  it("never caches a partial tile or the checkpoint long; the checkpoint's ETag changes as the log grows", async () => {
    const partial = await get("/log/tile/0/001.p/4");
    expect([partial.statusCode, partial.headers["cache-control"]]).toEqual([200, "no-cache"]);
    expect(partial.headers.etag).toMatch(/^"/);
    const cp = await get("/log/checkpoint");
    expect([cp.statusCode, cp.headers["cache-control"]]).toEqual([200, "no-cache"]);
    const etag = String(cp.headers.etag);
    expect((await get("/log/checkpoint", { "if-none-match": etag })).statusCode).toBe(304);
    await append(1);
    const grown = await get("/log/checkpoint", { "if-none-match": etag });
    expect(grown.statusCode).toBe(200);
    expect(grown.headers.etag).not.toBe(etag);
    expect(grown.body.split("\n")[1]).toBe("261");
  });
});
