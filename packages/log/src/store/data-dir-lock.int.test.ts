/**
 * One writer per embedded data directory: a second process (or a second open in this one) is
 * refused with STORE_DATA_DIR_LOCKED naming the holder; a lock whose process died is taken
 * over; close, exit and SIGTERM release it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { isChaosCoreError } from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_DIR_LOCK_FORMAT, dataDirLockPath, lockDataDir } from "./data-dir-lock.js";
import { openDatabase } from "./open-database.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "chaoscore-lock-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function expectLocked(fn: () => unknown, pid: number) {
  try {
    fn();
  } catch (error) {
    if (!isChaosCoreError(error)) throw error;
    expect(error.code).toBe("STORE_DATA_DIR_LOCKED");
    expect(error.details?.pid).toBe(pid);
    expect(error.message).toContain(`process ${pid}`);
    expect(error.message).toContain("--gateway");
    // read-only commands (log shards, log status, log audit) have no --gateway: the routes
    expect(error.message).toContain("the commands that read");
    return;
  }
  throw new Error("expected STORE_DATA_DIR_LOCKED");
}

/** A node process that takes the lock of `dir` and says LOCKED, then waits. */
function holder(dir: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const script = `
    const { lockDataDir } = await import(${JSON.stringify(new URL("./data-dir-lock.ts", import.meta.url).pathname)});
    lockDataDir(${JSON.stringify(dir)});
    console.log("LOCKED");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
      if (out.includes("LOCKED")) resolve({ child, exited });
    });
    child.on("exit", (code) => reject(new Error(`holder exited ${code}: ${out}`)));
  });
}

describe("lockDataDir", () => {
  it("refuses a second lock in this process and frees it on release", () => {
    const dir = join(root, "same");
    const lock = lockDataDir(dir);
    expect(lock.path).toBe(dataDirLockPath(dir));
    expect(lock.info).toMatchObject({ format: DATA_DIR_LOCK_FORMAT, pid: process.pid });
    expectLocked(() => lockDataDir(dir), process.pid);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    lockDataDir(dir).release();
  });

  it("refuses while another process holds it; takes it over once that process is killed", async () => {
    const dir = join(root, "other");
    const { child, exited } = await holder(dir);
    const pid = child.pid as number;
    expectLocked(() => lockDataDir(dir), pid);
    child.kill("SIGKILL");
    await exited;
    // The lock file is still there (SIGKILL runs no handler), but its process is gone.
    expect(JSON.parse(await readFile(dataDirLockPath(dir), "utf8")).pid).toBe(pid);
    const lock = lockDataDir(dir);
    expect(lock.info.pid).toBe(process.pid);
    lock.release();
  });

  it("is released by SIGTERM in a process with no handler of its own", async () => {
    const dir = join(root, "term");
    const { child, exited } = await holder(dir);
    child.kill("SIGTERM");
    await exited;
    expect(existsSync(dataDirLockPath(dir))).toBe(false);
  });

  it("takes over a stale or unreadable lock file, never a live one on another host", async () => {
    const dir = join(root, "stale");
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const stale = {
      format: DATA_DIR_LOCK_FORMAT,
      pid: dead,
      hostname: hostname(),
      startedAt: new Date(0).toISOString(),
      token: "t",
    };
    await writeFile(dataDirLockPath(dir), JSON.stringify(stale));
    lockDataDir(dir).release();
    await writeFile(dataDirLockPath(dir), "{garbage");
    lockDataDir(dir).release();
    await writeFile(
      dataDirLockPath(dir),
      JSON.stringify({ ...stale, pid: 1, hostname: "elsewhere.example" }),
    );
    expectLocked(() => lockDataDir(dir), 1);
    await rm(dataDirLockPath(dir));
  });
});

describe("openDatabase (PGlite)", () => {
  it("holds the directory's lock until close; a second open is refused before touching it", async () => {
    const dir = join(root, "pgdata");
    const db = await openDatabase({ databaseUrl: null, dataDir: dir });
    try {
      await db.query("CREATE TABLE lock_probe (n int)");
      await expect(openDatabase({ databaseUrl: null, dataDir: dir })).rejects.toMatchObject({
        code: "STORE_DATA_DIR_LOCKED",
      });
      await db.query("INSERT INTO lock_probe VALUES (1)");
    } finally {
      await db.close();
    }
    expect(existsSync(dataDirLockPath(dir))).toBe(false);
    const again = await openDatabase({ databaseUrl: null, dataDir: dir });
    try {
      expect(await again.query("SELECT n FROM lock_probe")).toEqual([{ n: 1 }]);
    } finally {
      await again.close();
    }
  });
});
