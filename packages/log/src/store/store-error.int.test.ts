import { isChaosCoreError } from "@chaoscore/core";
import { openTestDb, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "./db.js";
import { classifyStoreError, storeError } from "./store-error.js";

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (error) {
    if (isChaosCoreError(error)) return error;
    throw error;
  }
  throw new Error("expected a failure");
};

describe("classifyStoreError", () => {
  it("only connection failures are 'unavailable'", () => {
    expect(classifyStoreError({ code: "08006" })).toBe("unavailable");
    expect(classifyStoreError({ code: "57P01" })).toBe("unavailable");
    expect(classifyStoreError({ code: "53300" })).toBe("unavailable");
    expect(classifyStoreError({ code: "ECONNREFUSED" })).toBe("unavailable");
    expect(classifyStoreError(new Error("Connection terminated unexpectedly"))).toBe("unavailable");
    expect(classifyStoreError({ code: "40001" })).toBe("conflict");
    expect(classifyStoreError({ code: "40P01" })).toBe("conflict");
    expect(classifyStoreError({ code: "23505" })).toBe("constraint");
    expect(classifyStoreError({ code: "23503" })).toBe("constraint");
    expect(classifyStoreError({ code: "42601" })).toBe("query");
    expect(classifyStoreError({ code: "22003" })).toBe("query");
    expect(classifyStoreError(new TypeError("x is undefined"))).toBe("query");
    expect(classifyStoreError(undefined)).toBe("query");
  });

  it("a unique violation of a constraint with a domain code gets that code", () => {
    expect(storeError({ code: "23505", constraint: "agents_pkey" }).code).toBe(
      "AGENT_ALREADY_REGISTERED",
    );
    expect(storeError({ code: "23505", constraint: "some_other_key" }).code).toBe(
      "STORE_CONSTRAINT_VIOLATION",
    );
  });
});

describe(`database errors on ${TEST_DB_KIND}: coded, and no server internals in the message`, () => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
    await db.exec(
      "CREATE TABLE store_error_probe (id integer PRIMARY KEY, n integer CHECK (n > 0))",
    );
    await db.query("INSERT INTO store_error_probe VALUES (1, 1)");
  });
  afterAll(() => drop?.());

  const internals = /store_error_probe|duplicate key|violates|syntax|SELECT|INSERT|relation/i;

  it("a unique violation is STORE_CONSTRAINT_VIOLATION (409, not retryable), not STORE_UNAVAILABLE", async () => {
    const e = await failure(db.query("INSERT INTO store_error_probe VALUES (1, 2)"));
    expect(e.code).toBe("STORE_CONSTRAINT_VIOLATION");
    expect(e.message).not.toMatch(internals);
    expect(JSON.stringify(e.details ?? {})).not.toMatch(internals);
    // The driver's error stays as the cause, for the server's log.
    expect(String((e.cause as Error).message)).toMatch(/duplicate key/);
  });

  it("a check violation inside a transaction is STORE_CONSTRAINT_VIOLATION; nothing is kept", async () => {
    const e = await failure(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO store_error_probe VALUES (2, 2)");
        await tx.query("INSERT INTO store_error_probe VALUES (3, -1)");
      }),
    );
    expect(e.code).toBe("STORE_CONSTRAINT_VIOLATION");
    expect(e.message).not.toMatch(internals);
    const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM store_error_probe");
    expect(rows[0]?.n).toBe(1);
  });

  it("an invalid query is STORE_QUERY_FAILED without its SQL or the server's message", async () => {
    const e = await failure(db.query("SELEKT * FROM store_error_probe"));
    expect(e.code).toBe("STORE_QUERY_FAILED");
    expect(e.message).not.toMatch(internals);
    const missing = await failure(db.query("SELECT * FROM no_such_table_here"));
    expect(missing.code).toBe("STORE_QUERY_FAILED");
    expect(missing.message).not.toMatch(/no_such_table_here/);
  });

  it("a value the database cannot hold as text (NUL) is INVALID_INPUT, not a server fault; nothing is kept", async () => {
    expect(classifyStoreError({ code: "22021" })).toBe("input");
    expect(classifyStoreError({ code: "22P05" })).toBe("input");
    expect(classifyStoreError({ code: "22008" })).toBe("input");
    expect(classifyStoreError({ code: "22009" })).toBe("input");
    const late = await failure(db.query("SELECT $1::timestamptz", ["0000-01-01T00:00:00Z"]));
    expect(late.code).toBe("INVALID_INPUT");
    await db.exec("CREATE TABLE IF NOT EXISTS store_error_text (t text)");
    const e = await failure(db.query("INSERT INTO store_error_text VALUES ($1)", ["a\u0000b"]));
    expect(e.code).toBe("INVALID_INPUT");
    expect(e.message).not.toMatch(internals);
    const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM store_error_text");
    expect(rows[0]?.n).toBe(0);
  });

  it("a closed database is STORE_UNAVAILABLE (the one retryable store error)", async () => {
    const other = await openTestDb();
    await other.drop();
    const e = await failure(other.db.query("SELECT 1"));
    expect(e.code).toBe("STORE_UNAVAILABLE");
  });
});
