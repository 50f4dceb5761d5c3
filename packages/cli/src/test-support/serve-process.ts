/**
 * `chaoscore serve` as a child process for the CLI's integration tests: on a
 * PGlite data directory (DATABASE_URL and CHAOSCORE_RPC_URL removed from its
 * environment), without a chain, on a free port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../../../..");
export const BIN = join(ROOT, "packages/cli/bin/chaoscore.js");

/** A running `serve`. */
export type ServeProcess = {
  readonly child: ChildProcess;
  /** The URL it printed on `LISTENING`. */
  readonly url: string;
  /** The admin key it printed (first start of a data directory only). */
  readonly adminKey: string | undefined;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
};

/** Starts `chaoscore --data-dir <dir> serve --port 0 --no-chain … <extra>`; resolves once it listens. */
export async function startServe(dir: string, extra: readonly string[]): Promise<ServeProcess> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.CHAOSCORE_RPC_URL;
  const child = spawn(
    process.execPath,
    [BIN, "--data-dir", dir, "serve", "--port", "0", "--no-chain", "--log-level", "warn", ...extra],
    { cwd: ROOT, env },
  );
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    err += String(d);
  });
  await new Promise<void>((ready, fail) => {
    const check = () => {
      if (/LISTENING (\S+)/.test(out)) return ready();
      if (child.exitCode !== null) return fail(new Error(`serve exited:\n${out}\n${err}`));
      setTimeout(check, 100);
    };
    check();
  });
  return {
    child,
    url: (/LISTENING (\S+)/.exec(out) as RegExpExecArray)[1] as string,
    adminKey: /ADMIN_KEY (\S+)/.exec(out)?.[1],
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
