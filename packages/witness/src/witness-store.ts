/**
 * The witness's state: the latest checkpoint it cosigned for each log origin.
 * One interface, two drivers over the engine's database layer: PGlite (an
 * embedded Postgres in the witness's own data directory, the default) and a
 * Postgres server (`DATABASE_URL` / `--database-url`), where the witness's
 * tables live in a schema of their own (`chaoscore_witness`).
 * @module
 */
import { resolve } from "node:path";
import { ChaosCoreError } from "@chaoscore/core";
import { type Db, PgliteDb, PostgresDb } from "@chaoscore/log/store";

/** The checkpoint a witness holds for one origin. */
export type WitnessedCheckpoint = {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The signed checkpoint note as submitted. */
  readonly note: string;
};

/**
 * Where a witness keeps its state. `update` is a compare-and-swap: it stores
 * `next` only when the stored checkpoint for the origin still has size
 * `oldSize` (no stored checkpoint counts as size 0), in one transaction, and
 * reports whether it did. The witness cosigns only after `update` returned
 * true, so two concurrent requests (or a process killed in between) can never
 * both be cosigned from one state.
 */
export interface WitnessStore {
  /** The latest checkpoint stored for `origin`, if any. */
  latest(origin: string): Promise<WitnessedCheckpoint | undefined>;
  /**
   * Replaces the checkpoint of `next.origin` if the stored one has size
   * `oldSize` and root `oldRoot` (absent when `oldSize` is 0 and none is stored).
   */
  update(
    oldSize: number,
    oldRoot: Uint8Array | undefined,
    next: WitnessedCheckpoint,
  ): Promise<boolean>;
  /** Closes the database. */
  close(): Promise<void>;
}

/** The witness's own schema changes (not the engine's list). */
export const WITNESS_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE witness_checkpoints (
  origin     text PRIMARY KEY,
  size       bigint NOT NULL CHECK (size >= 0),
  root_hash  bytea NOT NULL CHECK (length(root_hash) = 32),
  note       text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);`,
  },
];

/** The Postgres schema the witness uses on a shared server. */
export const WITNESS_SCHEMA = "chaoscore_witness";

/** A {@link WitnessStore} over the engine's `Db` (PGlite or Postgres). */
export class DbWitnessStore implements WitnessStore {
  private constructor(private readonly db: Db) {}

  /** Wraps an open database and applies the witness migrations. */
  static async create(db: Db): Promise<DbWitnessStore> {
    await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(7271728)");
      await tx.exec(`CREATE TABLE IF NOT EXISTS witness_migrations (
        version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set(
        (await tx.query<{ version: number }>("SELECT version FROM witness_migrations")).map((r) =>
          Number(r.version),
        ),
      );
      for (const m of WITNESS_MIGRATIONS) {
        if (done.has(m.version)) continue;
        try {
          await tx.exec(m.sql);
        } catch (cause) {
          throw new ChaosCoreError(
            "STORE_MIGRATION_FAILED",
            `witness migration ${m.version} failed`,
            {
              cause,
              details: { version: m.version },
            },
          );
        }
        await tx.query("INSERT INTO witness_migrations (version) VALUES ($1)", [m.version]);
      }
    });
    return new DbWitnessStore(db);
  }

  async latest(origin: string): Promise<WitnessedCheckpoint | undefined> {
    const [row] = await this.db.query<{ size: number; root: string; note: string }>(
      "SELECT size, encode(root_hash, 'hex') AS root, note FROM witness_checkpoints WHERE origin = $1",
      [origin],
    );
    if (row === undefined) return undefined;
    return {
      origin,
      size: Number(row.size),
      rootHash: Uint8Array.from(Buffer.from(row.root, "hex")),
      note: row.note,
    };
  }

  async update(
    oldSize: number,
    oldRoot: Uint8Array | undefined,
    next: WitnessedCheckpoint,
  ): Promise<boolean> {
    const root = Buffer.from(next.rootHash).toString("hex");
    if (oldRoot === undefined) {
      if (oldSize !== 0) return false;
      const rows = await this.db.query(
        `INSERT INTO witness_checkpoints (origin, size, root_hash, note)
         VALUES ($1, $2, decode($3, 'hex'), $4) ON CONFLICT (origin) DO NOTHING RETURNING origin`,
        [next.origin, next.size, root, next.note],
      );
      return rows.length === 1;
    }
    const rows = await this.db.query(
      `UPDATE witness_checkpoints SET size = $2, root_hash = decode($3, 'hex'), note = $4, updated_at = now()
       WHERE origin = $1 AND size = $5 AND root_hash = decode($6, 'hex') RETURNING origin`,
      [next.origin, next.size, root, next.note, oldSize, Buffer.from(oldRoot).toString("hex")],
    );
    return rows.length === 1;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Where a witness keeps its state. */
export type WitnessStoreOptions = {
  /** A Postgres server URL; PGlite in `dataDir` when absent or empty. */
  databaseUrl?: string | undefined;
  /** The witness data directory (PGlite lives in `<dataDir>/pgdata`); `":memory:"` for tests. */
  dataDir?: string | undefined;
  /** Postgres schema (default {@link WITNESS_SCHEMA}). */
  schema?: string | undefined;
};

/**
 * Opens the witness store: Postgres when a URL is given, else PGlite in the
 * data directory (default `.chaoscore-witness`).
 * @throws ChaosCoreError STORE_UNAVAILABLE / STORE_MIGRATION_FAILED.
 * @example
 * ```ts
 * const store = await openWitnessStore({ dataDir: "/var/lib/witness" });
 * ```
 */
export async function openWitnessStore(options: WitnessStoreOptions = {}): Promise<WitnessStore> {
  const url = options.databaseUrl;
  let db: Db;
  if (url !== undefined && url !== "") {
    db = await PostgresDb.open(url, { schema: options.schema ?? WITNESS_SCHEMA, max: 4 });
  } else if (options.dataDir === ":memory:") {
    db = await PgliteDb.open();
  } else {
    db = await PgliteDb.open(resolve(options.dataDir ?? ".chaoscore-witness", "pgdata"));
  }
  try {
    return await DbWitnessStore.create(db);
  } catch (error) {
    await db.close();
    throw error;
  }
}
