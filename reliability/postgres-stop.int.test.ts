/**
 * The suite's Postgres server stops when the suite ends, also when it fails
 * or is interrupted (it was found still listening long after a run). Each
 * case runs a child process that starts a server the way `run.ts` does and
 * then ends one way; afterwards nothing may listen on the port.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");
const root = "/usr/lib/postgresql";
const hasPostgres =
  existsSync(root) && readdirSync(root).some((v) => existsSync(join(root, v, "bin", "pg_ctl")));
const port = 55_000 + Math.floor(Math.random() * 400);

async function listening(): Promise<boolean> {
  const v = readdirSync(root)
    .sort((a, b) => Number(a) - Number(b))
    .at(-1) as string;
  try {
    await run(join(root, v, "bin", "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]);
    return true;
  } catch {
    return false;
  }
}

/** Starts a server in a child process, waits until it says READY, then ends it as `how`. */
async function child(dir: string, how: "end" | "throw" | "SIGINT" | "SIGTERM") {
  const code = `
    const { startPostgres, stopPostgresOnExit } = await import(${JSON.stringify(join(ROOT, "reliability/postgres.ts"))});
    const pg = await startPostgres({ dir: ${JSON.stringify(dir)}, port: ${port} });
    stopPostgresOnExit(pg);
    console.log("READY");
    if (${JSON.stringify(how)} === "throw") throw new Error("a scenario failed");
    if (${JSON.stringify(how)} !== "end") setInterval(() => {}, 1000);
  `;
  const p = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  p.stderr.on("data", (d) => {
    stderr += String(d);
  });
  await new Promise<void>((ok, fail) => {
    p.stdout.on("data", (d) => {
      if (String(d).includes("READY")) ok();
    });
    p.on("exit", () => fail(new Error(`child ended before READY: ${stderr}`)));
  }).catch((error) => {
    if (how !== "throw" && how !== "end") throw error;
  });
  if (how === "SIGINT" || how === "SIGTERM") {
    expect(await listening()).toBe(true); // the server is up while the suite runs
    p.kill(how);
  }
  const exitCode = await new Promise<number | null>((ok) => {
    if (p.exitCode !== null) ok(p.exitCode);
    else p.on("exit", (c) => ok(c));
  });
  return { exitCode, stderr };
}

describe.skipIf(!hasPostgres)("the reliability suite's Postgres server", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "chaoscore-rel-pg-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const how of ["end", "throw", "SIGINT", "SIGTERM"] as const) {
    it(`is stopped when the suite's process ends (${how})`, async () => {
      const { exitCode } = await child(dir, how);
      if (how === "SIGINT") expect(exitCode).toBe(130);
      if (how === "SIGTERM") expect(exitCode).toBe(143);
      if (how === "throw") expect(exitCode).not.toBe(0);
      expect(await listening()).toBe(false);
    });
  }
});
