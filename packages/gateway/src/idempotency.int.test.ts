import { isChaosCoreError } from "@chaoscore/core";
import { openTestEngine } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IdempotencyDecision, IdempotencyStore } from "./idempotency.js";

let h: Awaited<ReturnType<typeof openTestEngine>>;
let store: IdempotencyStore;
const hash = (s: string) => Buffer.from(s.padEnd(32, "-"));
const run = { kind: "run", holder: expect.stringMatching(/^[0-9a-f]{32}$/) };
const holderOf = (d: IdempotencyDecision) => (d.kind === "run" ? d.holder : "none");
const countKeys = async () =>
  (await h.engine.db.query<{ n: number }>("SELECT count(*)::int AS n FROM idempotency_keys"))[0]?.n;
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (isChaosCoreError(e) ? e.code : String(e)),
  );

beforeAll(async () => {
  h = await openTestEngine();
  store = new IdempotencyStore(h.engine.db);
});
afterAll(() => h?.close());

describe("IdempotencyStore", () => {
  it("reserves, refuses a second run while the first runs, then replays the stored answer", async () => {
    const first = holderOf(await store.begin("key:a", "k1", hash("req")));
    expect(await codeOf(store.begin("key:a", "k1", hash("req")))).toBe(
      "GATEWAY_IDEMPOTENCY_KEY_IN_USE",
    );
    expect(await codeOf(store.begin("key:a", "k1", hash("other")))).toBe(
      "GATEWAY_IDEMPOTENCY_KEY_REUSED",
    );
    await store.complete("key:a", "k1", first, 201, JSON.stringify({ id: 7 }));
    expect(await store.begin("key:a", "k1", hash("req"))).toEqual({
      kind: "replay",
      status: 201,
      response: { id: 7 },
    });
    // the key is per caller
    expect(await store.begin("key:b", "k1", hash("req"))).toEqual(run);
  });

  it("a rejected request releases its reservation: no row stays, and a retry runs", async () => {
    const [before] = await h.engine.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM idempotency_keys",
    );
    const holder = holderOf(await store.begin("key:a", "k2", hash("req")));
    await store.release("key:a", "k2", holder);
    const [after] = await h.engine.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM idempotency_keys",
    );
    expect(after?.n).toBe(before?.n);
    expect(await store.begin("key:a", "k2", hash("req"))).toEqual(run);
  });

  it("a running request that renews its lease keeps its key, however long it runs (a 10-minute sandbox run)", async () => {
    const holder = holderOf(await store.begin("key:a", "k3", hash("req")));
    // The request has been running for ten minutes and renews its lease (the gateway does every 10 s).
    await h.engine.db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '10 minutes' WHERE key = 'k3'",
    );
    expect(await store.renew("key:a", "k3", holder)).toBe(true);
    expect(await codeOf(store.begin("key:a", "k3", hash("req")))).toBe(
      "GATEWAY_IDEMPOTENCY_KEY_IN_USE",
    );
    await store.complete("key:a", "k3", holder, 200, JSON.stringify({ ok: true }));
    expect(await store.begin("key:a", "k3", hash("req"))).toEqual({
      kind: "replay",
      status: 200,
      response: { ok: true },
    });
  });

  it("takes over a reservation whose lease ran out (a gateway died mid-request); the old holder can no longer store its answer", async () => {
    const dead = holderOf(await store.begin("key:a", "k4", hash("req")));
    await h.engine.db.query(
      "UPDATE idempotency_keys SET lease_until = now() - interval '1 second' WHERE key = 'k4'",
    );
    const next = holderOf(await store.begin("key:a", "k4", hash("req")));
    expect(next).not.toBe(dead);
    expect(await codeOf(store.begin("key:a", "k4", hash("req")))).toBe(
      "GATEWAY_IDEMPOTENCY_KEY_IN_USE",
    );
    expect(await store.renew("key:a", "k4", dead)).toBe(false);
    await store.complete("key:a", "k4", dead, 201, JSON.stringify({ from: "dead" }));
    await store.release("key:a", "k4", dead);
    await store.complete("key:a", "k4", next, 201, JSON.stringify({ from: "next" }));
    expect(await store.begin("key:a", "k4", hash("req"))).toEqual({
      kind: "replay",
      status: 201,
      response: { from: "next" },
    });
  });

  it("answers expire after the retention: the key is free again, and purge deletes old keys", async () => {
    const short = new IdempotencyStore(h.engine.db, { ttlSeconds: 3600 });
    const holder = holderOf(await short.begin("key:p", "old", hash("req")));
    await short.complete("key:p", "old", holder, 201, "{}");
    holderOf(await short.begin("key:p", "abandoned", hash("req")));
    holderOf(await short.begin("key:p", "fresh", hash("req")));
    await h.engine.db.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '2 hours',
         lease_until = now() - interval '2 hours' WHERE principal = 'key:p' AND key <> 'fresh'`,
    );
    // An expired answer is not replayed: the key runs again, even with another request.
    expect(await short.begin("key:p", "old", hash("other"))).toEqual(run);
    const before = await countKeys();
    expect(await short.purge()).toBe(1); // the abandoned reservation; "old" runs again, "fresh" is live
    expect(await countKeys()).toBe((before ?? 0) - 1);
    const rows = await h.engine.db.query<{ key: string }>(
      "SELECT key FROM idempotency_keys WHERE principal = 'key:p' ORDER BY key",
    );
    expect(rows.map((r) => r.key)).toEqual(["fresh", "old"]);
  });
});
