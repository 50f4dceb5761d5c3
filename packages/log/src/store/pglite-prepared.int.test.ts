import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "./db.js";
import { PgliteDb } from "./pglite-db.js";
import { PreparedStatements } from "./pglite-prepared.mjs";
import { PgliteWorkerDb } from "./pglite-worker-db.js";

const ROWS = `SELECT $1::bigint AS i8, $2::text AS t, $3::numeric AS n, $4::bytea AS b,
                     $5::timestamptz AS ts, $6::int[] AS a, $7::jsonb AS j, NULL::text AS nothing,
                     $8::boolean AS yes, 1.5::float8 AS f`;
const PARAMS = [
  2n ** 62n,
  'héllo, "world"',
  "12345678901234567890",
  Uint8Array.of(0, 1, 255),
  new Date("2026-12-05T06:00:00.000Z"),
  [1, null, 3],
  { a: [1, "x"] },
  true,
];

describe("prepared statements on PGlite (pglite-prepared.mjs)", () => {
  let pg: PGlite;
  beforeAll(async () => {
    pg = new PGlite();
    await pg.waitReady;
    await pg.exec("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)");
  });
  afterAll(() => pg.close());

  it("returns what PGlite's own query returns, every type and NULL, run after run", async () => {
    const own = (await pg.query(ROWS, PARAMS)).rows;
    const prepared = new PreparedStatements(pg);
    await pg.transaction(async () => {
      for (let i = 0; i < 7; i++) expect(await prepared.query(ROWS, PARAMS)).toEqual(own);
      // an INSERT with no rows, then one RETURNING
      expect(await prepared.query("INSERT INTO t VALUES ($1, $2)", [1, "a"])).toEqual([]);
      expect(
        await prepared.query("INSERT INTO t VALUES ($1, $2) RETURNING id, v", [2, "b"]),
      ).toEqual([{ id: 2, v: "b" }]);
    });
    expect(prepared.size).toBe(3);
    expect((await pg.query("SELECT count(*)::int AS n FROM t")).rows).toEqual([{ n: 2 }]);
  });

  it("fails as PGlite's query fails — with the server's code — and rolls back", async () => {
    const prepared = new PreparedStatements(pg);
    await expect(
      pg.transaction(async () => {
        await prepared.query("INSERT INTO t VALUES ($1, $2)", [10, "x"]);
        await prepared.query("INSERT INTO t VALUES ($1, $2)", [1, "dup"]);
      }),
    ).rejects.toMatchObject({ code: "23505", constraint: "t_pkey" });
    await expect(pg.transaction(() => prepared.query("SELEKT 1", []))).rejects.toMatchObject({
      code: "42601",
    });
    expect((await pg.query("SELECT count(*)::int AS n FROM t WHERE id = 10")).rows).toEqual([
      { n: 0 },
    ]);
    // the statement that failed is not held; the one that ran still works
    expect(prepared.size).toBe(1);
    await pg.transaction(() => prepared.query("INSERT INTO t VALUES ($1, $2)", [11, "y"]));
    expect((await pg.query("SELECT v FROM t WHERE id = 11")).rows).toEqual([{ v: "y" }]);
  });

  it("keeps the most recently used statements, and forgets one whose result type changed", async () => {
    const names = async () =>
      (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements"))
        .rows[0]?.n;
    const before = await names();
    const prepared = new PreparedStatements(pg, 2);
    await pg.transaction(async () => {
      for (const n of [1, 2, 3, 1, 2, 3]) {
        expect(await prepared.query(`SELECT ${n} AS n`, [])).toEqual([{ n }]);
      }
    });
    expect(prepared.size).toBe(2);
    expect(await names()).toBe((before ?? 0) + 2);

    await pg.exec("CREATE TABLE w (a int)");
    await pg.transaction(() => prepared.query("SELECT * FROM w", []));
    await pg.exec("ALTER TABLE w ADD COLUMN b int");
    await expect(pg.transaction(() => prepared.query("SELECT * FROM w", []))).rejects.toMatchObject(
      {
        code: "0A000",
      },
    );
    await pg.exec("INSERT INTO w VALUES (1, 2)");
    expect(await pg.transaction(() => prepared.query("SELECT * FROM w", []))).toEqual([
      { a: 1, b: 2 },
    ]);
  });
});

describe.each([
  ["PGlite", () => PgliteDb.open()],
  ["PGlite in a worker", () => PgliteWorkerDb.open()],
] as [string, () => Promise<Db>][])("transactions of %s run prepared statements", (_, open) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(() => db.close());

  it("answers as outside a transaction, refuses a query on a finished one, keeps nothing of a failed one", async () => {
    const outside = await db.query(ROWS, PARAMS);
    let held: Db | undefined;
    const inside = await db.transaction(async (tx) => {
      held = tx;
      return tx.query(ROWS, PARAMS);
    });
    expect(inside).toEqual(outside);
    await expect(held?.query("SELECT 1", [])).rejects.toThrow(/closed/);
    await db.exec("CREATE TABLE u (id int PRIMARY KEY)");
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO u VALUES ($1)", [1]);
        await tx.query("INSERT INTO u VALUES ($1)", [1]);
      }),
    ).rejects.toMatchObject({ code: "STORE_CONSTRAINT_VIOLATION" });
    expect(await db.query("SELECT count(*)::int AS n FROM u")).toEqual([{ n: 0 }]);
  });
});
