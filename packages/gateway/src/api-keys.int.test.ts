/**
 * Revoking API keys: the last live admin key cannot be revoked (a stateful
 * API tester locked the operator out by revoking it), an unknown key is a 404.
 * The store's cache under load: concurrent requests share one look-up of
 * their key (a key's expiry costs one query, not one per connection); an
 * unknown id or a failed query is not kept; a revocation is not undone by a
 * look-up that was under way when it committed; a look-up is kept 5 s.
 */
import { isChaosCoreError } from "@chaoscore/core";
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

const idOf = (key: string) => key.split("_")[1] as string;

const revoke = (id: string, key: string) =>
  g.app.inject({ method: "DELETE", url: `/v1/api-keys/${id}`, headers: g.bearer(key) });

describe("DELETE /v1/api-keys/{keyId}", () => {
  it("a key cannot revoke itself (409 GATEWAY_API_KEY_SELF_REVOKE, nothing written)", async () => {
    const before = await g.rows();
    const r = await revoke(idOf(g.admin), g.admin);
    expect(r.statusCode, r.body).toBe(409);
    expect(r.headers["content-type"]).toContain("application/problem+json");
    expect(r.json()).toMatchObject({ code: "GATEWAY_API_KEY_SELF_REVOKE", retryable: false });
    expect(await g.rows()).toEqual(before);
  });

  it("refuses to revoke the last live admin key (409 GATEWAY_LAST_ADMIN_KEY, nothing written); the key still works", async () => {
    const before = await g.rows();
    const error = await g.keys.revoke(idOf(g.admin)).catch((e: unknown) => e);
    expect(isChaosCoreError(error) && error.code).toBe("GATEWAY_LAST_ADMIN_KEY");
    expect(await g.rows()).toEqual(before);
    const list = await g.app.inject({
      method: "GET",
      url: "/v1/api-keys",
      headers: g.bearer(g.admin),
    });
    expect(list.statusCode).toBe(200);
  });

  it("revokes an admin key when another live one remains, then refuses the remaining one", async () => {
    const second = (await g.keys.create({ scopes: ["admin"], label: "second" })).key;
    // A key of another scope does not count as an admin key.
    await g.keys.create({ scopes: ["ingest"] });
    expect((await revoke(idOf(second), g.admin)).statusCode).toBe(204);
    const other = (await g.keys.create({ scopes: ["admin"] })).key;
    expect((await revoke(idOf(other), g.admin)).statusCode).toBe(204);
    // Over HTTP the last admin key can only be named by itself: the self-revocation check answers.
    const error = await g.keys.revoke(idOf(g.admin)).catch((e: unknown) => e);
    expect(isChaosCoreError(error) && error.code).toBe("GATEWAY_LAST_ADMIN_KEY");
  });

  it("of two concurrent revocations of the last two admin keys, exactly one passes", async () => {
    const a = await g.keys.create({ scopes: ["admin"] });
    const outcomes = await Promise.allSettled([g.keys.revoke(a.id), g.keys.revoke(idOf(g.admin))]);
    const codes = outcomes.map((o) =>
      o.status === "fulfilled"
        ? "ok"
        : isChaosCoreError(o.reason)
          ? o.reason.code
          : String(o.reason),
    );
    expect(codes.sort()).toEqual(["GATEWAY_LAST_ADMIN_KEY", "ok"]);
  });

  it("an unknown or already revoked key is 404 GATEWAY_API_KEY_NOT_FOUND (not a 401 about the caller's key)", async () => {
    const admin = (await g.keys.create({ scopes: ["admin"] })).key;
    const r = await revoke("0123456789abcdef", admin);
    expect(r.statusCode, r.body).toBe(404);
    expect(r.json().code).toBe("GATEWAY_API_KEY_NOT_FOUND");
  });
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
