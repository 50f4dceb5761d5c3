import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgArray } from "./binary-params.js";
import type { Db } from "./db.js";
import { PgliteDb } from "./pglite-db.js";
import { PgliteWorkerDb } from "./pglite-worker-db.js";
import { PostgresDb } from "./postgres-db.js";

const url = process.env.DATABASE_URL;
const schema = `test_${randomBytes(6).toString("hex")}`;

/** Every driver the engine runs on: PGlite on this thread, in a worker, and a server when there is one. */
const drivers: [string, () => Promise<Db>][] = [
  ["PGlite", () => PgliteDb.open()],
  ["PGlite in a worker", () => PgliteWorkerDb.open()],
  ...(url
    ? [["Postgres server", () => PostgresDb.open(url, { schema })] as [string, () => Promise<Db>]]
    : []),
];

describe.each(drivers)("binary parameters on %s", (_, open) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    if (db?.kind === "postgres") await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db?.close();
  });

  it("reads every element type as the server's own array, nulls and extremes included", async () => {
    const [row] = await db.query<Record<string, unknown>>(
      `SELECT $1::bigint[]::text AS i8, $2::text[]::text AS t, $3::int[]::text AS i4,
              $4::float8[]::text AS f8, $5::smallint[]::text AS i2, $6::bytea[]::text AS b,
              cardinality($7::int[]) AS empty`,
      [
        pgArray("int8", [0, 2n ** 63n - 1n, -(2n ** 63n), Number.MAX_SAFE_INTEGER]),
        pgArray("text", ['héllo, "world"', "", null, "{}"]),
        pgArray("int4", [1, null, -(2 ** 31)]),
        pgArray("float8", [1.5, -0, 1e300]),
        pgArray("int2", [32767, -32768]),
        pgArray("bytea", [Uint8Array.of(0, 255), new Uint8Array(0), null]),
        pgArray("int4", []),
      ],
    );
    expect(row).toEqual({
      i8: "{0,9223372036854775807,-9223372036854775808,9007199254740991}",
      t: '{"héllo, \\"world\\"","",NULL,"{}"}',
      i4: "{1,NULL,-2147483648}",
      f8: "{1.5,-0,1e+300}",
      i2: "{32767,-32768}",
      b: '{"\\\\x00ff","\\\\x",NULL}',
      empty: 0,
    });
  });

  it("binds a bare byte string as bytea, beside text parameters", async () => {
    const [row] = await db.query<{ hex: string; n: number; t: string }>(
      "SELECT encode($1::bytea, 'hex') AS hex, length($1::bytea) AS n, $2::text AS t",
      [Uint8Array.of(1, 2, 255), "plain"],
    );
    expect(row).toEqual({ hex: "0102ff", n: 3, t: "plain" });
  });

  it("is refused by the server as another element type (the OID is checked)", async () => {
    await expect(db.query("SELECT $1::bigint[] AS a", [pgArray("int4", [1])])).rejects.toThrow();
  });

  it("works inside a transaction", async () => {
    const rows = await db.transaction((tx) =>
      tx.query<{ v: string }>("SELECT unnest($1::text[]) AS v", [pgArray("text", ["a", "b"])]),
    );
    expect(rows.map((r) => r.v)).toEqual(["a", "b"]);
  });
});

describe("pgArray", () => {
  it("refuses numbers that do not fit the element type", () => {
    expect(() => pgArray("int4", [1.5])).toThrow(RangeError);
    expect(() => pgArray("int4", [2 ** 31])).toThrow(RangeError);
    expect(() => pgArray("int2", [40000])).toThrow(RangeError);
    expect(() => pgArray("int8", [0.5])).toThrow(RangeError);
    expect(() => pgArray("int8", [2n ** 63n])).toThrow(RangeError);
  });
});
