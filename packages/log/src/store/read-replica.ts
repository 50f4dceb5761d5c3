/**
 * Reads off the primary (issue 18 item 4): a Postgres streaming replica
 * (a hot standby) answers plain reads, with the primary as the fall-back.
 * Writes, and everything inside a transaction, stay on the primary.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ChaosCoreError, type ErrorCode, isChaosCoreError } from "@chaoscore/core";
import type { TransparencyLog } from "../agency/transparency-log.js";
import type { Db } from "./db.js";
import { PostgresDb } from "./postgres-db.js";

/** The store's failures a read retries on the primary (a hot standby also cancels queries that conflict with replay). */
const REPLICA_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "STORE_UNAVAILABLE",
  "STORE_CONFLICT",
  "STORE_CONSTRAINT_VIOLATION",
  "STORE_QUERY_FAILED",
  "STORE_MIGRATION_FAILED",
  "STORE_DATA_DIR_LOCKED",
]);

/** Options of {@link ReadReplicaDb}. */
export type ReadReplicaOptions = {
  /**
   * After the replica failed to answer, reads go straight to the primary for
   * this long before the replica is tried again (ms; default 5,000).
   */
  retryAfterMs?: number;
  /** The clock (ms; tests). */
  now?: () => number;
};

/** How many statements of a traced read each side answered ({@link traceReadSides}). */
export type ReadSides = { replica: number; primary: number };

const traces = new AsyncLocalStorage<ReadSides>();

/**
 * Runs `read` and counts, in `sides`, the statements that every
 * {@link ReadReplicaDb} answered from the replica and from the primary while
 * it ran (its async continuations included): a read served "from the
 * replica" whose statement fell back to the primary says so.
 */
export function traceReadSides<T>(sides: ReadSides, read: () => Promise<T>): Promise<T> {
  return traces.run(sides, read);
}

/**
 * Opens a read-only handle on a replica: a pool whose sessions are read-only
 * (`default_transaction_read_only`), that never creates the schema and does
 * not connect until the first query (a replica that is down at start is no
 * reason not to start). Connects time out after 2 s.
 */
export function openReplica(url: string, options: { schema?: string; max?: number } = {}): Db {
  return PostgresDb.openReadOnly(url, options);
}

/**
 * A {@link Db} that reads from a replica and falls back to the primary:
 * - `query` / `exec` run on the replica; if it cannot be reached, or refuses
 *   the statement (a conflict with recovery, an error of its own), the same
 *   statement runs on the primary, so the replica never causes a failure;
 *   after an unreachable (or timed-out) replica, reads go to the primary for `retryAfterMs`;
 * - `transaction` runs on the primary: whatever runs inside a transaction
 *   (a write, a read that must see the writer's lock) never touches the replica.
 */
export class ReadReplicaDb implements Db {
  readonly kind = "postgres" as const;
  readonly #replica: Db;
  readonly #primary: Db;
  readonly #retryAfterMs: number;
  readonly #now: () => number;
  readonly #listeners = new Set<(up: boolean, error?: unknown) => void>();
  #downUntil = 0;
  #down = false;
  #fallbacks = 0;

  constructor(replica: Db, primary: Db, options: ReadReplicaOptions = {}) {
    this.#replica = replica;
    this.#primary = primary;
    this.#retryAfterMs = options.retryAfterMs ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  /** The replica itself (for its lag), without the fall-back. */
  get replica(): Db {
    return this.#replica;
  }

  /** The primary reads fall back to. */
  get primary(): Db {
    return this.#primary;
  }

  /** False while the replica is considered down (reads go to the primary). */
  get up(): boolean {
    return !this.#down;
  }

  /**
   * Calls `listener` once when the replica stops answering (`up` false, with
   * the error; reads then go to the primary) and once when it answers again.
   * Returns an unsubscribe function.
   */
  onStatus(listener: (up: boolean, error?: unknown) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * False while reads skip the replica (for `retryAfterMs` after it failed to
   * answer); the first read after that tries it again.
   */
  get available(): boolean {
    return !(this.#down && this.#now() < this.#downUntil);
  }

  /** Statements that ran on the primary because the replica could not answer them. */
  get fallbacks(): number {
    return this.#fallbacks;
  }

  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.#read((db) => db.query<T>(sql, params));
  }

  async exec(sql: string): Promise<void> {
    return this.#read((db) => db.exec(sql));
  }

  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.#primary.transaction(fn);
  }

  /** Closes the replica's pool (the primary belongs to its owner). */
  close(): Promise<void> {
    return this.#replica.close();
  }

  async #read<T>(run: (db: Db) => Promise<T>): Promise<T> {
    const trace = traces.getStore();
    if (this.#down && this.#now() < this.#downUntil) {
      if (trace !== undefined) trace.primary++;
      return run(this.#primary);
    }
    let result: T;
    try {
      result = await run(this.#replica);
    } catch (error) {
      if (!isChaosCoreError(error) || !REPLICA_FAILURES.has(error.code)) throw error;
      this.#fallbacks++;
      if (error.code === "STORE_UNAVAILABLE" || timedOut(error.cause)) {
        this.#downUntil = this.#now() + this.#retryAfterMs;
        if (!this.#down) {
          this.#down = true;
          this.#notify(false, error);
        }
      }
      if (trace !== undefined) trace.primary++;
      return run(this.#primary);
    }
    if (trace !== undefined) trace.replica++;
    if (this.#down) {
      this.#down = false;
      this.#notify(true);
    }
    return result;
  }

  #notify(up: boolean, error?: unknown): void {
    for (const listener of this.#listeners) {
      try {
        listener(up, error);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

/** A replica that took too long (the pool's query_timeout, the session's statement_timeout). */
function timedOut(cause: unknown): boolean {
  const e = (cause ?? {}) as { code?: unknown; message?: unknown };
  return (
    e.code === "57014" || (typeof e.message === "string" && /query read timeout/i.test(e.message))
  );
}

/** How far a replica is behind its primary. */
export type ReplicaLag = {
  /**
   * Seconds since the last transaction the replica replayed was committed,
   * when it has not replayed everything the primary wrote; 0 when it has.
   */
  seconds: number;
  /** Bytes of WAL the primary has written that the replica has not replayed. */
  bytes: number;
};

/** The cluster a server belongs to: a streaming replica has its primary's. */
const SYSTEM_ID = "(SELECT system_identifier::text FROM pg_control_system())";
/** What tells a hot standby of the primary: in recovery, of the same cluster. */
const STANDBY = `pg_is_in_recovery() AS standby, ${SYSTEM_ID} AS system`;

/** Throws unless `replica` (its {@link STANDBY} row) is a standby of the cluster `primarySystem`. */
function assertStandby(
  primarySystem: string | undefined,
  replica: { standby: boolean; system: string } | undefined,
): void {
  const details = {
    standby: replica?.standby ?? null,
    system: replica?.system ?? null,
    primarySystem: primarySystem ?? null,
  };
  if (replica?.standby !== true) {
    throw new ChaosCoreError(
      "STORE_NOT_A_REPLICA",
      "the read database is not a streaming replica: it is not in recovery (pg_is_in_recovery() is false), so its data is not the primary's",
      { details },
    );
  }
  if (replica.system !== primarySystem) {
    throw new ChaosCoreError(
      "STORE_NOT_A_REPLICA",
      "the read database is not a streaming replica of the primary: it belongs to another cluster (system_identifier)",
      { details },
    );
  }
}

/**
 * Checks that `replica` is a streaming replica (a hot standby) of `primary`:
 * in recovery, and of the primary's cluster (same `system_identifier`).
 * Anything else — a writable server, another database on the primary's
 * server, a promoted replica, a standby of another cluster — would answer
 * reads with data that is not the primary's.
 * @throws ChaosCoreError STORE_NOT_A_REPLICA when it is not one;
 * STORE_UNAVAILABLE when either does not answer.
 * @example
 * ```ts
 * await verifyReplicaOf(primary, openReplica(readUrl));
 * ```
 */
export async function verifyReplicaOf(primary: Db, replica: Db): Promise<void> {
  const [[p], [r]] = await Promise.all([
    primary.query<{ system: string }>(`SELECT ${SYSTEM_ID} AS system`),
    replica.query<{ standby: boolean; system: string }>(`SELECT ${STANDBY}`),
  ]);
  assertStandby(p?.system, r);
}

/**
 * Measures the lag of `replica` behind `primary` (`pg_current_wal_lsn()` on
 * the primary, `pg_last_wal_replay_lsn()` and `pg_last_xact_replay_timestamp()`
 * on the replica), after checking in the same statements that it is a
 * replica of the primary ({@link verifyReplicaOf}).
 * @throws ChaosCoreError STORE_UNAVAILABLE when either does not answer;
 * STORE_NOT_A_REPLICA when `replica` is not a replica of `primary`.
 */
export async function replicaLag(primary: Db, replica: Db): Promise<ReplicaLag> {
  const [p] = await primary.query<{ lsn: string; system: string }>(
    `SELECT pg_current_wal_lsn()::text AS lsn, ${SYSTEM_ID} AS system`,
  );
  const [r] = await replica.query<{
    bytes: string | null;
    seconds: number | null;
    standby: boolean;
    system: string;
  }>(
    `SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS bytes,
            extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds,
            ${STANDBY}`,
    [p?.lsn],
  );
  assertStandby(p?.system, r);
  const bytes = Math.max(0, Number(r?.bytes ?? 0));
  return { bytes, seconds: bytes === 0 ? 0 : Math.max(0, Number(r?.seconds ?? 0)) };
}

/**
 * `log` read through another database handle (a {@link ReadReplicaDb}): the
 * same identity (id, origin, key, shard), its proofs, tiles, entries and
 * checkpoints read from `db`. It never opens the log; it must not append or
 * sign (a read-only replica refuses writes anyway).
 */
export function logReadingFrom(log: TransparencyLog, db: Db): TransparencyLog {
  const reader = Object.create(log) as TransparencyLog;
  // TransparencyLog keeps its handle in the (TypeScript-private) field `db`.
  Object.defineProperty(reader, "db", { value: db });
  return reader;
}
