import { ChaosCoreError } from "@chaoscore/core";
import pg from "pg";
import type { Db } from "./db.js";
import { storeError } from "./store-error.js";

// Values as PGlite returns them, so both back-ends look alike to the engine:
// int8 as a JS number (log indices and sizes stay far below 2^53; uint64
// nonces are stored as numeric and read as text) and bytea as a Uint8Array.
const INT8 = 20;
const BYTEA = 17;
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8) return (value: string) => Number(value);
    if (oid === BYTEA) {
      return (value: string) => Uint8Array.from(Buffer.from(value.slice(2), "hex"));
    }
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

class ClientDb implements Db {
  readonly kind = "postgres" as const;
  constructor(private readonly client: pg.PoolClient) {}
  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    try {
      return (await this.client.query<T>(sql, params)).rows;
    } catch (cause) {
      throw storeError(cause);
    }
  }
  async exec(sql: string): Promise<void> {
    try {
      await this.client.query(sql);
    } catch (cause) {
      throw storeError(cause);
    }
  }
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
}

/** A Postgres server database (a pg connection pool). */
export class PostgresDb implements Db {
  readonly kind = "postgres" as const;
  private constructor(private readonly pool: pg.Pool) {}

  /**
   * Connects to `url`. With `schema`, every connection uses that schema
   * (created if missing) — how tests isolate themselves on one server.
   */
  static async open(
    url: string,
    options: { schema?: string; max?: number } = {},
  ): Promise<PostgresDb> {
    const config: pg.PoolConfig = { connectionString: url, max: options.max ?? 10, types };
    if (options.schema !== undefined) {
      if (!/^[a-z_][a-z0-9_]*$/.test(options.schema)) {
        throw new ChaosCoreError("INVALID_INPUT", "schema must be a lowercase identifier");
      }
      config.options = `-c search_path=${options.schema}`;
    }
    const pool = new pg.Pool(config);
    pool.on("error", () => {}); // idle-client errors surface on the next query instead
    const db = new PostgresDb(pool);
    if (options.schema !== undefined)
      await db.exec(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    else await db.query("SELECT 1");
    return db;
  }

  /**
   * A read-only pool on `url` (a streaming replica): sessions are read-only
   * (`default_transaction_read_only`), the schema is only put on the search
   * path (never created), nothing connects before the first query, a
   * connect attempt times out after 2 s and a statement after 10 s (read-replica.ts).
   */
  static openReadOnly(url: string, options: { schema?: string; max?: number } = {}): PostgresDb {
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(options.schema)) {
      throw new ChaosCoreError("INVALID_INPUT", "schema must be a lowercase identifier");
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      types,
      connectionTimeoutMillis: 2000,
      // A replica that hangs must not hang the read: the caller falls back to the primary.
      query_timeout: 10_000,
      options: `-c default_transaction_read_only=on -c statement_timeout=10000${
        options.schema === undefined ? "" : ` -c search_path=${options.schema}`
      }`,
    });
    pool.on("error", () => {});
    return new PostgresDb(pool);
  }

  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query<T>(sql, params)).rows;
    } catch (cause) {
      throw storeError(cause);
    }
  }
  async exec(sql: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (cause) {
      throw storeError(cause);
    }
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      throw storeError(cause);
    }
    // The pool listens for errors of idle clients only. Without a listener of
    // our own, a connection the server ends mid-transaction (a restart, a
    // terminated backend) emits an unhandled 'error' and the process dies.
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      const result = await fn(new ClientDb(client));
      await client.query("COMMIT");
      return result;
    } catch (cause) {
      if (broken === undefined) await client.query("ROLLBACK").catch(() => {});
      throw storeError(cause);
    } finally {
      client.removeListener("error", onError);
      // A broken connection leaves the pool instead of being handed out again.
      client.release(broken);
    }
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}
