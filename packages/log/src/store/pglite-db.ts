import { mkdirSync } from "node:fs";
import { ChaosCoreError } from "@chaoscore/core";
import { PGlite, type QueryOptions, type Transaction } from "@electric-sql/pglite";
import { binaryFirstSerializers, hasBinaryParam } from "./binary-params.js";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import type { Db } from "./db.js";
import { PreparedStatements } from "./pglite-prepared.mjs";
import { storeError } from "./store-error.js";

// PGlite types a serializer as returning text; its protocol binds a returned
// byte view in binary (what binaryFirstSerializers relies on).
type Serializers = NonNullable<QueryOptions["serializers"]>;

class PgliteTx implements Db {
  readonly kind = "pglite" as const;
  constructor(
    private readonly tx: Transaction,
    private readonly binary: Serializers,
    private readonly prepared: PreparedStatements,
  ) {}
  /** Through a named prepared statement (pglite-prepared.mjs). */
  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    if (this.tx.closed) throw new Error("Transaction is closed");
    return this.prepared.query<T>(sql, params, hasBinaryParam(params) ? this.binary : undefined);
  }
  async exec(sql: string): Promise<void> {
    await this.tx.exec(sql);
  }
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
}

/** A PGlite database, on disk at `dataDir` or in memory when it is undefined. */
export class PgliteDb implements Db {
  readonly kind = "pglite" as const;
  /** Byte parameters bind in binary, as on a Postgres server (binary-params.ts). */
  private readonly binary: Serializers;
  /** The statements of its transactions, parsed once each. */
  private readonly prepared: PreparedStatements;
  private constructor(
    private readonly pg: PGlite,
    private readonly lock: DataDirLock | undefined,
  ) {
    this.binary = binaryFirstSerializers(pg) as unknown as Serializers;
    this.prepared = new PreparedStatements(pg);
  }

  /**
   * Opens (creating if needed) a PGlite database in `dataDir`, or in memory. An on-disk
   * directory is locked for this process until {@link close} (one writer per directory).
   * @throws ChaosCoreError STORE_DATA_DIR_LOCKED (another live process holds it), STORE_UNAVAILABLE.
   */
  static async open(dataDir?: string): Promise<PgliteDb> {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
    const lock = dataDir === undefined ? undefined : lockDataDir(dataDir);
    try {
      const pg = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
      await pg.waitReady;
      return new PgliteDb(pg, lock);
    } catch (cause) {
      lock?.release();
      throw storeError(cause);
    }
  }

  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    try {
      const options = hasBinaryParam(params) ? { serializers: this.binary } : undefined;
      return (await this.pg.query<T>(sql, params, options)).rows;
    } catch (cause) {
      throw storeError(cause);
    }
  }
  async exec(sql: string): Promise<void> {
    try {
      await this.pg.exec(sql);
    } catch (cause) {
      throw storeError(cause);
    }
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    let failure: { error: unknown } | undefined;
    try {
      return await this.pg.transaction(async (tx) => {
        try {
          return await fn(new PgliteTx(tx, this.binary, this.prepared));
        } catch (error) {
          failure = { error };
          throw error;
        }
      });
    } catch (cause) {
      // Errors thrown by `fn` keep their identity; database errors get a code.
      if (failure !== undefined && failure.error === cause && cause instanceof ChaosCoreError) {
        throw cause;
      }
      throw storeError(cause);
    }
  }
  async close(): Promise<void> {
    try {
      await this.pg.close();
    } finally {
      this.lock?.release();
    }
  }
}
