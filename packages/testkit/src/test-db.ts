import { randomBytes } from "node:crypto";
import type { Db } from "@chaoscore/log";
import { openDatabase } from "@chaoscore/log";

/**
 * A fresh, migrated database for one test file: an in-memory PGlite, or a
 * private schema on the server at DATABASE_URL (dropped by `drop()`).
 */
export async function openTestDb(): Promise<{ db: Db; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") {
    const db = await openDatabase({ databaseUrl: null, dataDir: ":memory:" });
    return { db, drop: () => db.close() };
  }
  const schema = `test_${randomBytes(6).toString("hex")}`;
  const db = await openDatabase({ databaseUrl: url, schema });
  return {
    db,
    drop: async () => {
      await db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}

/** Which back-end the integration tests run on, for test names. */
export const TEST_DB_KIND = process.env.DATABASE_URL ? "postgres" : "pglite";
