/**
 * Process supervision for the staging stack, with nothing in it about ChaosCore: start a
 * detached process with its output in a log file, wait until it is ready (a line in its log,
 * an HTTP path answering 200), tell whether a recorded pid is still the process we started,
 * stop it, and order services by what they need. The services themselves are described in
 * ./stack.ts.
 *
 * Why not a library: the process managers for Node (pm2, forever) are daemons of their own
 * that would have to be installed, started and stopped beside the stack, and keep their own
 * state; the stack has to outlive the command that starts it and be found again from its pids
 * in `stack.json`. What that needs is the few functions here, on Node's built-ins.
 * @module
 */
import { type SpawnOptions, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A failure with a hint for the operator; printed without a stack. */
export class StagingError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "StagingError";
  }
}

// ---- output ----------------------------------------------------------------------------------

/** `1.5 s`. */
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** Progress goes to stderr; results to stdout. */
export const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Runs one step, printing its start and its duration. */
export async function step<T>(name: string, what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  progress(`• ${name}: ${what}`);
  const result = await fn();
  progress(`✓ ${name}: done in ${secs(performance.now() - t)}`);
  return result;
}

/** The last `lines` lines of `text`, indented, for an error message. */
export function tail(text: string, lines = 12): string {
  return text
    .trimEnd()
    .split("\n")
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join("\n");
}

// ---- processes -------------------------------------------------------------------------------

/** True when a process with this pid exists (EPERM: it exists, owned by someone else). */
export function isAlive(pid: number | null | undefined): pid is number {
  if (pid === null || pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `pid` is alive and (where /proc exists) its command line still contains `marker`. */
export function isOurs(pid: number | null | undefined, marker: string): pid is number {
  if (!isAlive(pid)) return false;
  let cmd: string;
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return true; // no /proc here: the pid is all we can go by
  }
  return cmd.includes(marker);
}

/** Stops a process we started: `signal`, then SIGKILL after `graceMs`. False when it was gone. */
export async function stopPid(
  pid: number,
  signal: NodeJS.Signals,
  graceMs = 15_000,
): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    progress(`  pid ${pid} did not stop in ${secs(graceMs)}: SIGKILL`);
    process.kill(pid, "SIGKILL");
  }
  return true;
}

/** What a command printed and how it exited. */
export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs a command to completion, capturing its output. */
export function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });
}

/** Starts a detached process that outlives us, its output appended to `log` (mode 0600). */
export function spawnDetached(
  cmd: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; log: string },
): number {
  const fd = openSync(options.log, "a", 0o600);
  try {
    const child = spawn(cmd, args, {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new StagingError(`could not start ${args[0] ?? cmd}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** What has been appended to `path` since this call (the whole file is read each time). */
export function followLog(path: string): () => string {
  let offset = 0;
  try {
    offset = statSync(path).size;
  } catch {}
  return () => {
    try {
      return readFileSync(path).subarray(offset).toString("utf8");
    } catch {
      return "";
    }
  };
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined, and fails with
 * `failure(reason)` when `alive()` turns false or after `timeoutMs`.
 */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  options: {
    timeoutMs: number;
    intervalMs: number;
    alive: () => boolean;
    failure: (reason: "exited" | "timeout") => Error;
  },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (!options.alive()) throw options.failure("exited");
    if (Date.now() > deadline) throw options.failure("timeout");
    await sleep(options.intervalMs);
  }
}

// ---- network ---------------------------------------------------------------------------------

/** True when nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once("error", () => resolvePromise(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(true)));
  });
}

/** GET `url`: its status and body, or undefined when nothing answers in `timeoutMs`. */
export async function httpGet(
  url: string,
  timeoutMs = 2_000,
): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

// ---- dependencies ----------------------------------------------------------------------------

/**
 * `services` in an order where each comes after everything it `needs` (ties keep the given
 * order); stopping goes the other way round.
 * @throws when a service needs an unknown service, or the needs form a cycle
 */
export function startOrder<T extends { name: string; needs: readonly string[] }>(
  services: readonly T[],
): T[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const ordered: T[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (service: T, path: string[]) => {
    if (state.get(service.name) === "done") return;
    if (state.get(service.name) === "visiting") {
      throw new Error(`the services' needs form a cycle: ${[...path, service.name].join(" → ")}`);
    }
    state.set(service.name, "visiting");
    for (const need of service.needs) {
      const dependency = byName.get(need);
      if (dependency === undefined) throw new Error(`${service.name} needs unknown ${need}`);
      visit(dependency, [...path, service.name]);
    }
    state.set(service.name, "done");
    ordered.push(service);
  };
  for (const service of services) visit(service, []);
  return ordered;
}
