/**
 * The lean path for cached immutable tiles (lean-tiles.ts, issue 14), over a
 * real port: a cached full tile or bundle is answered before routing (counted
 * in chaoscore_tile_lean_answers_total) with the same bytes and headers as the tile route (read here with
 * `inject`, which never takes the lean path), and everything else falls
 * through to the route: misses, partial tiles, bad paths with their codes,
 * HEAD, conditional requests, queries, credentials, a caller over the rate
 * limit (whose lean answers count in the limit's store), and a gateway behind a proxy.
 */
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Headers that differ per answer or per transport (inject has no socket). */
const TRANSPORT = new Set(["date", "connection", "keep-alive"]);

async function open(options: Parameters<typeof openTestGateway>[0]) {
  const g = await openTestGateway(options);
  const entries = Array.from({ length: 520 }, (_, i) => new TextEncoder().encode(`entry ${i}`));
  let commit = () => {};
  await g.engine.db.transaction(async (tx) => {
    ({ commit } = await g.engine.log.appendInTransaction(tx, entries));
  });
  commit();
  const base = await g.app.listen({ host: "127.0.0.1", port: 0 });
  const get = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${base}${path}`, init);
    const body = Buffer.from(await r.arrayBuffer());
    const headers = Object.fromEntries([...r.headers].filter(([k]) => !TRANSPORT.has(k)));
    return { status: r.status, headers, body };
  };
  const inject = async (path: string) => {
    const r = await g.app.inject({ method: "GET", url: path });
    const headers = Object.fromEntries(
      Object.entries(r.headers)
        .filter(([k]) => !TRANSPORT.has(k))
        .map(([k, v]) => [k, String(v)]),
    );
    return { status: r.statusCode, headers, body: r.rawPayload };
  };
  /** A request metric's count (0 when absent) as /metrics says. */
  const metric = async (prefix: string) => {
    const text = (await inject("/metrics")).body.toString();
    const line = text.split("\n").find((l) => l.startsWith(prefix));
    return line === undefined ? 0 : Number(line.split(" ")[1]);
  };
  /** Answers of the lean path so far. */
  const lean = () => metric("chaoscore_tile_lean_answers_total ");
  return { g, get, inject, metric, lean };
}

describe("lean path for cached tiles (no rate limits, no replica)", () => {
  let t: Awaited<ReturnType<typeof open>>;
  let shard: string;
  beforeAll(async () => {
    t = await open({ rateLimit: false });
    shard = (await t.g.engine.logs.active()).id;
  }, 60_000);
  afterAll(async () => {
    await t?.g.close();
  });

  it("answers a cached full tile and bundle with the route's bytes and headers, before routing", async () => {
    for (const path of [
      "/log/tile/0/001",
      "/log/tile/entries/001",
      `/v1/logs/${shard}/tile/0/000`,
      `/v1/logs/${shard}/tile/entries/000`,
      "/log/tile/1/000.p/2",
    ]) {
      const partial = path.includes(".p/");
      const first = await t.get(path); // a miss: the route reads the database and caches it
      expect([path, first.status]).toEqual([path, 200]);
      const before = await t.lean();
      const second = await t.get(path);
      // a full tile: the lean path; a partial one: the route again
      expect([path, (await t.lean()) - before]).toEqual([path, partial ? 0 : 1]);
      const normal = await t.inject(path);
      expect(second.body.equals(normal.body)).toBe(true);
      expect(second.body.equals(first.body)).toBe(true);
      expect(second.headers).toEqual(normal.headers);
      expect(second.headers).toEqual(first.headers);
      if (!partial) {
        expect(second.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
        expect(second.headers["x-content-type-options"]).toBe("nosniff");
        expect(second.headers["content-security-policy"]).toContain("default-src 'self'");
      }
    }
    expect((await t.get("/log/tile/0/001")).body.length).toBe(256 * 32);
  });

  it("falls through for misses, bad paths (with their codes), HEAD, conditional requests, queries and credentials", async () => {
    const tile = "/log/tile/0/000";
    const cached = await t.get(tile);
    await t.get(tile);
    const through = async (path: string, init: RequestInit = {}) => {
      const before = await t.lean();
      const r = await t.get(path, init);
      expect([path, (await t.lean()) - before]).toEqual([path, 0]);
      return r;
    };
    const code = (r: { body: Buffer }) => JSON.parse(r.body.toString()).code;
    const beyond = await through("/log/tile/0/009");
    expect([beyond.status, code(beyond)]).toEqual([404, "LOG_TILE_NOT_FOUND"]);
    const level = await through("/log/tile/8/000");
    expect([level.status, code(level)]).toEqual([400, "GATEWAY_REQUEST_INVALID"]);
    const noLog = await through("/v1/logs/no-such-log/tile/0/000");
    expect([noLog.status, code(noLog)]).toEqual([404, "LOG_NOT_FOUND"]);
    const head = await through(tile, { method: "HEAD" });
    expect([head.status, head.body.length]).toEqual([200, 0]);
    const etag = String(cached.headers.etag);
    const revalidated = await through(tile, { headers: { "if-none-match": etag } });
    expect([revalidated.status, revalidated.body.length]).toEqual([304, 0]);
    const query = await through(`${tile}?minSize=1`);
    expect(query.body.equals(cached.body)).toBe(true);
    const badQuery = await through(`${tile}?minSize=abc`);
    expect([badQuery.status, code(badQuery)]).toEqual([400, "GATEWAY_REQUEST_INVALID"]);
    const badHeader = await through(tile, { headers: { "chaoscore-min-size": "" } });
    expect([badHeader.status, code(badHeader)]).toEqual([400, "GATEWAY_REQUEST_INVALID"]);
    const badKey = await through(tile, { headers: { authorization: "Bearer nope" } });
    expect([badKey.status, code(badKey)]).toEqual([401, "GATEWAY_API_KEY_INVALID"]);
    const origin = await through(tile, { headers: { origin: "https://evil.example" } });
    expect(origin.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("counts lean answers in the request metrics under the route's label", async () => {
    const count = () =>
      t.metric(
        'chaoscore_http_request_duration_seconds_count{method="GET",route="/log/tile/*",status_code="200"}',
      );
    await t.get("/log/tile/0/000");
    const [before, leanBefore] = [await count(), await t.lean()];
    for (let i = 0; i < 5; i++) await t.get("/log/tile/0/000");
    expect([(await count()) - before, (await t.lean()) - leanBefore]).toEqual([5, 5]);
  });
});

describe("lean path with the per-caller rate limit", () => {
  let t: Awaited<ReturnType<typeof open>>;
  beforeAll(async () => {
    t = await open({ rateLimit: 10 });
  }, 60_000);
  afterAll(async () => {
    await t?.g.close();
  });

  it("counts lean answers in the route's store, sends its headers, and lets the route refuse a caller over the limit", async () => {
    // Every request over the port here is the same caller (127.0.0.1): 10 a minute.
    const tile = "/log/tile/0/000";
    const first = await t.get(tile); // the route: 9 left
    const leanBefore = await t.lean();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await t.get(tile)); // lean: 8, 7, 6, 5 left
    expect((await t.lean()) - leanBefore).toBe(4);
    for (let i = 0; i < 5; i++) answers.push(await t.get(tile)); // lean: 4 … 0 left
    const { "x-ratelimit-remaining": _r, "x-ratelimit-reset": _s, ...same } = first.headers;
    expect(first.headers["x-ratelimit-remaining"]).toBe("9");
    expect(answers.map((a) => a.headers["x-ratelimit-remaining"])).toEqual([
      "8",
      "7",
      "6",
      "5",
      "4",
      "3",
      "2",
      "1",
      "0",
    ]);
    for (const a of answers) {
      expect(a.body.equals(first.body)).toBe(true);
      const { "x-ratelimit-remaining": _a, "x-ratelimit-reset": reset, ...rest } = a.headers;
      expect(rest).toEqual(same);
      expect(rest["x-ratelimit-limit"]).toBe("10");
      expect(Number(reset)).toBeGreaterThan(0);
    }
    const leanAnswers = await t.lean();
    const refused = await t.get(tile); // over the limit: the route refuses
    expect([refused.status, JSON.parse(refused.body.toString()).code]).toEqual([
      429,
      "GATEWAY_RATE_LIMITED",
    ]);
    expect(await t.lean()).toBe(leanAnswers);
  });
});

describe("lean path off behind a trusted proxy", () => {
  let t: Awaited<ReturnType<typeof open>>;
  beforeAll(async () => {
    t = await open({ rateLimit: false, trustProxy: true });
  }, 60_000);
  afterAll(async () => {
    await t?.g.close();
  });

  it("answers every tile through the route (the caller's address is the proxy's to say)", async () => {
    const first = await t.get("/log/tile/0/000");
    const again = await t.get("/log/tile/0/000");
    expect(again.body.equals(first.body)).toBe(true);
    // Not installed at all: no counter of lean answers.
    expect((await t.inject("/metrics")).body.toString()).not.toContain(
      "chaoscore_tile_lean_answers_total",
    );
  });
});
