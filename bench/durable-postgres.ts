/**
 * A Postgres server with its default durability for the benchmarks that
 * compare back-ends: the one DATABASE_URL names, else the one
 * bench/start-postgres-durable starts (installing Debian's package when it is
 * missing, unless CHAOSCORE_BENCH_NO_INSTALL is set).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

/**
 * Sets `DATABASE_URL` for this process to a running server with default
 * durability, starting one when it is unset; returns why not when none could
 * be started (the caller then measures without it and says so).
 */
export function ensureDurablePostgres(log: (message: string) => void): string | undefined {
  if (process.env.DATABASE_URL) return undefined;
  const script = join(import.meta.dirname, "start-postgres-durable");
  log(
    "postgres: DATABASE_URL is unset; starting a server with default durability (bench/start-postgres-durable)…",
  );
  const started = spawnSync("bash", [script], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = /export DATABASE_URL=(\S+)/.exec(started.stdout ?? "")?.[1];
  if (started.status !== 0 || url === undefined) {
    // (the script has said why on stderr)
    return `bench/start-postgres-durable failed (exit ${started.status}); set DATABASE_URL to a server`;
  }
  process.env.DATABASE_URL = url;
  log(
    `postgres: using ${url} (left running for the next run; bench/start-postgres-durable stop stops it)`,
  );
  return undefined;
}
