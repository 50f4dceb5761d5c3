import { isChaosCoreError } from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestEngine } from "../../engine/src/test-support/engine.js";
import { IdempotencyStore } from "./idempotency.js";

let h: Awaited<ReturnType<typeof openTestEngine>>;
let store: IdempotencyStore;
const hash = (s: string) => Buffer.from(s.padEnd(32, "-"));
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
    expect(await store.begin("key:a", "k1", hash("req"))).toEqual({ kind: "run" });
    expect(await codeOf(store.begin("key:a", "k1", hash("req")))).toBe(
      "GATEWAY_IDEMPOTENCY_KEY_IN_USE",
    );
    expect(await codeOf(store.begin("key:a", "k1", hash("other")))).toBe(
      "GATEWAY_IDEMPOTENCY_KEY_REUSED",
    );
    await store.complete("key:a", "k1", 201, JSON.stringify({ id: 7 }));
    expect(await store.begin("key:a", "k1", hash("req"))).toEqual({
      kind: "replay",
      status: 201,
      response: { id: 7 },
    });
    // the key is per caller
    expect(await store.begin("key:b", "k1", hash("req"))).toEqual({ kind: "run" });
  });

  it("a rejected request releases its reservation: no row stays, and a retry runs", async () => {
    const [before] = await h.engine.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM idempotency_keys",
    );
    expect(await store.begin("key:a", "k2", hash("req"))).toEqual({ kind: "run" });
    await store.release("key:a", "k2");
    const [after] = await h.engine.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM idempotency_keys",
    );
    expect(after?.n).toBe(before?.n);
    expect(await store.begin("key:a", "k2", hash("req"))).toEqual({ kind: "run" });
  });

  it("takes over a reservation abandoned for over a minute (a gateway died mid-request)", async () => {
    expect(await store.begin("key:a", "k3", hash("req"))).toEqual({ kind: "run" });
    await h.engine.db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '2 minutes' WHERE key = 'k3'",
    );
    expect(await store.begin("key:a", "k3", hash("req"))).toEqual({ kind: "run" });
    expect(await codeOf(store.begin("key:a", "k3", hash("req")))).toBe(
      "GATEWAY_IDEMPOTENCY_KEY_IN_USE",
    );
  });
});
