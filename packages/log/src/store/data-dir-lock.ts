/**
 * One writer per embedded data directory (issue 12 part 4). PGlite is a
 * whole Postgres in the process: two processes over one directory are two
 * postmasters over one cluster, and acknowledged writes get lost. Like
 * Postgres's own `postmaster.pid`, opening a directory takes a lock file
 * beside it (`<dir>.pid`) that names the holder (pid, host, start time); a
 * lock whose process is gone (crash, SIGKILL) is taken over; the lock is
 * released on close and on exit (also on SIGINT / SIGTERM when nothing else
 * handles them).
 * @module
 */
import { randomUUID } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { ChaosCoreError } from "@chaoscore/core";

/** Format tag of a lock file. */
export const DATA_DIR_LOCK_FORMAT = "chaoscore.data-dir-lock/v1";

/** What a lock file holds. */
export type DataDirLockInfo = {
  readonly format: typeof DATA_DIR_LOCK_FORMAT;
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  /** Unique per acquisition: a release removes only its own lock. */
  readonly token: string;
};

/** A held lock. */
export type DataDirLock = {
  /** The lock file. */
  readonly path: string;
  readonly info: DataDirLockInfo;
  /** Removes the lock file if it is still this lock's; idempotent. */
  release(): void;
};

/** The lock file of a data directory: `<dir>.pid`, beside it (PGlite owns the directory). */
export function dataDirLockPath(dir: string): string {
  return `${resolve(dir)}.pid`;
}

function readLock(path: string): DataDirLockInfo | "missing" | "malformed" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw error;
  }
  try {
    const v = JSON.parse(text) as Partial<DataDirLockInfo>;
    if (
      v.format === DATA_DIR_LOCK_FORMAT &&
      Number.isSafeInteger(v.pid) &&
      typeof v.hostname === "string" &&
      typeof v.startedAt === "string" &&
      typeof v.token === "string"
    ) {
      return v as DataDirLockInfo;
    }
  } catch {
    // fall through
  }
  return "malformed";
}

/** True when `pid` names a live process on this host (EPERM: alive, not ours to signal). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function locked(dir: string, path: string, holder: DataDirLockInfo): ChaosCoreError {
  const where = holder.hostname === hostname() ? "" : ` on host ${holder.hostname}`;
  return new ChaosCoreError(
    "STORE_DATA_DIR_LOCKED",
    `the data directory ${dir} is in use by process ${holder.pid}${where} (since ${holder.startedAt}): ` +
      "two processes on one embedded database lose writes. Stop that process (e.g. the `chaoscore serve` " +
      "there), or send a write through its API (`--gateway URL --api-key KEY`); the commands that read " +
      "(log shards, log status, log audit) have no --gateway: read its routes (GET /v1/logs, /v1/log/checkpoint). " +
      `If no such process runs, remove ${path}.`,
    {
      details: {
        dataDir: dir,
        lockFile: path,
        pid: holder.pid,
        hostname: holder.hostname,
        startedAt: holder.startedAt,
      },
    },
  );
}

const held = new Map<string, DataDirLock>();
let hooked = false;

function releaseAll(): void {
  for (const lock of [...held.values()]) lock.release();
}

/** Releases every held lock at exit, and on SIGINT / SIGTERM when no one else handles them. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", releaseAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = () => {
      // Another handler (e.g. serve's graceful shutdown) closes the database, which releases.
      if (process.listenerCount(signal) > 1) return;
      releaseAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Takes the exclusive lock of an embedded data directory.
 * @throws ChaosCoreError STORE_DATA_DIR_LOCKED when a live process (this one included) holds it.
 * @example
 * ```ts
 * const lock = lockDataDir(".chaoscore/pgdata");
 * try { ... } finally { lock.release(); }
 * ```
 */
export function lockDataDir(dir: string): DataDirLock {
  const path = dataDirLockPath(dir);
  mkdirSync(dirname(path), { recursive: true });
  const info: DataDirLockInfo = {
    format: DATA_DIR_LOCK_FORMAT,
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    token: randomUUID(),
  };
  // Written whole to a private file, then linked into place: link() fails if the lock exists,
  // and a reader never sees a half-written lock.
  const tmp = `${path}.${info.token}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 5) throw error;
      }
      const holder = readLock(path);
      if (holder === "missing") continue;
      if (holder !== "malformed") {
        if (holder.hostname !== info.hostname || isAlive(holder.pid)) {
          throw locked(resolve(dir), path, holder);
        }
      }
      // Stale (its process is gone) or unreadable: move it aside atomically, then check that
      // what was moved is what was judged stale (another process may have taken over first).
      const aside = `${path}.${info.token}.stale`;
      try {
        renameSync(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      const moved = readLock(aside);
      const same =
        typeof holder === "string"
          ? typeof moved === "string"
          : typeof moved !== "string" && moved.token === holder.token;
      if (!same && typeof moved !== "string") {
        // A fresh lock was moved: put it back (if the place is still free) and give up.
        try {
          linkSync(aside, path);
        } catch {
          // someone else holds it now
        }
        unlinkSync(aside);
        throw locked(resolve(dir), path, moved);
      }
      unlinkSync(aside);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
  const lock: DataDirLock = {
    path,
    info,
    release() {
      if (held.get(path) !== lock) return;
      held.delete(path);
      const now = readLock(path);
      if (typeof now !== "string" && now.token === info.token) {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    },
  };
  held.set(path, lock);
  hookExit();
  return lock;
}
