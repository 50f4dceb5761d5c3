/**
 * `ChaosCore-Read` says who answered a read, statement by statement: the
 * replica's handle falls back to the primary for a statement the replica
 * refuses, so a read routed to the replica can be answered, in part or in
 * whole, by the primary. The "replica" here is the primary's own database
 * behind a handle that refuses the statements a test names (PGlite or
 * Postgres: it needs no streaming replica; the real one is tested in
 * reliability/replica.int.test.ts).
 */
import { ChaosCoreError } from "@chaoscore/core";
import { createReadEngine } from "@chaoscore/engine";
import type { Db } from "@chaoscore/log";
import { MockTeeProvider } from "@chaoscore/sandbox";
import { CHAIN_ID, openTestEngine } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type GatewayApp } from "./app.js";
import { gatewayServices } from "./services.js";

/** The primary seen as a hot standby of itself, refusing the statements `refuse` matches. */
function refusingReplica(primary: Db, refuse: { pattern: RegExp | undefined; seen: string[] }): Db {
  const db: Db = {
    kind: "postgres",
    async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      if (sql.includes("pg_is_in_recovery()")) {
        const [row] = await primary.query<{ system: string }>(
          "SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system",
        );
        return [{ standby: true, system: row?.system }] as unknown as T[];
      }
      refuse.seen.push(sql);
      if (refuse.pattern?.test(sql) === true) {
        throw new ChaosCoreError(
          "STORE_QUERY_FAILED",
          "canceling statement due to conflict with recovery",
        );
      }
      return primary.query<T>(sql, params);
    },
    exec: (sql) => primary.exec(sql),
    transaction: (fn) => primary.transaction(fn),
    async close() {},
  };
  return db;
}

describe("ChaosCore-Read names who answered each statement of a replica read", () => {
  let opened: Awaited<ReturnType<typeof openTestEngine>>;
  let app: GatewayApp;
  const refuse: { pattern: RegExp | undefined; seen: string[] } = { pattern: undefined, seen: [] };
  beforeAll(async () => {
    opened = await openTestEngine();
    let commit = () => {};
    await opened.engine.db.transaction(async (tx) => {
      commit = (
        await opened.engine.log.appendInTransaction(tx, [Uint8Array.of(1), Uint8Array.of(2)])
      ).commit;
    });
    commit();
    const reads = createReadEngine(opened.engine, refusingReplica(opened.engine.db, refuse), {
      chainId: CHAIN_ID.toString(),
    });
    app = await buildGateway({
      ...gatewayServices({
        engine: opened.engine,
        chainId: CHAIN_ID,
        tee: MockTeeProvider.create(),
      }),
      logger: false,
      reads,
    });
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await opened?.close();
  });

  const read = async (pattern: RegExp | undefined, url = "/v1/log/checkpoints") => {
    refuse.pattern = pattern;
    refuse.seen = [];
    const r = await app.inject({ method: "GET", url });
    refuse.pattern = undefined;
    return { r, seen: refuse.seen };
  };

  it("replica when the replica answered every statement", async () => {
    const { r, seen } = await read(undefined);
    expect(r.statusCode, r.body).toBe(200);
    expect(seen.length).toBeGreaterThan(0);
    expect(r.headers["chaoscore-read"]).toBe("replica");
  });

  it("primary when every statement fell back, mixed when some did; the same answer each time", async () => {
    // GET /v1/log/checkpoints reads the checkpoints, then their anchors: two statements.
    const replica = await read(undefined);
    expect(replica.r.statusCode, replica.r.body).toBe(200);
    expect(replica.seen).toHaveLength(2);
    expect(replica.r.headers["chaoscore-read"]).toBe("replica");
    const all = await read(/./);
    expect(all.r.statusCode, all.r.body).toBe(200);
    expect(all.r.body).toBe(replica.r.body);
    expect(all.r.headers["chaoscore-read"]).toBe("primary");
    const anchorsRefused = await read(/root, 'hex'\) AS root/);
    expect(anchorsRefused.r.statusCode, anchorsRefused.r.body).toBe(200);
    expect(anchorsRefused.r.body).toBe(replica.r.body);
    expect(anchorsRefused.r.headers["chaoscore-read"]).toBe("mixed");
  });
});
