/**
 * The API key store's cache under load: concurrent requests share one lookup
 * of their key (a key's expiry costs one query, not one per connection); an
 * unknown id or a failed query is not kept; a revocation is not undone by a
 * lookup that was under way when it committed; a lookup is kept 5 s.
 */
import type { Db } from "@chaoscore/log/store";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ApiKeyStore } from "./auth.js";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;

beforeAll(async () => {
  g = await openTestGateway();
});
afterAll(async () => {
  await g?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const LOOKUP = "FROM api_keys WHERE id = $1";

/** The engine's database, counting the store's key lookups (`read`: those answered by the database); `hold` keeps their answers back until released. */
function countingDb(db: Db) {
  const state = { lookups: 0, read: 0, fail: false, hold: null as Promise<void> | null };
  const counted: Db = {
    kind: db.kind,
    async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      if (!sql.includes(LOOKUP)) return db.query<T>(sql, params);
      state.lookups++;
      if (state.fail) throw new Error("connection lost");
      const rows = await db.query<T>(sql, params);
      state.read++;
      await state.hold;
      return rows;
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: () => db.close(),
  };
  return { db: counted, state };
}

const idOf = (key: string) => key.split("_")[1] as string;

describe("ApiKeyStore.authenticate", () => {
  it("answers 100 concurrent requests of a key not yet cached with one lookup", async () => {
    const { db, state } = countingDb(g.engine.db);
    const store = new ApiKeyStore(db);
    const { key } = await store.create({ scopes: ["ingest"], label: "load" });
    const answers = await Promise.all(Array.from({ length: 100 }, () => store.authenticate(key)));
    expect(state.lookups).toBe(1);
    for (const a of answers) expect(a).toEqual({ id: idOf(key), scopes: ["ingest"] });
    // A wrong secret for the cached id is refused without another lookup.
    const wrong = `${key.slice(0, -4)}AAAA`;
    await expect(store.authenticate(wrong)).rejects.toMatchObject({
      code: "GATEWAY_API_KEY_INVALID",
    });
    expect(state.lookups).toBe(1);
  });

  it("looks a key up again after 5 s, once for all the requests that find it expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { db, state } = countingDb(g.engine.db);
    const store = new ApiKeyStore(db);
    const { key } = await store.create({ scopes: ["ingest"] });
    await store.authenticate(key);
    vi.setSystemTime(Date.now() + 4_900);
    await store.authenticate(key);
    expect(state.lookups).toBe(1);
    vi.setSystemTime(Date.now() + 200);
    await Promise.all(Array.from({ length: 20 }, () => store.authenticate(key)));
    expect(state.lookups).toBe(2);
  });

  it("does not keep an unknown id: concurrent requests share the refusal, the next one asks again", async () => {
    const { db, state } = countingDb(g.engine.db);
    const store = new ApiKeyStore(db);
    const unknown = `cck_${"0".repeat(16)}_${"A".repeat(43)}`;
    const refusals = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.authenticate(unknown)),
    );
    for (const r of refusals) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        code: "GATEWAY_API_KEY_INVALID",
        message: "unknown API key",
      });
    }
    expect(state.lookups).toBe(1);
    await expect(store.authenticate(unknown)).rejects.toMatchObject({
      code: "GATEWAY_API_KEY_INVALID",
    });
    expect(state.lookups).toBe(2);
  });

  it("does not keep a failed lookup: the requests that shared it fail, the next one succeeds", async () => {
    const { db, state } = countingDb(g.engine.db);
    const store = new ApiKeyStore(db);
    const { key } = await store.create({ scopes: ["ingest"] });
    state.fail = true;
    const failed = await Promise.allSettled([store.authenticate(key), store.authenticate(key)]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(state.lookups).toBe(1);
    state.fail = false;
    await expect(store.authenticate(key)).resolves.toMatchObject({ id: idOf(key) });
    expect(state.lookups).toBe(2);
  });

  it("a revocation is not undone by a lookup under way when it committed", async () => {
    const { db, state } = countingDb(g.engine.db);
    const store = new ApiKeyStore(db);
    const { key } = await store.create({ scopes: ["ingest"] });
    let release = () => {};
    state.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Read before the revocation, answered after it.
    const underWay = store.authenticate(key);
    await vi.waitFor(() => expect(state.read).toBe(1));
    await store.revoke(idOf(key));
    release();
    state.hold = null;
    await expect(underWay).resolves.toMatchObject({ id: idOf(key) });
    await expect(store.authenticate(key)).rejects.toMatchObject({
      code: "GATEWAY_API_KEY_INVALID",
      message: "unknown or revoked API key",
    });
    expect(state.lookups).toBe(2);
  });
});
