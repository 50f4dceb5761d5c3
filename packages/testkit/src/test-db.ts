import { randomBytes } from "node:crypto";
import { NODE_MIGRATIONS } from "@chaoscore/engine";
import { GATEWAY_MIGRATIONS } from "@chaoscore/gateway/migrations";
import { composeMigrations, type Db, openDatabase } from "@chaoscore/log";

/** The schema of a node that serves the gateway: every package's migrations. */
const TEST_MIGRATIONS = composeMigrations(NODE_MIGRATIONS, GATEWAY_MIGRATIONS);

/**
 * A fresh, migrated database for one test file: an in-memory PGlite, or a
 * private schema on the server at DATABASE_URL (dropped by `drop()`), with
 * every package's tables (the gateway's included).
 */
export async function openTestDb(): Promise<{ db: Db; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") {
    const db = await openDatabase({
      databaseUrl: null,
      dataDir: ":memory:",
      migrations: TEST_MIGRATIONS,
    });
    return { db, drop: () => db.close() };
  }
  const schema = `test_${randomBytes(6).toString("hex")}`;
  const db = await openDatabase({ databaseUrl: url, schema, migrations: TEST_MIGRATIONS });
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
