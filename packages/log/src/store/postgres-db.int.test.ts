import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresDb } from "./postgres-db.js";

const url = process.env.DATABASE_URL;

// Needs a Postgres server: a backend terminated by the server is what a restart looks like.
describe.skipIf(url === undefined || url === "")("PostgresDb.transaction on a server", () => {
  let db: PostgresDb;
  const schema = `test_${randomBytes(6).toString("hex")}`;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    db = await PostgresDb.open(url as string, { schema });
    process.on("uncaughtException", onUncaught);
  });
  afterAll(async () => {
    process.off("uncaughtException", onUncaught);
    await db?.exec(`DROP SCHEMA ${schema} CASCADE`);
    await db?.close();
  });

  /** Runs a transaction whose backend the server terminates at `when`. */
  async function terminatedTransaction(when: "between queries" | "during a query") {
    return db.transaction(async (tx) => {
      const [row] = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const kill = db.query("SELECT pg_terminate_backend($1)", [row?.pid]);
      if (when === "during a query") {
        await Promise.all([tx.query("SELECT pg_sleep(5)"), kill]);
      } else {
        await kill;
        await new Promise((r) => setTimeout(r, 200)); // the FATAL and the socket's end arrive
        await tx.query("SELECT 1");
      }
    });
  }

  for (const when of ["between queries", "during a query"] as const) {
    it(`fails with STORE_UNAVAILABLE (no uncaught 'error') when the connection ends ${when}, then reconnects`, async () => {
      await expect(terminatedTransaction(when)).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(uncaught).toEqual([]);
      // The broken connection left the pool: the next transactions and queries work.
      for (let i = 0; i < 12; i++) {
        expect(await db.transaction((tx) => tx.query<{ one: number }>("SELECT 1 AS one"))).toEqual([
          { one: 1 },
        ]);
      }
      expect(await db.query<{ two: number }>("SELECT 2 AS two")).toEqual([{ two: 2 }]);
    });
  }
});
