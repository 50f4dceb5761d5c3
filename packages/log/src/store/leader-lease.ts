/**
 * Leadership among the processes that share one log (issue 18 item 1, D13).
 * Any number of gateways accept writes for the same log; the work that must
 * have a single writer — anchoring checkpoints on chain, submitting them to
 * witnesses — runs in exactly one of them, the leader.
 *
 * On a Postgres server, leadership is a session-level advisory lock
 * (`pg_try_advisory_lock`) held on a dedicated connection:
 *
 * - a follower tries to take the lock every `pollMs` (default 1 s);
 * - the leader proves its session is alive every `pollMs` (a round trip on
 *   the lock's connection, answered within `checkTimeoutMs`); when it cannot,
 *   it steps down at once (its duties stop) and drops the connection;
 * - the server releases the lock when the session ends: at once when the
 *   leader's process dies (SIGKILL included: the kernel closes its socket),
 *   and after the session's TCP keepalive (`keepaliveSeconds`, default
 *   5 s idle + 3 probes 2 s apart ≈ 11 s) when its host or network vanishes.
 *
 * So a dead leader is replaced within `pollMs` of the server noticing, and a
 * cut-off leader steps down (≤ `pollMs + checkTimeoutMs`) before the server
 * can hand the lock to another process (≥ 5 s): never two leaders at once,
 * as long as `pollMs + checkTimeoutMs` stays below the keepalive idle time.
 *
 * PGlite is one process by construction (its data directory is locked), so
 * its driver, {@link alwaysLeader}, is the leader from the start.
 * @module
 */
import { createHash } from "node:crypto";
import pg from "pg";

/** Who does the single-writer work of a log. */
export interface LeaderLease {
  /** How leadership is decided: `always` (one process: PGlite), or the Postgres advisory lock. */
  readonly kind: "always" | "postgres-advisory-lock";
  /** True while this process holds leadership (as of its last check). */
  isLeader(): boolean;
  /**
   * Calls `listener(true)` when this process becomes the leader and
   * `listener(false)` when it stops being it; returns an unsubscribe function.
   * A listener added while leading is called with `true` at once.
   */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Starts competing for leadership (idempotent). */
  start(): void;
  /** Stops competing and gives leadership up (listeners hear `false` if it was held). */
  stop(): Promise<void>;
}

/** Listeners of a lease, each called once per change; a listener's failure is its own. */
class Listeners {
  readonly #set = new Set<(leader: boolean) => void>();
  add(listener: (leader: boolean) => void, leading: boolean): () => void {
    this.#set.add(listener);
    if (leading) call(listener, true);
    return () => this.#set.delete(listener);
  }
  emit(leader: boolean): void {
    for (const l of this.#set) call(l, leader);
  }
}

function call(listener: (leader: boolean) => void, leader: boolean): void {
  try {
    listener(leader);
  } catch {
    // A listener's failure is its own; leadership has changed.
  }
}

/**
 * The lease of a single process (PGlite): the leader from `start()` to `stop()`.
 * @example
 * ```ts
 * const lease = alwaysLeader();
 * lease.onChange((leader) => (leader ? anchoring.start({ intervalMs }) : anchoring.stop()));
 * lease.start();
 * ```
 */
export function alwaysLeader(): LeaderLease {
  const listeners = new Listeners();
  let leading = false;
  return {
    kind: "always",
    isLeader: () => leading,
    onChange: (listener) => listeners.add(listener, leading),
    start() {
      if (leading) return;
      leading = true;
      listeners.emit(true);
    },
    async stop() {
      if (!leading) return;
      leading = false;
      listeners.emit(false);
    },
  };
}

/**
 * The advisory-lock key of a leadership name: the first 8 bytes of its
 * SHA-256 as a signed 64-bit integer (decimal text, as Postgres takes a bigint).
 */
export function leaderLockKey(name: string): string {
  return createHash("sha256")
    .update(`chaoscore.leader/${name}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/** Options of {@link PostgresLeaderLease}. */
export type PostgresLeaderLeaseOptions = {
  /** The server (`postgres://…`): the lease holds its own connection, outside any pool. */
  url: string;
  /** What is led, e.g. the log's id: processes with the same name compete. */
  name: string;
  /** How often a follower tries to take the lock and the leader checks it holds it (default 1,000 ms). */
  pollMs?: number;
  /** Time limit of the leader's check (default `pollMs`). */
  checkTimeoutMs?: number;
  /** Server-side TCP keepalive idle time of the lock's session, in seconds (default 5). */
  keepaliveSeconds?: number;
  /** Called with each connection failure (for logs); the lease goes on trying. */
  onError?: (error: unknown) => void;
};

/**
 * Leadership by a Postgres session-level advisory lock (see the module's notes
 * for the bounds).
 * @example
 * ```ts
 * const lease = new PostgresLeaderLease({ url: process.env.DATABASE_URL, name: "default" });
 * lease.onChange((leader) => console.error(leader ? "leading" : "following"));
 * lease.start();
 * ```
 */
export class PostgresLeaderLease implements LeaderLease {
  readonly kind = "postgres-advisory-lock" as const;
  /** The advisory-lock key ({@link leaderLockKey} of the name). */
  readonly key: string;
  readonly #url: string;
  readonly #pollMs: number;
  readonly #checkTimeoutMs: number;
  readonly #keepaliveSeconds: number;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Listeners();
  #client: pg.Client | undefined;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #running = false;

  constructor(options: PostgresLeaderLeaseOptions) {
    this.#url = options.url;
    this.key = leaderLockKey(options.name);
    this.#pollMs = options.pollMs ?? 1000;
    this.#checkTimeoutMs = options.checkTimeoutMs ?? this.#pollMs;
    this.#keepaliveSeconds = options.keepaliveSeconds ?? 5;
    this.#onError = options.onError ?? (() => {});
  }

  isLeader(): boolean {
    return this.#leading;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.#listeners.add(listener, this.#leading);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const loop = () => {
      this.#tick = this.#step().finally(() => {
        this.#tick = undefined;
        if (this.#running) {
          this.#timer = setTimeout(loop, this.#pollMs);
          this.#timer.unref();
        }
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tick;
    this.#setLeading(false);
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) {
      // Ending the session releases the lock (an explicit unlock first, in case the end is slow).
      await withTimeout(client.query("SELECT pg_advisory_unlock($1)", [this.key]), 2000).catch(
        () => {},
      );
      await withTimeout(client.end(), 2000).catch(() => destroy(client));
    }
  }

  /** One round: take the lock (follower) or check the session still holds it (leader). */
  async #step(): Promise<void> {
    try {
      const client = this.#client ?? (await this.#connect());
      if (this.#leading) {
        await withTimeout(client.query("SELECT 1"), this.#checkTimeoutMs);
        return;
      }
      const res = await withTimeout(
        client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [this.key]),
        this.#checkTimeoutMs * 5,
      );
      if (res.rows[0]?.ok === true && this.#running) this.#setLeading(true);
    } catch (error) {
      // Whatever went wrong, this session can no longer be trusted to hold the lock.
      this.#setLeading(false);
      const client = this.#client;
      this.#client = undefined;
      if (client !== undefined) destroy(client);
      this.#onError(error);
    }
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.#url,
      keepAlive: true,
      connectionTimeoutMillis: Math.max(2000, this.#checkTimeoutMs * 5),
      application_name: "chaoscore-leader",
    });
    client.on("error", () => {}); // surfaces on the next round's query
    try {
      await client.connect();
      const k = this.#keepaliveSeconds;
      // The server ends the session (and frees the lock) soon after its client vanishes.
      await client.query(
        `SET tcp_keepalives_idle = ${k}; SET tcp_keepalives_interval = 2;
         SET tcp_keepalives_count = 3; SET tcp_user_timeout = ${k * 1000}`,
      );
    } catch (error) {
      destroy(client);
      throw error;
    }
    this.#client = client;
    return client;
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.#listeners.emit(leading);
  }
}

/** Closes a client's socket without waiting for the server. */
function destroy(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection
    ?.stream;
  stream?.destroy();
  void client.end().catch(() => {});
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the leader lock's connection did not answer in ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The lease for a database: the Postgres advisory lock when `url` names a
 * server, else {@link alwaysLeader} (PGlite: one process).
 */
export function openLeaderLease(
  options: Omit<PostgresLeaderLeaseOptions, "url"> & { url?: string | null | undefined },
): LeaderLease {
  const { url, ...rest } = options;
  return url === undefined || url === null || url === ""
    ? alwaysLeader()
    : new PostgresLeaderLease({ ...rest, url });
}
