import { mkdirSync } from "node:fs";
import { ChaosCoreError } from "@chaoscore/core";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import type { Db } from "./db.js";
import { storeError } from "./store-error.js";

class PgliteTx implements Db {
  readonly kind = "pglite" as const;
  constructor(private readonly tx: Transaction) {}
  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.tx.query<T>(sql, params)).rows;
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
  private constructor(
    private readonly pg: PGlite,
    private readonly lock: DataDirLock | undefined,
  ) {}

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
      return (await this.pg.query<T>(sql, params)).rows;
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
          return await fn(new PgliteTx(tx));
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
