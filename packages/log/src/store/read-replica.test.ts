import { ChaosCoreError } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import type { Db } from "./db.js";
import { ReadReplicaDb, type ReadSides, traceReadSides } from "./read-replica.js";

/** A Db that records the statements it ran and fails while `failing` is set. */
function fakeDb(name: string) {
  const ran: string[] = [];
  let failing: Error | undefined;
  const db: Db = {
    kind: "postgres",
    async query<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
      ran.push(sql);
      if (failing !== undefined) throw failing;
      return [{ from: name } as unknown as T];
    },
    async exec(sql: string) {
      ran.push(sql);
      if (failing !== undefined) throw failing;
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      ran.push("BEGIN");
      return fn(db);
    },
    async close() {},
  };
  return {
    db,
    ran,
    fail(error: Error | undefined) {
      failing = error;
    },
  };
}

const unavailable = () => new ChaosCoreError("STORE_UNAVAILABLE", "down");

describe("ReadReplicaDb", () => {
  it("reads from the replica and runs transactions on the primary", async () => {
    const replica = fakeDb("replica");
    const primary = fakeDb("primary");
    const db = new ReadReplicaDb(replica.db, primary.db);
    expect(await db.query("SELECT 1")).toEqual([{ from: "replica" }]);
    await db.transaction((tx) => tx.query("UPDATE x"));
    expect(replica.ran).toEqual(["SELECT 1"]);
    expect(primary.ran).toEqual(["BEGIN", "UPDATE x"]);
  });

  it("answers from the primary while the replica is down, says so once, and tries it again later", async () => {
    const replica = fakeDb("replica");
    const primary = fakeDb("primary");
    let clock = 0;
    const db = new ReadReplicaDb(replica.db, primary.db, { retryAfterMs: 5000, now: () => clock });
    const events: boolean[] = [];
    db.onStatus((up) => events.push(up));
    replica.fail(unavailable());
    expect(await db.query("SELECT a")).toEqual([{ from: "primary" }]);
    expect([db.up, db.available]).toEqual([false, false]);
    // Skipped for the retry window: the replica is not asked.
    expect(await db.query("SELECT b")).toEqual([{ from: "primary" }]);
    expect(replica.ran).toEqual(["SELECT a"]);
    expect(events).toEqual([false]);
    expect(db.fallbacks).toBe(1);

    // After the window the next read tries the replica again (it has recovered).
    replica.fail(undefined);
    clock = 5001;
    expect(await db.query("SELECT d")).toEqual([{ from: "replica" }]);
    expect(db.up).toBe(true);
    expect(events).toEqual([false, true]);
  });

  it("runs a statement the replica refuses on the primary without calling it down; other errors pass through", async () => {
    const replica = fakeDb("replica");
    const primary = fakeDb("primary");
    const db = new ReadReplicaDb(replica.db, primary.db);
    replica.fail(new ChaosCoreError("STORE_QUERY_FAILED", "conflict with recovery"));
    expect(await db.query("SELECT 1")).toEqual([{ from: "primary" }]);
    expect(db.up).toBe(true);
    replica.fail(new ChaosCoreError("AGENCY_ACTION_NOT_FOUND", "no"));
    await expect(db.query("SELECT 2")).rejects.toMatchObject({ code: "AGENCY_ACTION_NOT_FOUND" });
    expect(primary.ran).toEqual(["SELECT 1"]);
  });

  it("treats a statement that timed out as a replica that is down", async () => {
    const replica = fakeDb("replica");
    const primary = fakeDb("primary");
    const db = new ReadReplicaDb(replica.db, primary.db);
    replica.fail(
      new ChaosCoreError("STORE_QUERY_FAILED", "refused", {
        cause: new Error("Query read timeout"),
      }),
    );
    expect(await db.query("SELECT 1")).toEqual([{ from: "primary" }]);
    expect(db.up).toBe(false);
  });
  it("counts, per traced read, the statements each side answered (concurrent reads apart)", async () => {
    const replica = fakeDb("replica");
    const primary = fakeDb("primary");
    const db = new ReadReplicaDb(replica.db, primary.db);
    const refused = new ChaosCoreError("STORE_QUERY_FAILED", "conflict with recovery");
    const mixed: ReadSides = { replica: 0, primary: 0 };
    const clean: ReadSides = { replica: 0, primary: 0 };
    await Promise.all([
      traceReadSides(mixed, async () => {
        await db.query("SELECT 1");
        replica.fail(refused);
        await db.query("SELECT 2");
        replica.fail(undefined);
      }),
      traceReadSides(clean, async () => {
        await db.query("SELECT 3");
      }),
    ]);
    // SELECT 3 ran on the replica while the other read's SELECT 2 fell back: counted apart.
    expect(mixed).toEqual({ replica: 1, primary: 1 });
    expect(clean).toEqual({ replica: 1, primary: 0 });
    // Outside a trace nothing is counted and nothing fails.
    expect(await db.query("SELECT 4")).toEqual([{ from: "replica" }]);
    expect(mixed).toEqual({ replica: 1, primary: 1 });
  });
});
