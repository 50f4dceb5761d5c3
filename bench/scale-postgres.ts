/**
 * The scale bench's own Postgres server: Debian's binaries through
 * `bench/start-postgres-durable` (the server's DEFAULT durability: fsync=on,
 * synchronous_commit=on, full_page_writes=on) in a fresh directory on a free
 * port, stopped and removed when the bench ends, however it ends.
 * @module
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { serverClient } from "../reliability/postgres.js";

const SCRIPT = join(import.meta.dirname, "start-postgres-durable");

/** A server this process started. */
export type BenchPostgres = {
  readonly port: number;
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url(database: string): string;
  /** Creates `database` (dropping one of that name first). */
  createDatabase(database: string): Promise<string>;
  /** One query on a short-lived connection. */
  query<T extends Record<string, unknown>>(
    database: string,
    sql: string,
    params?: unknown[],
  ): Promise<T[]>;
  /** `name=setting` of the durability settings, e.g. `fsync=on, synchronous_commit=on, …`. */
  durability(): Promise<Record<string, string>>;
  /**
   * Mean and median milliseconds of one small committed transaction (an
   * autocommit INSERT into a logged table, one connection, `n` in a row):
   * the WAL flush each commit waits for, plus a round trip.
   */
  commitLatency(n: number): Promise<{ mean: number; median: number }>;
  /** Stops the server and removes its directory (idempotent). */
  stop(): void;
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a fresh server with default durability; registers its stop on process exit and signals. */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const port = await freePort();
  // Not under a mkdtemp directory: the server runs as `postgres` when we are root and must reach it.
  const dir = `/tmp/chaoscore-scale-pg-${randomBytes(4).toString("hex")}`;
  const env = { ...process.env, PGPORT_BENCH: String(port), PGDATA_BENCH: dir };
  execFileSync(SCRIPT, [], { env, stdio: ["ignore", "ignore", "inherit"] });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      execFileSync(SCRIPT, ["stop"], { env, stdio: "ignore" });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the bench's Postgres server\n`);
      process.exit(1); // 'exit' stops it
    });
  }
  const server = serverClient(port);
  const { url, query } = server;
  return {
    port,
    dir,
    ...server,
    async durability() {
      const rows = await query<{ name: string; setting: string }>(
        "postgres",
        `SELECT name, setting FROM pg_settings
         WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'server_version')
         ORDER BY name`,
      );
      return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    },
    async commitLatency(n) {
      const client = new pg.Client({ connectionString: url("postgres") });
      client.on("error", () => {});
      await client.connect();
      try {
        await client.query("CREATE TABLE IF NOT EXISTS bench_commit (x int)");
        const times: number[] = [];
        for (let i = 0; i < n; i++) {
          const start = performance.now();
          await client.query("INSERT INTO bench_commit VALUES ($1)", [i]);
          times.push(performance.now() - start);
        }
        await client.query("DROP TABLE bench_commit");
        times.sort((a, b) => a - b);
        return {
          mean: times.reduce((a, b) => a + b, 0) / n,
          median: times[Math.floor(n / 2)] ?? 0,
        };
      } finally {
        await client.end().catch(() => {});
      }
    },
    stop,
  };
}
