import {
  leafHash,
  nodeHash,
  parseCheckpoint,
  verifyInclusion,
  verifyReceipt,
} from "@chaoscore/core";
import { CHAIN_ID, openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway } from "./app.js";
import { parseTileIndex, tileIndexPath } from "./routes/tiles.js";
import { HELMET_OPTIONS, helmetHeaders } from "./security-headers.js";
import { gatewayServices } from "./services.js";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
let alice: Awaited<ReturnType<G["newAgent"]>>;

const post = (url: string, body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST" as const,
  url,
  headers: { "content-type": "application/json", ...headers },
  payload: JSON.stringify(body),
});

beforeAll(async () => {
  g = await openTestGateway();
  alice = await g.newAgent();
});
afterAll(async () => {
  await g?.close();
});

const b64 = (s: string) => Uint8Array.from(Buffer.from(s, "base64"));

describe("actions over HTTP", () => {
  it("records an action whose receipt verifies offline with the log key from /v1", async () => {
    const signed = alice.action({ payload: { tool: "search", q: "dao runway" } });
    const r = await g.app.inject(post("/v1/actions", signed, g.bearer(g.admin)));
    expect(r.statusCode, r.body).toBe(201);
    const { id, leafIndex, duplicate } = r.json();
    expect(duplicate).toBe(false);
    const again = await g.app.inject(post("/v1/actions", signed, g.bearer(g.admin)));
    expect(again.json()).toEqual({
      id,
      kind: "action",
      log: "default",
      leafIndex,
      duplicate: true,
    });

    const info = (await g.app.inject({ method: "GET", url: "/v1" })).json();
    expect(info.chainId).toBe(CHAIN_ID.toString());
    // (with the payload: an admin key reads it; anonymous callers get the receipt without it)
    const receipt = await g.app.inject({
      method: "GET",
      url: `/v1/actions/${id}/receipt`,
      headers: g.bearer(g.admin),
    });
    const verified = verifyReceipt(receipt.body, info.log.verifierKey);
    expect(verified.actionId).toBe(id);
    expect(verified.leafIndex).toBe(leafIndex);

    const served = await g.app.inject(post("/v1/receipts/verify", receipt.json()));
    expect(served.json()).toMatchObject({ valid: true, actionId: id });
    const tampered = receipt.body.replace('"dao runway"', '"dao runway!"');
    const bad = await g.app.inject({
      method: "POST",
      url: "/v1/receipts/verify",
      headers: { "content-type": "application/json" },
      payload: tampered,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe("RECEIPT_PAYLOAD_MISMATCH");
  });

  it("lists actions with cursor pagination", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await g.app.inject(post("/v1/actions", alice.action(), g.bearer(g.admin)));
      expect(r.statusCode).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/actions?agent=${alice.address}&limit=2${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = (await g.app.inject({ method: "GET", url: q })).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((a: { id: string }) => a.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen.length).toBe(6);
    expect(new Set(seen).size).toBe(6);
  });

  it("search finds an agent's actions, each with a proof that verifies against the checkpoint", async () => {
    const s = (await g.app.inject({ method: "GET", url: `/v1/search?q=${alice.address}` })).json();
    expect(s.kind).toBe("agent");
    expect(s.items.length).toBeGreaterThan(0);
    const cp = parseCheckpoint(`${s.checkpoint.note.split("\n\n")[0]}\n`);
    for (const hit of s.items) {
      const entries = (
        await g.app.inject({
          method: "GET",
          url: `/v1/log/entries?start=${hit.action.leafIndex}&end=${hit.action.leafIndex + 1}`,
        })
      ).json();
      verifyInclusion(
        leafHash(b64(entries.items[0].entry)),
        hit.proof.leafIndex,
        cp.size,
        hit.proof.hashes.map(b64),
        cp.rootHash,
      );
    }
    const byHash = (
      await g.app.inject({ method: "GET", url: `/v1/search?q=${s.items[0].action.id}` })
    ).json();
    expect(byHash.kind).toBe("action");
    expect(byHash.items[0].action.id).toBe(s.items[0].action.id);
  });
});

describe("tlog-tiles", () => {
  it("encodes and parses tile indices as C2SP does", () => {
    expect(tileIndexPath(0)).toBe("000");
    expect(tileIndexPath(1234067)).toBe("x001/x234/067");
    expect(parseTileIndex("x001/x234/067")).toEqual({ index: 1234067, width: 256 });
    expect(parseTileIndex("067.p/5")).toEqual({ index: 67, width: 5 });
    expect(() => parseTileIndex("67")).toThrow();
    expect(() => parseTileIndex("067.p/256")).toThrow();
    expect(() => parseTileIndex("067.p/0")).toThrow();
  });

  it("serves the checkpoint, the level-0 tile and the entry bundle of the tree", async () => {
    const note = (await g.app.inject({ method: "GET", url: "/log/checkpoint" })).body;
    const cp = parseCheckpoint(`${note.split("\n\n")[0]}\n`);
    expect(cp.size).toBeGreaterThan(0);
    const width = cp.size % 256;
    const tile = await g.app.inject({ method: "GET", url: `/log/tile/0/000.p/${width}` });
    expect(tile.statusCode).toBe(200);
    const hashes = tile.rawPayload;
    expect(hashes.length).toBe(32 * width);
    const bundle = (await g.app.inject({ method: "GET", url: `/log/tile/entries/000.p/${width}` }))
      .rawPayload;
    // the bundle's entries hash to the tile's leaves, and the leaves to the checkpoint's root
    let at = 0;
    const leaves: Uint8Array[] = [];
    while (at < bundle.length) {
      const len = bundle.readUInt16BE(at);
      leaves.push(leafHash(bundle.subarray(at + 2, at + 2 + len)));
      at += 2 + len;
    }
    expect(leaves.length).toBe(width);
    leaves.forEach((h, i) => {
      expect(Buffer.from(h).equals(hashes.subarray(32 * i, 32 * i + 32))).toBe(true);
    });
    const root = (function reduce(nodes: Uint8Array[]): Uint8Array {
      if (nodes.length === 1) return nodes[0] as Uint8Array;
      const k = 2 ** Math.floor(Math.log2(nodes.length - 1));
      return nodeHash(reduce(nodes.slice(0, k)), reduce(nodes.slice(k)));
    })(leaves);
    expect(Buffer.from(root).equals(Buffer.from(cp.rootHash))).toBe(true);
    const missing = await g.app.inject({ method: "GET", url: "/log/tile/0/000" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("LOG_TILE_NOT_FOUND");
  });
});

describe("idempotency keys", () => {
  it("replays the first answer for the same key and body, and refuses another body", async () => {
    const studio = {
      id: "idem",
      kind: "generic",
      name: "idempotent",
      operator: alice.address,
      rules: { attestationRequired: false },
      rewardPolicy: { kind: "fixed", budget: "10", amountPerSuccess: "1" },
    };
    const h = { ...g.bearer(g.admin), "idempotency-key": "create-idem-1" };
    const first = await g.app.inject(post("/v1/studios", studio, h));
    expect(first.statusCode, first.body).toBe(201);
    const second = await g.app.inject(post("/v1/studios", studio, h));
    expect(second.statusCode).toBe(201);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.json()).toEqual(first.json());
    const before = await g.rows();
    const other = await g.app.inject(post("/v1/studios", { ...studio, name: "other" }, h));
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe("GATEWAY_IDEMPOTENCY_KEY_REUSED");
    // without the key, the same create is a conflict: the key is what made the retry safe
    const dup = await g.app.inject(post("/v1/studios", studio, g.bearer(g.admin)));
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe("STUDIO_EXISTS");
    expect(await g.rows()).toEqual(before);
    const badKey = await g.app.inject(
      post("/v1/studios", studio, { ...h, "idempotency-key": "a b" }),
    );
    expect(badKey.json().code).toBe("GATEWAY_REQUEST_INVALID");
  });
});

describe("edges: limits, headers, CORS, metrics, docs", () => {
  it("security headers are set and CORS is closed by default", async () => {
    const r = await g.app.inject({
      method: "GET",
      url: "/v1/agents",
      headers: { origin: "https://evil.example" },
    });
    expect(r.headers["x-content-type-options"]).toBe("nosniff");
    expect(r.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    // Helmet's whole list, on a recorded action, a refused one and a 404 alike.
    const helmet = helmetHeaders(HELMET_OPTIONS);
    const recorded = await g.app.inject(post("/v1/actions", alice.action(), g.bearer(g.admin)));
    const refused = await g.app.inject(post("/v1/actions", alice.action(), g.bearer("cc_nope")));
    const missing = await g.app.inject({ method: "GET", url: "/v1/nowhere" });
    expect([recorded.statusCode, refused.statusCode, missing.statusCode]).toEqual([201, 401, 404]);
    for (const answer of [r, recorded, refused, missing]) {
      for (const [name, value] of Object.entries(helmet)) expect(answer.headers[name]).toBe(value);
    }
  });

  it("a body over the limit is 413 and writes nothing", async () => {
    const before = await g.rows();
    const r = await g.app.inject(
      post(
        "/v1/actions",
        { ...alice.action(), payload: "x".repeat(3 * 1024 * 1024) },
        g.bearer(g.admin),
      ),
    );
    expect(r.statusCode).toBe(413);
    expect(r.json().code).toBe("GATEWAY_PAYLOAD_TOO_LARGE");
    expect(await g.rows()).toEqual(before);
  });

  it("/metrics exposes latency histograms, ingest and rejection counters and the anchor lag", async () => {
    const text = (await g.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).toMatch(/chaoscore_http_request_duration_seconds_bucket\{.*route="\/v1\/actions"/);
    expect(text).toMatch(/chaoscore_actions_ingested_total\{kind="action"\} [1-9]/);
    expect(text).toMatch(/chaoscore_requests_rejected_total\{code="GATEWAY_PAYLOAD_TOO_LARGE"\} 1/);
    expect(text).toMatch(/chaoscore_log_size [1-9]/);
    expect(text).toMatch(/chaoscore_anchor_lag_entries [1-9]/);
  });

  it("/docs serves the interactive docs and /openapi.json every route", async () => {
    const docs = await g.app.inject({ method: "GET", url: "/docs/" });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain("swagger");
    const spec = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(spec.openapi).toBe("3.1.0");
    expect(g.app.chaoscoreRoutes.length).toBeGreaterThan(40);
    for (const { method, url } of g.app.chaoscoreRoutes) {
      const path = url.replace(/:([A-Za-z]+)/g, "{$1}").replace(/\*$/, "{*}");
      expect(spec.paths[path]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
    }
  });

  it("rate limits per caller answer 429 with Retry-After", async () => {
    const limited = await buildGateway({
      ...gatewayServices({ engine: g.engine, chainId: CHAIN_ID }),
      logger: false,
      rateLimit: 3,
    });
    const codes: number[] = [];
    let last: Awaited<ReturnType<typeof limited.inject>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await limited.inject({ method: "GET", url: "/v1/agents", headers: g.bearer(g.admin) });
      codes.push(last.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expect(last?.json().code).toBe("GATEWAY_RATE_LIMITED");
    expect(Number(last?.headers["retry-after"])).toBeGreaterThan(0);
    // another caller has its own budget
    const other = await limited.inject({ method: "GET", url: "/v1/agents" });
    expect(other.statusCode).toBe(200);
    await limited.close();
  });

  it("headers over the HTTP parser's limit get a 431 problem, not a bare status line", async () => {
    const app = await buildGateway({
      ...gatewayServices({ engine: g.engine, chainId: CHAIN_ID }),
      logger: false,
    });
    await app.listen({ port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const { connect } = await import("node:net");
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(`GET /v1 HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(40_000)}\r\n\r\n`);
      });
      let text = "";
      socket.on("data", (d) => {
        text += String(d);
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    await app.close();
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain("application/problem+json");
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).code).toBe(
      "GATEWAY_HEADERS_TOO_LARGE",
    );
  });

  it("a gateway without a chain refuses to fund budgets with a 404 feature code, writing nothing", async () => {
    const before = await g.rows();
    const r = await g.app.inject(
      post(
        "/v1/studios/idem/budget",
        { amount: "100" },
        { ...g.bearer(g.admin), "idempotency-key": "fund-idem-1" },
      ),
    );
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({
      code: "GATEWAY_FEATURE_DISABLED",
      details: { feature: "rewards" },
    });
    expect(await g.rows()).toEqual(before);
    const info = (await g.app.inject({ method: "GET", url: "/v1" })).json();
    expect(info.features.rewards).toBe(false);
  });

  it("pre-trusted raters are stored: another gateway on the same database uses them", async () => {
    const other = await buildGateway({
      ...gatewayServices({ engine: g.engine, chainId: CHAIN_ID }),
      logger: false,
    });
    const put = await g.app.inject({
      method: "PUT",
      url: "/v1/reputation/pre-trusted",
      headers: { "content-type": "application/json", ...g.bearer(g.admin) },
      payload: JSON.stringify({ agents: [alice.address] }),
    });
    expect(put.json()).toEqual({ agents: [alice.address] });
    const seen = await other.inject({ method: "GET", url: "/v1/reputation/pre-trusted" });
    expect(seen.json()).toEqual({ agents: [alice.address] });
    const cleared = await other.inject({
      method: "PUT",
      url: "/v1/reputation/pre-trusted",
      headers: { "content-type": "application/json", ...g.bearer(g.admin) },
      payload: JSON.stringify({ agents: [] }),
    });
    expect(cleared.json()).toEqual({ agents: [] });
    const back = await g.app.inject({ method: "GET", url: "/v1/reputation/pre-trusted" });
    expect(back.json()).toEqual({ agents: [] });
    await other.close();
  });

  it("/readyz is 503 when the chain does not answer", async () => {
    const app = await buildGateway({
      ...gatewayServices({ engine: g.engine, chainId: CHAIN_ID }),
      logger: false,
      chain: { ping: () => Promise.reject(new Error("connection refused")) },
    });
    const r = await app.inject({ method: "GET", url: "/readyz" });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({
      code: "GATEWAY_NOT_READY",
      details: { checks: { database: "ok" } },
    });
    await app.close();
  });

  it("closing the gateway finishes in-flight writes", async () => {
    const app = await buildGateway({
      ...gatewayServices({ engine: g.engine, chainId: CHAIN_ID }),
      logger: false,
    });
    await app.listen({ port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/actions`;
    // Settled at once: the requests refused while closing reject (connection reset) early.
    const sends = Array.from({ length: 20 }, () =>
      Promise.allSettled([
        fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...g.bearer(g.admin) },
          body: JSON.stringify(alice.action()),
        }),
      ]).then(([r]) => r as PromiseSettledResult<Response>),
    );
    // Close as soon as the first request arrives: the others are in flight or refused.
    await new Promise<void>((resolve) => {
      app.server.once("request", () => {
        void app.close().then(resolve);
      });
    });
    const answers = await Promise.all(sends);
    const accepted: string[] = [];
    for (const a of answers) {
      if (a.status === "fulfilled" && a.value.status === 201)
        accepted.push(((await a.value.json()) as { id: string }).id);
    }
    expect(accepted.length).toBeGreaterThan(0);
    for (const id of accepted) {
      expect((await g.engine.agency.getAction(id)).id).toBe(id);
    }
  });
});
