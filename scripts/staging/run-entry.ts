/**
 * Runs the entries of the stack's description (./stack.ts): whether one is running, its state
 * from its health checks, starting it (a task, a managed service, or a detached `chaoscore`
 * daemon waited for through its log and HTTP checks), and how to stop it.
 * @module
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { readChainFile, rpcAnswers } from "./chaoscore-cli.js";
import { pgIsReady, postgresBinDir } from "./postgres.js";
import {
  assertPortFree,
  CLI,
  ROOT,
  replicaUrlOf,
  type Settings,
  type StackFile,
} from "./settings.js";
import {
  chaoscoreEnv,
  type HealthCheck,
  SERVICES,
  type Service,
  STACK,
  type StackContext,
  type StackEntry,
} from "./stack.js";
import {
  followLog,
  httpGet,
  isAlive,
  isOurs,
  progress,
  run,
  StagingError,
  spawnDetached,
  startOrder,
  stopPid,
  tail,
  waitFor,
} from "./supervisor.js";

/** True for the long-running entries (the keys of `stack.json`'s pids). */
export const isService = (name: string): name is Service =>
  (SERVICES as readonly string[]).includes(name);
/** The long-running entries in start order. */
export const services = () => startOrder(STACK).filter((e) => isService(e.name));
const baseUrl = (entry: StackEntry, s: Settings) => `http://127.0.0.1:${entry.port?.of(s)}`;

// ---- health ----------------------------------------------------------------------------------

/** Whether `entry` has a process that is (or may be) its own. */
export function isRunning(entry: StackEntry, ctx: StackContext): boolean {
  const { run: how } = entry;
  if (how.kind === "task") return false;
  if (how.kind === "managed") return how.isRunning(ctx);
  return isOurs(ctx.stack?.pids[entry.name as Service], how.marker);
}

/** A service's state: `up`, `down`, or `not ready (<status>)`, and what its HTTP check said. */
export async function probe(
  entry: StackEntry,
  ctx: StackContext,
): Promise<{ state: string; said: string | null }> {
  if (!isRunning(entry, ctx)) return { state: "down", said: null };
  const s = ctx.settings;
  for (const check of entry.health) {
    if (check.kind === "pg_isready") {
      const bindir = postgresBinDir();
      const port = entry.port?.of(s) ?? s.ports.postgres;
      if (bindir === undefined || !(await pgIsReady(bindir, port)))
        return { state: "down", said: null };
    } else if (check.kind === "eth_chainId") {
      const chain = readChainFile(s);
      if (chain === undefined || !(await rpcAnswers(chain.rpcUrl)))
        return { state: "down", said: null };
    } else if (check.kind === "http") {
      const answer = await httpGet(`${baseUrl(entry, s)}${check.path}`);
      if (answer === undefined) return { state: "down", said: null };
      const said = answer.body.trim();
      if (answer.status !== 200) return { state: `not ready (${answer.status})`, said };
      return { state: "up", said };
    }
  }
  return { state: "up", said: null };
}

// ---- up --------------------------------------------------------------------------------------

/** What starting an entry gave: its pid, what `stack.json` learns, lines to print after its step. */
export type Started = { pid?: number; learned?: Partial<StackFile>; after: string[] };

/** Starts a daemon entry (or keeps it running) and waits for its health checks. */
async function startDaemon(entry: StackEntry, ctx: StackContext): Promise<Started> {
  const { run: daemon } = entry;
  if (daemon.kind !== "daemon" || ctx.stack === undefined) throw new Error("not a daemon");
  const s = ctx.settings;
  const log = ctx.stack.logs[entry.name as Service];
  if (log === null || log === undefined) throw new Error(`no log file for ${entry.name}`);
  const url = baseUrl(entry, s);
  const seeLog = `see ${log}`;
  let pid = ctx.stack.pids[entry.name as Service];
  const learned: Partial<StackFile> = {};
  const after: string[] = [];
  const kept =
    isOurs(pid, daemon.marker) &&
    (daemon.answers === undefined || (await httpGet(`${url}${daemon.answers}`)) !== undefined);
  let checks: readonly HealthCheck[] = entry.health;
  if (kept) {
    progress(`  already running${daemon.answers === undefined ? "" : ` at ${url}`} (pid ${pid})`);
    checks = checks.filter((c) => c.kind !== "log"); // its start-up lines are behind us
  } else {
    if (entry.port !== undefined)
      await assertPortFree(entry.port.of(s), entry.name, entry.port.flag);
    const output = followLog(log);
    const args = await withoutMissingFlags(entry.title, daemon.args(s), daemon.optionalFlags);
    const started = spawnDetached(process.execPath, [CLI, ...args], {
      env: { ...ctx.env, ...daemon.env?.(ctx) },
      cwd: ROOT,
      log,
    });
    pid = started;
    const first = checks[0];
    progress(
      `  pid ${pid}, log ${relative(ROOT, log)}${first?.kind === "log" ? `; waiting for ${first.what}` : ""}`,
    );
    for (const check of checks) {
      if (check.kind !== "log") continue;
      const match = await waitFor(
        () => {
          const text = output();
          const key = daemon.capture?.adminKey.exec(text)?.[1];
          if (key !== undefined) learned.adminKey = key;
          return check.line.exec(text) ?? undefined;
        },
        {
          timeoutMs: check.withinSeconds * 1000,
          intervalMs: 100,
          alive: () => isAlive(started),
          failure: (why) =>
            new StagingError(
              why === "exited"
                ? `${entry.title} exited on start:\n${tail(output())}`
                : `${entry.title} printed no ${check.what} line in ${check.withinSeconds} s:\n${tail(output())}`,
              seeLog,
            ),
        },
      );
      if (check.says !== undefined) progress(`  ${check.says} ${match[1]}`);
    }
  }
  const running = pid as number;
  for (const check of checks) {
    if (check.kind !== "http") continue;
    let last: { status: number; body: string } | undefined;
    const body = await waitFor(
      async () => {
        last = await httpGet(`${url}${check.path}`);
        return last?.status === 200 ? last.body : undefined;
      },
      {
        timeoutMs: check.withinSeconds * 1000,
        intervalMs: 250,
        alive: () => isAlive(running),
        failure: (why) =>
          new StagingError(
            why === "exited"
              ? `${entry.title} exited:\n${tail(readLog(log))}`
              : `${url}${check.path} did not answer 200 in ${check.withinSeconds} s (last: ${last === undefined ? "no answer" : `${last.status} ${last.body}`})`,
            seeLog,
          ),
      },
    );
    after.push(`  ${check.path}: ${body.trim()}`);
  }
  return { pid: running, learned, after };
}

const helpTexts = new Map<string, Promise<string>>();

/**
 * `args` without those of `optional` that `chaoscore <args[0]> --help` does not list (each
 * with the value after it), saying so: the stack still starts on a checkout that lacks them.
 */
async function withoutMissingFlags(
  title: string,
  args: string[],
  optional: readonly string[] = [],
): Promise<string[]> {
  if (optional.length === 0) return args;
  const sub = args[0] as string;
  let help = helpTexts.get(sub);
  if (help === undefined) {
    help = run(process.execPath, [CLI, sub, "--help"], { cwd: ROOT }).then((r) => r.stdout);
    helpTexts.set(sub, help);
  }
  const text = await help;
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    if (optional.includes(word) && !new RegExp(`${word}\\b`).test(text)) {
      progress(
        `  ⚠ this checkout's \`chaoscore ${sub}\` has no ${word}: ${title} starts without \`${word} ${args[i + 1]}\``,
      );
      i++;
      continue;
    }
    kept.push(word);
  }
  return kept;
}

/** The whole of a log file ("" when there is none). */
function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Starts `entry` (or keeps it when it runs) and waits for its health checks. */
export async function startEntry(entry: StackEntry, ctx: StackContext): Promise<Started> {
  const { run: how } = entry;
  if (how.kind === "task") {
    await how.run(ctx);
    return { after: [] };
  }
  if (how.kind === "managed") return { ...(await how.start(ctx)), after: [] };
  return startDaemon(entry, ctx);
}

/** The context every entry runs with. */
export function context(
  settings: Settings,
  stack: StackFile | undefined,
  databaseUrl: string,
  password: string,
): StackContext {
  return {
    settings,
    stack,
    databaseUrl,
    replicaUrl: replicaUrlOf(databaseUrl, settings.ports.replica),
    password,
    env: chaoscoreEnv(settings, databaseUrl),
  };
}

/** How `down` stops `entry`: the step's text and the stop; undefined when nothing runs. */
export function stopping(
  entry: StackEntry,
  ctx: StackContext,
): { what: string; stop: () => Promise<boolean> } | undefined {
  const { run: how } = entry;
  if (how.kind === "task" || !isRunning(entry, ctx)) return undefined;
  if (how.kind === "managed") return { what: how.stopping, stop: () => how.stop(ctx) };
  const pid = ctx.stack?.pids[entry.name as Service] as number;
  return { what: `stop pid ${pid}`, stop: () => stopPid(pid, how.stopSignal) };
}
