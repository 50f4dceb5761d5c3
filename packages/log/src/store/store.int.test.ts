import { openTestDb, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "./db.js";
import { composeMigrations, LOG_MIGRATIONS, migrate } from "./migrations.js";

describe(`store on ${TEST_DB_KIND}`, () => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
  });
  afterAll(() => drop());

  it("applies every migration once", async () => {
    const rows = await db.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    const applied = rows.map((r) => Number(r.version));
    for (const m of LOG_MIGRATIONS) expect(applied).toContain(m.version);
    expect(await migrate(db)).toEqual([]);
  });

  it("composes the packages' lists in version order and refuses a version defined twice", () => {
    const m = (version: number) => ({ version, name: `m${version}`, sql: "" });
    expect(composeMigrations([m(3), m(1)], [m(2)]).map((x) => x.version)).toEqual([1, 2, 3]);
    expect(() => composeMigrations([m(1), m(2)], [m(2)])).toThrow(
      expect.objectContaining({ code: "STORE_MIGRATION_FAILED" }),
    );
  });

  it("commits a transaction that resolves and rolls back one that throws", async () => {
    await db.exec("CREATE TABLE t (v int)");
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO t VALUES ($1)", [1]);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES ($1)", [2]);
        throw new Error("boom");
      }),
    ).rejects.toThrow();
    const rows = await db.query<{ v: number }>("SELECT v FROM t");
    expect(rows).toEqual([{ v: 1 }]);
  });

  it("returns int8 as numbers and bytea as bytes on both back-ends", async () => {
    const [row] = await db.query<{ n: number; b: Uint8Array }>(
      "SELECT 42::bigint AS n, '\\x0102'::bytea AS b",
    );
    expect(row?.n).toBe(42);
    expect(Array.from(row?.b ?? [])).toEqual([1, 2]);
  });

  it("turns SQL errors into STORE_QUERY_FAILED (not the retryable STORE_UNAVAILABLE), without the SQL", async () => {
    const error = await db.query("SELECT * FROM no_such_table").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "STORE_QUERY_FAILED" });
    expect((error as Error).message).not.toContain("no_such_table");
  });
});
