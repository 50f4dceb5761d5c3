/**
 * The suite's own Postgres server (Debian's binaries, as `.ci/start-postgres`
 * installs them), in its own directory and port so that it can be restarted
 * and stopped without touching anyone else's server.
 * @module
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/** A Postgres server this process controls. */
export type PostgresServer = {
  readonly port: number;
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/<db>` */
  url(database: string): string;
  /** Drops and creates `database`. */
  createDatabase(database: string): Promise<string>;
  /** `pg_ctl restart` (`fast`: clean shutdown; `immediate`: like a crash, recovery on start). */
  restart(mode: "fast" | "immediate"): Promise<void>;
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** One query on a short-lived connection. */
  query<T extends Record<string, unknown>>(
    database: string,
    sql: string,
    params?: unknown[],
  ): Promise<T[]>;
};

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const latest = versions.at(-1);
  if (latest === undefined) {
    throw new Error("no Postgres server binaries: run .ci/start-postgres once (it installs them)");
  }
  return join(root, latest, "bin");
}

/** Runs a server binary, as the `postgres` user when this process is root (the server refuses root). */
async function asServerUser(bin: string, args: string[]): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  const { stdout } = await run(cmd, argv, { maxBuffer: 1 << 20 });
  return stdout;
}

/**
 * Starts (initialising on first use) a server in `dir` on `port`; a server
 * already running there is reused.
 */
export async function startPostgres(options: {
  dir: string;
  port: number;
}): Promise<PostgresServer> {
  const { dir, port } = options;
  const bin = binDir();
  if (!existsSync(join(dir, "PG_VERSION"))) {
    mkdirSync(dir, { recursive: true });
    if (process.getuid?.() === 0) await run("chown", ["postgres:postgres", dir]);
    await asServerUser(join(bin, "initdb"), [
      "-D",
      dir,
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-locale",
    ]);
  }
  const serverOptions = `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (args: string[]) => asServerUser(join(bin, "pg_ctl"), ["-D", dir, ...args]);
  const isReady = async () => {
    try {
      await run(join(bin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]);
      return true;
    } catch {
      return false;
    }
  };
  const start = async () => {
    if (await isReady()) return;
    await ctl(["-l", join(dir, "server.log"), "-w", "-t", "60", "-o", serverOptions, "start"]);
  };
  await start();
  return {
    port,
    dir,
    ...serverClient(port),
    async restart(mode) {
      // stop + start rather than `pg_ctl restart`, which cannot take the log file (-l).
      await ctl(["-w", "-t", "60", "-m", mode, "stop"]);
      await start();
    },
    async stop(mode = "fast") {
      await ctl(["-w", "-t", "60", "-m", mode, "stop"]);
    },
    start,
  };
}

/**
 * The client side of a local server on `port` (user `postgres`, trust auth):
 * URLs, one-shot queries, and a fresh database by name.
 */
export function serverClient(
  port: number,
): Pick<PostgresServer, "url" | "query" | "createDatabase"> {
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const query = async <T extends Record<string, unknown>>(
    database: string,
    sql: string,
    params?: unknown[],
  ): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url(database) });
    client.on("error", () => {});
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  };
  return {
    url,
    query,
    async createDatabase(database) {
      if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`bad database name ${database}`);
      await query("postgres", `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await query("postgres", `CREATE DATABASE ${database}`);
      return url(database);
    },
  };
}

/**
 * Stops `server` when this process ends, however it ends: a normal end,
 * `process.exit`, an uncaught error, or SIGINT / SIGTERM / SIGHUP (which
 * would otherwise end the process without its 'exit' event). The suite ran
 * its server on after it ended before.
 * @returns a function that undoes the registration (when the caller stopped
 * the server itself).
 */
export function stopPostgresOnExit(server: Pick<PostgresServer, "dir">): () => void {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const pgCtl = join(bin, "pg_ctl");
  const args = ["-D", server.dir, "-m", "fast", "-w", "-t", "30", "stop"];
  const stopNow = () => {
    try {
      if (asRoot)
        execFileSync("runuser", ["-u", "postgres", "--", pgCtl, ...args], { stdio: "ignore" });
      else execFileSync(pgCtl, args, { stdio: "ignore" });
    } catch {
      // not running (stopped already, or never started)
    }
  };
  const signals = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the suite's Postgres server\n`);
    process.exit(signals[signal as keyof typeof signals] ?? 1); // 'exit' stops the server
  };
  process.on("exit", stopNow);
  for (const signal of Object.keys(signals)) process.on(signal, onSignal);
  return () => {
    process.off("exit", stopNow);
    for (const signal of Object.keys(signals)) process.off(signal, onSignal);
  };
}
