import { resolve } from "node:path";
import type { Db } from "./db.js";
import { LOG_MIGRATIONS, type Migration, migrate } from "./migrations.js";
import { PgliteDb } from "./pglite-db.js";
import { PgliteWorkerDb, pgliteWorkerFromEnv } from "./pglite-worker-db.js";
import { PostgresDb } from "./postgres-db.js";

/** Where the data lives. */
export type DatabaseOptions = {
  /**
   * A Postgres server URL. `null` (or `""`) forces the embedded PGlite;
   * `undefined` (the default) takes `DATABASE_URL` from the environment and
   * falls back to PGlite when it is unset.
   */
  databaseUrl?: string | null | undefined;
  /** PGlite data directory (default `.chaoscore/pgdata`); `":memory:"` for a throwaway database. */
  dataDir?: string | undefined;
  /** Postgres schema to use (created if missing); for tests on a shared server. */
  schema?: string | undefined;
  /**
   * The schema to bring it to (default the log's own, {@link LOG_MIGRATIONS});
   * a node passes every package's list, merged (`NODE_MIGRATIONS` of @chaoscore/engine).
   */
  migrations?: readonly Migration[] | undefined;
  /**
   * Runs PGlite in a worker thread ({@link PgliteWorkerDb}) instead of on the
   * calling thread: the event loop stays free for requests while a batch
   * commits (a gateway's p99 under ingest 76 against 103 ms), at some cost to
   * bulk ingest on some runs (0.88–1.03 × the calling thread's rate;
   * docs/benchmarks.md, "Ingest, eleventh pass"). `undefined`
   * (the default) takes `CHAOSCORE_PGLITE_WORKER` ("1" on, "0" off), else a
   * worker for an on-disk directory and the calling thread for `":memory:"`.
   * A database in a worker keeps the process alive until closed. Ignored for a Postgres server.
   */
  pgliteWorker?: boolean | undefined;
};

/** The default PGlite data directory, inside the ChaosCore data directory. */
export const DEFAULT_DATA_DIR = ".chaoscore";

/**
 * Opens the database the options (or `DATABASE_URL`) point to and migrates it
 * (with `options.migrations`, default the log's).
 * @throws ChaosCoreError STORE_UNAVAILABLE / STORE_MIGRATION_FAILED.
 */
export async function openDatabase(options: DatabaseOptions = {}): Promise<Db> {
  const url = options.databaseUrl === undefined ? process.env.DATABASE_URL : options.databaseUrl;
  let db: Db;
  if (url !== undefined && url !== null && url !== "") {
    db = await PostgresDb.open(url, options.schema === undefined ? {} : { schema: options.schema });
  } else {
    const dir = options.dataDir ?? resolve(DEFAULT_DATA_DIR, "pgdata");
    const at = dir === ":memory:" ? undefined : dir;
    const inWorker = options.pgliteWorker ?? pgliteWorkerFromEnv() ?? at !== undefined;
    db = inWorker ? await PgliteWorkerDb.open(at) : await PgliteDb.open(at);
  }
  try {
    await migrate(db, options.migrations ?? LOG_MIGRATIONS);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
