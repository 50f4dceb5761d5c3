/**
 * PGlite in a worker thread (issue 14): the same embedded Postgres as
 * {@link PgliteDb}, run by `pglite-worker.mjs` on a `node:worker_threads`
 * thread, so the main thread's event loop no longer pays for Postgres-in-WASM
 * and the PGlite protocol (≈ half of its time per ingested action). Statements
 * and their rows cross as structured clones (Uint8Array, bigint, Date and JSON
 * values survive); driver errors come back with the fields {@link storeError}
 * classifies (SQLSTATE `code`, `constraint`, …); a transaction's statements run
 * on the transaction it opened, other callers wait for it (PGlite's own
 * transaction lock, in the worker). The data-dir lock stays in this thread.
 * Like a Postgres server's pool, an open database keeps the process alive:
 * close it.
 * @module
 */
import { mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import type { Db } from "./db.js";
import { storeError } from "./store-error.js";

/** A request to the worker (its id added by {@link PgliteWorkerDb}). */
type Request =
  | { op: "query"; sql: string; params: unknown[] | undefined; tx?: number }
  | { op: "exec"; sql: string; tx?: number }
  | { op: "begin" }
  | { op: "end"; tx: number; commit: boolean }
  | { op: "close" };

/** A driver error as the worker sends it. */
type ErrorData = {
  message: string;
  name: string;
  stack?: string;
  fields: Record<string, string | number | boolean | null>;
};

type Answer = { id: number; rows?: unknown[]; error?: ErrorData };

/** The driver's error again, with its own fields (`code`, `constraint`, `severity`, …). */
function driverError(data: ErrorData): Error {
  const error = new Error(data.message);
  Object.assign(error, data.fields);
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

/**
 * A typed-array view over part of a larger buffer would clone the whole
 * buffer (Node's `Buffer`s share an 8 KiB pool): such parameters are copied.
 */
function compactParams(params: unknown[] | undefined): unknown[] | undefined {
  if (params === undefined) return undefined;
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (ArrayBuffer.isView(p) && p.byteLength !== p.buffer.byteLength) {
      out ??= params.slice();
      out[i] = new Uint8Array(p.buffer, p.byteOffset, p.byteLength).slice();
    }
  }
  return out ?? params;
}

/** Where the worker is: beside this module, in `src/` and in an installed package's `dist/`. */
const WORKER_URL = new URL("./pglite-worker.mjs", import.meta.url);

/** The handle of one open transaction. Errors stay the driver's (the transaction codes them). */
class WorkerTx implements Db {
  readonly kind = "pglite" as const;
  constructor(
    private readonly db: PgliteWorkerDb,
    private readonly tx: number,
  ) {}
  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.db.request({ op: "query", sql, params: compactParams(params), tx: this.tx }))
      .rows as T[];
  }
  async exec(sql: string): Promise<void> {
    await this.db.request({ op: "exec", sql, tx: this.tx });
  }
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
}

/** Options of {@link PgliteWorkerDb.open}. */
export type PgliteWorkerOptions = {
  /** The worker script (tests wrap the real one); default `pglite-worker.mjs` beside this module. */
  workerUrl?: URL | undefined;
};

/**
 * A PGlite database run in a worker thread, on disk at `dataDir` or in memory
 * when it is undefined. Opt in with `openDatabase({ pgliteWorker: true })` or
 * `CHAOSCORE_PGLITE_WORKER=1`.
 */
export class PgliteWorkerDb implements Db {
  readonly kind = "pglite" as const;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (a: Answer) => void; reject: (e: Error) => void }
  >();
  /** Set once the worker is gone (closed, crashed): every later request fails with it. */
  private gone: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly lock: DataDirLock | undefined,
  ) {
    worker.on("message", (answer: Answer) => {
      const waiter = this.pending.get(answer.id);
      if (waiter === undefined) return;
      this.pending.delete(answer.id);
      if (answer.error !== undefined) waiter.reject(driverError(answer.error));
      else waiter.resolve(answer);
    });
    const lost = (why: string) => {
      // "database is closed": storeError classifies it as STORE_UNAVAILABLE.
      this.gone ??= new Error(`database is closed: ${why}`);
      for (const waiter of this.pending.values()) waiter.reject(this.gone);
      this.pending.clear();
      this.lock?.release();
    };
    worker.on("error", (error) => lost(`the PGlite worker failed (${error.message})`));
    worker.on("exit", (code) => lost(`the PGlite worker exited (code ${code})`));
    // Like a Postgres pool's connections, the open worker keeps the process
    // alive until close(): an unref'd worker let the process exit while a write
    // waited on the (unref'd) signature workers.
  }

  /**
   * Opens (creating if needed) a PGlite database in `dataDir`, or in memory, in
   * a new worker thread. An on-disk directory is locked for this process until
   * {@link close} (one writer per directory), by this thread.
   * @throws ChaosCoreError STORE_DATA_DIR_LOCKED (another live process holds it), STORE_UNAVAILABLE.
   */
  static async open(dataDir?: string, options: PgliteWorkerOptions = {}): Promise<PgliteWorkerDb> {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
    const lock = dataDir === undefined ? undefined : lockDataDir(dataDir);
    let worker: Worker | undefined;
    try {
      worker = new Worker(options.workerUrl ?? WORKER_URL, { workerData: { dataDir } });
      const w = worker;
      await new Promise<void>((resolve, reject) => {
        const onExit = (code: number) =>
          reject(new Error(`database is closed: the PGlite worker exited (code ${code})`));
        w.once("error", reject);
        w.once("exit", onExit);
        w.once("message", (m: { ready: boolean; error?: ErrorData }) => {
          w.off("error", reject);
          w.off("exit", onExit);
          if (m.ready) resolve();
          else
            reject(driverError(m.error ?? { message: "PGlite failed", name: "Error", fields: {} }));
        });
      });
      return new PgliteWorkerDb(w, lock);
    } catch (cause) {
      await worker?.terminate();
      lock?.release();
      throw storeError(cause);
    }
  }

  /** Sends one request; its answer, or the driver's error. @internal */
  request(req: Request): Promise<Answer> {
    if (this.gone !== undefined) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    try {
      return (await this.request({ op: "query", sql, params: compactParams(params) })).rows as T[];
    } catch (cause) {
      throw storeError(cause);
    }
  }
  async exec(sql: string): Promise<void> {
    try {
      await this.request({ op: "exec", sql });
    } catch (cause) {
      throw storeError(cause);
    }
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    let tx: number;
    try {
      tx = (await this.request({ op: "begin" })).id;
    } catch (cause) {
      throw storeError(cause);
    }
    let result: T;
    try {
      result = await fn(new WorkerTx(this, tx));
    } catch (error) {
      await this.request({ op: "end", tx, commit: false }).catch(() => {});
      // Errors thrown by `fn` keep their identity when coded; database errors get a code.
      throw storeError(error);
    }
    try {
      await this.request({ op: "end", tx, commit: true });
    } catch (cause) {
      throw storeError(cause);
    }
    return result;
  }
  /** Closes the database (PGlite's own close, in the worker), ends the worker, releases the lock. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (this.gone === undefined) await this.request({ op: "close" });
      } catch (cause) {
        throw storeError(cause);
      } finally {
        this.gone ??= new Error("database is closed");
        await this.worker.terminate();
        this.lock?.release();
      }
    })();
    return this.closing;
  }
}

/** `CHAOSCORE_PGLITE_WORKER`: "1"/"true" on, "0"/"false" off, else undefined (the default). */
export function pgliteWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const v = env.CHAOSCORE_PGLITE_WORKER?.trim().toLowerCase();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  return undefined;
}
