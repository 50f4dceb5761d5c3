/**
 * The staging stack's Postgres server, run with the server's own tools: `initdb` on the first
 * start (scram-sha-256, a generated password), `pg_ctl start` on 127.0.0.1 only, database
 * `chaoscore`; `pg_isready` is its health check; `pg_ctl stop -m fast` stops it. Debian's
 * `postgresql` package is installed with apt-get when no server is found (as
 * .ci/start-postgres does). Run as root, the server runs as the `postgres` user.
 * @module
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { assertPortFree, ROOT, redactUrl, type Settings } from "./settings.js";
import { isAlive, progress, run, StagingError, tail } from "./supervisor.js";

/** Whether this process runs as root (the server's binaries then run as `postgres`). */
export const isRoot = process.getuid?.() === 0;

/** The directory of initdb/pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, else the PATH. */
export function postgresBinDir(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(base, versions[0], "bin");
  }
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")))
      return dir;
  }
  return undefined;
}

/** Installs PostgreSQL from Debian's packages when it is missing (as .ci/start-postgres does). */
export async function ensurePostgresInstalled(): Promise<string> {
  const found = postgresBinDir();
  if (found !== undefined) return found;
  if (!existsSync("/usr/bin/apt-get")) {
    throw new StagingError(
      "no PostgreSQL server here (initdb, pg_ctl not found)",
      "install PostgreSQL ≥ 14 (its bin directory on the PATH), or use docker compose",
    );
  }
  const sudo = isRoot ? [] : ["sudo", "-n"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  progress("  PostgreSQL is not installed: apt-get install postgresql (Debian's packages)");
  for (const args of [
    ["apt-get", "update", "-qq"],
    ["apt-get", "install", "-y", "-qq", "postgresql"],
  ]) {
    const [cmd, ...rest] = [...sudo, ...args] as [string, ...string[]];
    const result = await run(cmd, rest, { env });
    if (result.code !== 0) {
      throw new StagingError(
        `\`${[cmd, ...rest].join(" ")}\` failed:\n${tail(result.stderr)}`,
        isRoot ? undefined : "run `sudo apt-get install postgresql` yourself, then try again",
      );
    }
  }
  const dir = postgresBinDir();
  if (dir === undefined) throw new StagingError("postgresql was installed but initdb is not found");
  return dir;
}

/** The whole of a log file ("" when there is none). */
export function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Runs a server binary as the owner of the data directory (the server refuses root). */
export function asPostgres(bin: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

/** The server's pid from `postmaster.pid`, or null. */
export function postmasterPid(pgdata: string): number | null {
  try {
    const pid = Number(readFileSync(join(pgdata, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The health check: `pg_isready` on 127.0.0.1:port. */
export async function pgIsReady(bindir: string, port: number): Promise<boolean> {
  const result = await run(join(bindir, "pg_isready"), [
    "-q",
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
  ]);
  return result.code === 0;
}

/** The password of the `postgres` role: generated once into <dir>/secrets/postgres-password. */
export async function postgresPassword(s: Settings): Promise<string> {
  const file = join(s.secrets, "postgres-password");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** Starts the server (initdb first when there is no cluster) and creates database `chaoscore`; returns its pid. */
export async function startPostgres(
  s: Settings,
  databaseUrl: string,
  password: string,
): Promise<number> {
  const bindir = await ensurePostgresInstalled();
  const port = s.ports.postgres;
  const running = postmasterPid(s.pgdata);
  if (isAlive(running) && (await pgIsReady(bindir, port))) {
    progress(`  already running (pid ${running})`);
    return running;
  }
  await assertPortFree(port, "Postgres", "--pg-port");
  if (!existsSync(join(s.pgdata, "PG_VERSION"))) {
    progress(`  initdb ${relative(ROOT, s.pgdata)} (scram-sha-256, a generated password)`);
    await mkdir(s.pgdata, { recursive: true, mode: 0o700 });
    // initdb reads the password from a file the server's user can read; it is deleted after.
    const pwfile = join(tmpdir(), `chaoscore-staging-pw-${process.pid}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    try {
      if (isRoot) {
        const chown = await run("chown", ["postgres:postgres", s.pgdata, pwfile]);
        if (chown.code !== 0) throw new StagingError(`chown postgres failed: ${chown.stderr}`);
      }
      const [cmd, args] = asPostgres(join(bindir, "initdb"), [
        "-D",
        s.pgdata,
        "-U",
        "postgres",
        "--auth=scram-sha-256",
        `--pwfile=${pwfile}`,
        "-E",
        "UTF8",
        "--no-locale",
      ]);
      const result = await run(cmd, args);
      if (result.code !== 0) throw new StagingError(`initdb failed:\n${tail(result.stderr)}`);
    } finally {
      await rm(pwfile, { force: true });
    }
  }
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k '${s.pgdata}'`;
  const [cmd, args] = asPostgres(join(bindir, "pg_ctl"), [
    "-D",
    s.pgdata,
    "-l",
    join(s.pgdata, "server.log"),
    "-w",
    "-t",
    "60",
    "-o",
    options,
    "start",
  ]);
  const started = await run(cmd, args);
  if (started.code !== 0) {
    throw new StagingError(
      `Postgres did not start:\n${tail(started.stdout + started.stderr)}\n${tail(readLog(join(s.pgdata, "server.log")))}`,
    );
  }
  const env = { ...process.env, PGPASSWORD: password };
  const exists = await run(
    join(bindir, "psql"),
    [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "postgres",
      "-tAc",
      "SELECT 1 FROM pg_database WHERE datname = 'chaoscore'",
    ],
    { env },
  );
  if (exists.code !== 0) throw new StagingError(`psql failed:\n${tail(exists.stderr)}`);
  if (exists.stdout.trim() !== "1") {
    const created = await run(
      join(bindir, "createdb"),
      ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "chaoscore"],
      { env },
    );
    if (created.code !== 0) throw new StagingError(`createdb failed:\n${tail(created.stderr)}`);
  }
  const pid = postmasterPid(s.pgdata);
  if (pid === null) throw new StagingError("Postgres started but wrote no postmaster.pid");
  progress(`  ${redactUrl(databaseUrl)} (pid ${pid})`);
  return pid;
}

/** `pg_ctl stop -m fast`; false when it was not running. */
export async function stopPostgres(s: Settings): Promise<boolean> {
  const bindir = postgresBinDir();
  const pid = postmasterPid(s.pgdata);
  if (bindir === undefined || !isAlive(pid)) return false;
  const [cmd, args] = asPostgres(join(bindir, "pg_ctl"), [
    "-D",
    s.pgdata,
    "-m",
    "fast",
    "-w",
    "stop",
  ]);
  const result = await run(cmd, args);
  if (result.code !== 0) throw new StagingError(`pg_ctl stop failed:\n${tail(result.stderr)}`);
  return true;
}
