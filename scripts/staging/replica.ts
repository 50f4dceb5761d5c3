/**
 * The staging stack's streaming replica, made and run with the server's own tools: on the first
 * start a replication slot on the primary and `pg_basebackup -R` (a copy of the primary that
 * starts as a hot standby streaming through the slot), then `pg_ctl start` on its own port;
 * `pg_ctl stop -m fast` stops it. docker-compose.yml does the same in
 * deploy/postgres/replica-entrypoint.sh. The gateways read from it (`serve --read-database-url`).
 * @module
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import {
  asPostgres,
  ensurePostgresInstalled,
  isRoot,
  pgIsReady,
  postgresBinDir,
  postmasterPid,
  readLog,
} from "./postgres.js";
import { assertPortFree, ROOT, redactUrl, type Settings } from "./settings.js";
import { isAlive, progress, run, StagingError, tail, waitFor } from "./supervisor.js";

/** The primary's physical replication slot the replica streams through. */
export const REPLICATION_SLOT = "staging_replica";

/** `psql -tAc <sql>` as the `postgres` role on 127.0.0.1:port. */
async function psql(bindir: string, port: number, password: string, sql: string): Promise<string> {
  const result = await run(
    join(bindir, "psql"),
    ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "chaoscore", "-tAc", sql],
    { env: { ...process.env, PGPASSWORD: password } },
  );
  if (result.code !== 0) throw new StagingError(`psql failed:\n${tail(result.stderr)}`);
  return result.stdout.trim();
}

/** Copies the primary into `s.replicaPgdata` (slot, `pg_basebackup -R`); once. */
async function copyPrimary(bindir: string, s: Settings, password: string): Promise<void> {
  progress(
    `  pg_basebackup -R from 127.0.0.1:${s.ports.postgres} into ${relative(ROOT, s.replicaPgdata)} (slot ${REPLICATION_SLOT})`,
  );
  // The slot makes the primary keep the WAL the replica has not received, also while it is
  // stopped; a slot left by a replica directory that was deleted is reused.
  await psql(
    bindir,
    s.ports.postgres,
    password,
    `SELECT pg_create_physical_replication_slot('${REPLICATION_SLOT}') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${REPLICATION_SLOT}')`,
  );
  await rm(s.replicaPgdata, { recursive: true, force: true });
  const mkdir = await run("mkdir", ["-m", "0700", "-p", s.replicaPgdata]);
  if (mkdir.code !== 0) throw new StagingError(`mkdir failed: ${mkdir.stderr}`);
  if (isRoot) {
    const chown = await run("chown", ["postgres:postgres", s.replicaPgdata]);
    if (chown.code !== 0) throw new StagingError(`chown postgres failed: ${chown.stderr}`);
  }
  // -R writes standby.signal and primary_conninfo (with the password, in the replica's own
  // postgresql.auto.conf, mode 0600). The password comes through the environment, not argv.
  const [cmd, args] = asPostgres(join(bindir, "pg_basebackup"), [
    "-h",
    "127.0.0.1",
    "-p",
    String(s.ports.postgres),
    "-U",
    "postgres",
    "-D",
    s.replicaPgdata,
    "--write-recovery-conf",
    "--wal-method=stream",
    `--slot=${REPLICATION_SLOT}`,
    "--checkpoint=fast",
    "--no-password",
  ]);
  const copied = await run(cmd, args, { env: { ...process.env, PGPASSWORD: password } });
  if (copied.code !== 0) {
    await rm(s.replicaPgdata, { recursive: true, force: true });
    throw new StagingError(`pg_basebackup failed:\n${tail(copied.stderr)}`);
  }
  // The primary's own log came along with its data directory.
  await rm(join(s.replicaPgdata, "server.log"), { force: true });
}

/**
 * Starts the replica (copying the primary first when it has no cluster), waits until it
 * answers as a standby and returns its pid.
 */
export async function startReplica(
  s: Settings,
  replicaUrl: string,
  password: string,
): Promise<number> {
  const bindir = await ensurePostgresInstalled();
  const port = s.ports.replica;
  const running = postmasterPid(s.replicaPgdata);
  if (isAlive(running) && (await pgIsReady(bindir, port))) {
    progress(`  already running (pid ${running})`);
    return running;
  }
  await assertPortFree(port, "the Postgres replica", "--replica-port");
  if (!existsSync(join(s.replicaPgdata, "PG_VERSION"))) await copyPrimary(bindir, s, password);
  const log = join(s.replicaPgdata, "server.log");
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k '${s.replicaPgdata}' -c hot_standby=on`;
  const [cmd, args] = asPostgres(join(bindir, "pg_ctl"), [
    "-D",
    s.replicaPgdata,
    "-l",
    log,
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
      `the replica did not start:\n${tail(started.stdout + started.stderr)}\n${tail(readLog(log))}`,
    );
  }
  // A standby, streaming: pg_is_in_recovery() and a WAL receiver.
  const streaming = await waitFor(
    async () => {
      const row = await psql(
        bindir,
        port,
        password,
        "SELECT pg_is_in_recovery() || ' ' || coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')",
      ).catch(() => "");
      return row === "true streaming" ? row : undefined;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      alive: () => isAlive(postmasterPid(s.replicaPgdata)),
      failure: (why) =>
        new StagingError(
          why === "exited"
            ? `the replica exited:\n${tail(readLog(log))}`
            : `the replica is not a streaming standby after 60 s:\n${tail(readLog(log))}`,
          `see ${relative(ROOT, log)}`,
        ),
    },
  );
  const pid = postmasterPid(s.replicaPgdata);
  if (pid === null) throw new StagingError("the replica started but wrote no postmaster.pid");
  progress(
    `  ${redactUrl(replicaUrl)}: hot standby, WAL receiver ${streaming.split(" ")[1]} (pid ${pid})`,
  );
  return pid;
}

/** `pg_ctl stop -m fast` on the replica; false when it was not running. */
export async function stopReplica(s: Settings): Promise<boolean> {
  const bindir = postgresBinDir();
  const pid = postmasterPid(s.replicaPgdata);
  if (bindir === undefined || !isAlive(pid)) return false;
  const [cmd, args] = asPostgres(join(bindir, "pg_ctl"), [
    "-D",
    s.replicaPgdata,
    "-m",
    "fast",
    "-w",
    "stop",
  ]);
  const result = await run(cmd, args);
  if (result.code !== 0) throw new StagingError(`pg_ctl stop failed:\n${tail(result.stderr)}`);
  return true;
}
