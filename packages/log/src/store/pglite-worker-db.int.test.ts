/**
 * PGlite in a worker thread behaves as PGlite on the calling thread: the same
 * values come back (bytea, int8, numeric from a bigint, timestamptz, jsonb,
 * null), driver errors get the same codes (their SQLSTATE and constraint cross
 * the thread), a transaction's statements are its own and other callers wait
 * for it, a failed transaction persists nothing, the data-dir lock is this
 * process's, and close (or a crash of the worker) ends it with STORE_UNAVAILABLE.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataDirLockPath } from "./data-dir-lock.js";
import type { Db } from "./db.js";
import { openDatabase } from "./open-database.js";
import { PgliteDb } from "./pglite-db.js";
import { PgliteWorkerDb, pgliteWorkerFromEnv } from "./pglite-worker-db.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "chaoscore-pglite-worker-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const failure = async (p: Promise<unknown>): Promise<ChaosCoreError> => {
  try {
    await p;
  } catch (error) {
    if (isChaosCoreError(error)) return error;
    throw error;
  }
  throw new Error("expected a failure");
};

const SCHEMA = `CREATE TABLE agents (id int PRIMARY KEY, note text);
  CREATE TABLE t (id int PRIMARY KEY, b bytea, n int8, d timestamptz, j jsonb, big numeric, x text)`;

/** The same statements on `db`: what they return. */
async function roundTrip(db: Db) {
  await db.exec(SCHEMA);
  // A view into a larger buffer (Buffer's pool) and a plain Uint8Array.
  const pooled = Buffer.from("00a1b2c3d4ff", "hex").subarray(1, 5);
  const rows = [
    [1, pooled, 5, new Date(1_700_000_000_123), { a: [1, "x"], b: null }, 2n ** 70n, "é"],
    [2, new Uint8Array([0, 255, 7]), -9_007_199_254_740_991, null, [1, 2], null, null],
  ];
  for (const r of rows) await db.query("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", r);
  return db.query("SELECT id, b, n, d, j, big, x, $1::bytea AS echo FROM t ORDER BY id", [
    new Uint8Array([9, 8]),
  ]);
}

describe("PgliteWorkerDb", () => {
  it("returns what in-process PGlite returns (bytea, int8, numeric, Date, jsonb, null)", async () => {
    const worker = await PgliteWorkerDb.open();
    const inline = await PgliteDb.open();
    try {
      const [a, b] = [await roundTrip(worker), await roundTrip(inline)];
      expect(a).toEqual(b);
      expect(a[0]?.b).toEqual(new Uint8Array([0xa1, 0xb2, 0xc3, 0xd4]));
      expect(a[0]?.b).toBeInstanceOf(Uint8Array);
      expect(a[0]?.d).toBeInstanceOf(Date);
      expect(a[0]?.d).toEqual(new Date(1_700_000_000_123));
      expect(a[0]?.big).toBe((2n ** 70n).toString());
      expect(a[1]?.n).toBe(-9_007_199_254_740_991);
      expect(a[0]?.j).toEqual({ a: [1, "x"], b: null });
    } finally {
      await worker.close();
      await inline.close();
    }
  });

  it("codes driver errors as in-process PGlite does; a refused write persists nothing", async () => {
    const db = await PgliteWorkerDb.open();
    try {
      await db.exec(SCHEMA);
      await db.query("INSERT INTO agents VALUES (1, 'a')");
      // The constraint's name crossed the thread: agents_pkey has a domain code.
      const dup = await failure(db.query("INSERT INTO agents VALUES (1, 'b')"));
      expect(dup.code).toBe("AGENT_ALREADY_REGISTERED");
      expect((dup.cause as { code?: string }).code).toBe("23505");
      const other = await failure(db.query("INSERT INTO t (id) VALUES (1), (1)"));
      expect(other.code).toBe("STORE_CONSTRAINT_VIOLATION");
      expect((other.cause as { constraint?: string }).constraint).toBe("t_pkey");
      const bad = await failure(db.query("SELEC 1"));
      expect(bad.code).toBe("STORE_QUERY_FAILED");
      expect((bad.cause as { code?: string }).code).toBe("42601");
      expect(bad.message).not.toContain("SELEC");
      expect(await failure(db.exec("INSERT INTO nowhere VALUES (1)"))).toMatchObject({
        code: "STORE_QUERY_FAILED",
      });
      expect(await db.query("SELECT id, note FROM agents")).toEqual([{ id: 1, note: "a" }]);
      expect(await db.query("SELECT count(*)::int AS c FROM t")).toEqual([{ c: 0 }]);
    } finally {
      await db.close();
    }
  });

  it("runs a transaction's statements in it; other callers wait; a throw rolls back", async () => {
    const db = await PgliteWorkerDb.open();
    try {
      await db.exec(SCHEMA);
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      let inside!: () => void;
      const entered = new Promise<void>((resolve) => {
        inside = resolve;
      });
      const tx = db.transaction(async (t) => {
        await t.query("INSERT INTO agents VALUES (1, 'in tx')");
        inside();
        await gate;
        // A nested call on the handle runs in the same transaction.
        await t.transaction((n) => n.query("INSERT INTO agents VALUES (2, 'nested')"));
        return (await t.query<{ c: number }>("SELECT count(*)::int AS c FROM agents"))[0]?.c;
      });
      await entered;
      // Sent while the transaction is open: it waits for it, and then sees both rows.
      const outside = db.query<{ c: number }>("SELECT count(*)::int AS c FROM agents");
      open();
      expect(await tx).toBe(2);
      expect(await outside).toEqual([{ c: 2 }]);

      // A coded error thrown by fn keeps its identity; the transaction persists nothing.
      const mine = new ChaosCoreError("INVALID_INPUT", "no");
      await expect(
        db.transaction(async (t) => {
          await t.query("INSERT INTO agents VALUES (3, 'rolled back')");
          throw mine;
        }),
      ).rejects.toBe(mine);
      // A driver error inside it is coded by the transaction.
      const dup = await failure(
        db.transaction(async (t) => {
          await t.query("INSERT INTO agents VALUES (4, 'rolled back')");
          await t.query("INSERT INTO agents VALUES (1, 'duplicate')");
        }),
      );
      expect(dup.code).toBe("AGENT_ALREADY_REGISTERED");
      // Any other throw is STORE_QUERY_FAILED, as with in-process PGlite.
      expect(
        await failure(
          db.transaction(async (t) => {
            await t.query("INSERT INTO agents VALUES (5, 'rolled back')");
            throw new TypeError("bug");
          }),
        ),
      ).toMatchObject({ code: "STORE_QUERY_FAILED" });
      expect(await db.query("SELECT id FROM agents ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      await db.close();
    }
  });

  it("holds the data-dir lock in this process; close ends the worker and releases it", async () => {
    const dir = join(root, "disk");
    const db = await PgliteWorkerDb.open(dir);
    await db.exec(SCHEMA);
    await db.query("INSERT INTO t (id, b) VALUES (1, $1)", [new Uint8Array([1, 2, 3])]);
    const lock = JSON.parse(readFileSync(dataDirLockPath(dir), "utf8")) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    expect(await failure(PgliteDb.open(dir))).toMatchObject({ code: "STORE_DATA_DIR_LOCKED" });
    expect(await failure(PgliteWorkerDb.open(dir))).toMatchObject({
      code: "STORE_DATA_DIR_LOCKED",
    });
    await db.close();
    await db.close(); // idempotent
    expect(existsSync(dataDirLockPath(dir))).toBe(false);
    expect(await failure(db.query("SELECT 1"))).toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(await failure(db.transaction((t) => t.query("SELECT 1")))).toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
    // The directory is the same on-disk format: in-process PGlite reads what the worker wrote.
    const again = await PgliteDb.open(dir);
    try {
      expect(await again.query("SELECT id, b FROM t")).toEqual([
        { id: 1, b: new Uint8Array([1, 2, 3]) },
      ]);
    } finally {
      await again.close();
    }
  });

  it("a crashed worker fails what waits on it with STORE_UNAVAILABLE and releases the lock", async () => {
    const real = new URL("./pglite-worker.mjs", import.meta.url);
    const crashing = join(root, "crashing-worker.mjs");
    await writeFile(
      crashing,
      `import { parentPort } from "node:worker_threads";
parentPort.on("message", (m) => { if (m.sql === "SELECT 'crash'") process.exit(3); });
await import(${JSON.stringify(real.href)});
`,
    );
    const dir = join(root, "crash");
    const db = await PgliteWorkerDb.open(dir, { workerUrl: pathToFileURL(crashing) });
    expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    const lost = await failure(db.query("SELECT 'crash'"));
    expect(lost.code).toBe("STORE_UNAVAILABLE");
    expect(await failure(db.query("SELECT 1"))).toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(existsSync(dataDirLockPath(dir))).toBe(false);
    await db.close();
  });

  it("openDatabase: a worker on request, with CHAOSCORE_PGLITE_WORKER, and by default on disk", async () => {
    expect(pgliteWorkerFromEnv({ CHAOSCORE_PGLITE_WORKER: "1" })).toBe(true);
    expect(pgliteWorkerFromEnv({ CHAOSCORE_PGLITE_WORKER: "true" })).toBe(true);
    expect(pgliteWorkerFromEnv({ CHAOSCORE_PGLITE_WORKER: "0" })).toBe(false);
    expect(pgliteWorkerFromEnv({})).toBeUndefined();
    const on = await openDatabase({ databaseUrl: null, dataDir: ":memory:", pgliteWorker: true });
    const off = await openDatabase({ databaseUrl: null, dataDir: ":memory:", pgliteWorker: false });
    try {
      expect(on).toBeInstanceOf(PgliteWorkerDb);
      expect(off).toBeInstanceOf(PgliteDb);
      // Migrated like the in-process one.
      expect(await on.query("SELECT count(*)::int AS c FROM logs")).toEqual([{ c: 0 }]);
    } finally {
      await on.close();
      await off.close();
    }
    const saved = process.env.CHAOSCORE_PGLITE_WORKER;
    try {
      // The default: a worker for an on-disk directory, the calling thread in memory.
      delete process.env.CHAOSCORE_PGLITE_WORKER;
      const disk = await openDatabase({ databaseUrl: null, dataDir: join(root, "default") });
      const memory = await openDatabase({ databaseUrl: null, dataDir: ":memory:" });
      expect(disk).toBeInstanceOf(PgliteWorkerDb);
      expect(memory).toBeInstanceOf(PgliteDb);
      await disk.close();
      await memory.close();
      process.env.CHAOSCORE_PGLITE_WORKER = "1";
      const db = await openDatabase({ databaseUrl: null, dataDir: ":memory:" });
      expect(db).toBeInstanceOf(PgliteWorkerDb);
      await db.close();
      process.env.CHAOSCORE_PGLITE_WORKER = "0";
      const inline = await openDatabase({ databaseUrl: null, dataDir: join(root, "default") });
      expect(inline).toBeInstanceOf(PgliteDb);
      await inline.close();
    } finally {
      if (saved === undefined) delete process.env.CHAOSCORE_PGLITE_WORKER;
      else process.env.CHAOSCORE_PGLITE_WORKER = saved;
    }
  });
});
