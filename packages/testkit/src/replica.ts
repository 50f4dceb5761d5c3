/**
 * A real Postgres primary and a streaming replica of it, for tests of reads
 * off the primary (issue 18 item 4). Built from Debian's binaries the way
 * `.ci/start-postgres` finds them (`/usr/lib/postgresql/<v>/bin`, newest):
 * `initdb` (wal_level replica), `pg_ctl start`, `pg_basebackup -R` into a
 * second directory, `pg_ctl start` of the standby. Everything lives in one
 * temporary directory on free loopback ports and is removed by `stop()`.
 * As root the servers run as the `postgres` user (Postgres refuses root).
 *
 * Lag is simulated by pausing replay on the standby (`pg_wal_replay_pause()`):
 * the standby still receives WAL but applies none of it until resumed.
 * @module
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { appendFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, PostgresDb } from "@chaoscore/log";

/**
 * The directory of Debian's Postgres binaries (`/usr/lib/postgresql/<newest>/bin`,
 * or `CHAOSCORE_PG_BINDIR`), or undefined when initdb, pg_ctl or pg_basebackup is missing.
 */
export function findPostgresBinaries(): string | undefined {
  const explicit = process.env.CHAOSCORE_PG_BINDIR;
  const candidates =
    explicit !== undefined && explicit !== ""
      ? [explicit]
      : existsSync("/usr/lib/postgresql")
        ? readdirSync("/usr/lib/postgresql")
            .filter((v) => /^[0-9]+$/.test(v))
            .sort((a, b) => Number(b) - Number(a))
            .map((v) => join("/usr/lib/postgresql", v, "bin"))
        : [];
  return candidates.find((dir) =>
    ["initdb", "pg_ctl", "pg_basebackup", "postgres"].every((b) => existsSync(join(dir, b))),
  );
}

/**
 * Why a test of a replica cannot run here, or undefined when it can: for
 * `describe.skipIf(REPLICA_SKIP_REASON !== undefined)` with the reason in the test name.
 */
export const REPLICA_SKIP_REASON: string | undefined =
  findPostgresBinaries() === undefined
    ? "needs Debian's Postgres binaries (initdb, pg_ctl, pg_basebackup under /usr/lib/postgresql/<v>/bin; apt-get install postgresql, or set CHAOSCORE_PG_BINDIR)"
    : undefined;

/** A running primary and its streaming replica. */
export type ReplicaPair = {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` of the primary (read-write). */
  readonly primaryUrl: string;
  /** The same database on the standby (read-only, hot standby). */
  readonly replicaUrl: string;
  readonly primaryPort: number;
  readonly replicaPort: number;
  /** The temporary directory holding both data directories and their logs. */
  readonly dir: string;
  /** Stops applying WAL on the standby (it keeps receiving it): reads there go stale. */
  pauseReplay(): Promise<void>;
  /** Applies WAL again. */
  resumeReplay(): Promise<void>;
  /** Resolves once the standby has replayed everything the primary had written when called. */
  waitForReplay(timeoutMs?: number): Promise<void>;
  /** Stops the standby (fast shutdown): reads that go there fail to connect. */
  stopReplica(): Promise<void>;
  /** Starts the stopped standby again and waits until it accepts connections. */
  startReplica(): Promise<void>;
  /** Stops both servers and removes the directory. */
  stop(): Promise<void>;
};

/** A TCP port free on 127.0.0.1 right now (for servers a test starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** Runs a Postgres binary, as the `postgres` user when this process is root. */
function run(bindir: string, binary: string, args: readonly string[]): string {
  const path = join(bindir, binary);
  const [file, argv] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", path, ...args]]
    : [path, [...args]];
  try {
    return execFileSync(file, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${binary} ${args.join(" ")} failed: ${e.stderr ?? ""}${e.stdout ?? ""}`, {
      cause: error,
    });
  }
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await PostgresDb.open(url, { max: 1 });
  try {
    return await db.query(sql);
  } finally {
    await db.close();
  }
}

/**
 * Starts a primary (wal_level replica) and a streaming hot standby of it.
 * @throws Error when the binaries are missing ({@link REPLICA_SKIP_REASON}) or a server does not start.
 */
export async function startReplicaPair(): Promise<ReplicaPair> {
  const bindir = findPostgresBinaries();
  if (bindir === undefined) throw new Error(REPLICA_SKIP_REASON);
  const dir = mkdtempSync(join(tmpdir(), "chaoscore-replica-"));
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const primaryDir = join(dir, "primary");
  const replicaDir = join(dir, "replica");
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const serverOptions = (port: number) =>
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const start = (dataDir: string, port: number) =>
    run(bindir, "pg_ctl", [
      "-D",
      dataDir,
      "-l",
      join(dir, `${port}.log`),
      "-w",
      "-t",
      "60",
      "-o",
      serverOptions(port),
      "start",
    ]);
  const stopServer = (dataDir: string) => {
    if (existsSync(join(dataDir, "postmaster.pid"))) {
      run(bindir, "pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"]);
    }
  };
  const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    run(bindir, "initdb", [
      "-D",
      primaryDir,
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-locale",
    ]);
    // initdb's pg_hba.conf already trusts replication connections from 127.0.0.1.
    await appendFile(
      join(primaryDir, "postgresql.conf"),
      "\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nwal_keep_size = 64MB\n",
    );
    start(primaryDir, primaryPort);
    run(bindir, "pg_basebackup", [
      "-h",
      "127.0.0.1",
      "-p",
      String(primaryPort),
      "-U",
      "postgres",
      "-D",
      replicaDir,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
    ]);
    start(replicaDir, replicaPort);
  } catch (error) {
    stopServer(replicaDir);
    stopServer(primaryDir);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  const pair: ReplicaPair = {
    primaryUrl: url(primaryPort),
    replicaUrl: url(replicaPort),
    primaryPort,
    replicaPort,
    dir,
    pauseReplay: async () => {
      await query(url(replicaPort), "SELECT pg_wal_replay_pause()");
    },
    resumeReplay: async () => {
      await query(url(replicaPort), "SELECT pg_wal_replay_resume()");
    },
    waitForReplay: async (timeoutMs = 30_000) => {
      const [row] = await query(url(primaryPort), "SELECT pg_current_wal_lsn()::text AS lsn");
      const target = String(row?.lsn);
      const replica: Db = await PostgresDb.open(url(replicaPort), { max: 1 });
      try {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const [r] = await replica.query<{ behind: boolean }>(
            "SELECT pg_last_wal_replay_lsn() < $1::pg_lsn AS behind",
            [target],
          );
          if (r?.behind === false) return;
          if (Date.now() > deadline) {
            throw new Error(`the standby has not replayed up to ${target} in ${timeoutMs} ms`);
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await replica.close();
      }
    },
    stopReplica: async () => {
      stopServer(replicaDir);
    },
    startReplica: async () => {
      start(replicaDir, replicaPort);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        stopServer(replicaDir);
      } finally {
        stopServer(primaryDir);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return pair;
}
