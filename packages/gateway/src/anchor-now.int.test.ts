/**
 * `POST /v1/log/anchors`: an operator anchors the current checkpoint now
 * (`chaoscore demo --gateway` waited ~54 s for the anchoring timer). The
 * anchoring service makes it idempotent per tree size (tested in
 * packages/anchoring); here: access, the answer, the feature switch and
 * the rate limit.
 */

import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANCHOR_NOW_PER_MINUTE } from "./routes/anchor-now.js";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
let bare: G;
const calls: { wait?: boolean }[] = [];
const record = {
  id: 1,
  logId: "default",
  size: 3,
  root: `0x${"11".repeat(32)}`,
  chainId: "31337",
  contract: `0x${"22".repeat(20)}`,
  index: 0,
  txHash: `0x${"33".repeat(32)}`,
  blockNumber: 7,
  blockHash: `0x${"44".repeat(32)}`,
  status: "final",
  attempts: 1,
  lastError: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:02.000Z",
} as const;

beforeAll(async () => {
  g = await openTestGateway({
    rateLimit: 10_000,
    anchoring: {
      async anchorNow(options = {}) {
        calls.push(options);
        return record;
      },
    },
  });
  bare = await openTestGateway();
});
afterAll(async () => {
  await g?.close();
  await bare?.close();
});

const anchorNow = (gateway: G, headers: Record<string, string>) =>
  gateway.app.inject({ method: "POST", url: "/v1/log/anchors", headers });

describe("POST /v1/log/anchors", () => {
  it("anonymous callers and agents cannot make the gateway send transactions", async () => {
    const r = await anchorNow(g, {});
    expect(r.statusCode).toBe(401);
    expect(calls).toEqual([]);
  });

  it("anchors now for an admin key, waits for the anchor to be final and answers its record", async () => {
    const r = await anchorNow(g, g.bearer(g.admin));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ anchor: record });
    expect(calls).toEqual([{ wait: true, timeoutMs: 60_000 }]);
  });

  it("is rate-limited per caller (each call may send a transaction)", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < ANCHOR_NOW_PER_MINUTE + 1; i++) {
      statuses.push((await anchorNow(g, g.bearer(g.admin))).statusCode);
    }
    // One call was made by the test above within the same minute.
    expect(statuses.filter((s) => s === 429).length).toBe(2);
    const limited = await anchorNow(g, g.bearer(g.admin));
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe("GATEWAY_RATE_LIMITED");
    expect(calls.length).toBe(ANCHOR_NOW_PER_MINUTE);
  });

  it("a gateway without a chain answers 404 GATEWAY_FEATURE_DISABLED", async () => {
    const r = await anchorNow(bare, bare.bearer(bare.admin));
    expect(r.statusCode, r.body).toBe(404);
    expect(r.json()).toMatchObject({
      code: "GATEWAY_FEATURE_DISABLED",
      details: { feature: "anchoring" },
    });
  });
});
