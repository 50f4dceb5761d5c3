/**
 * The staging stack without Docker: a Postgres primary and its streaming replica (Debian's
 * packages), anvil with the contracts deployed, two gateways (`chaoscore serve`, reading from
 * the replica, rotating the log into shards) and the anchoring worker (`chaoscore anchor
 * --every`, the leader), each a detached process whose data, logs and pids live under one
 * directory (default `.chaoscore/staging`). docker-compose.yml runs the same services (plus
 * the load balancer, Otterscan, Prometheus and Grafana) where a Docker engine exists. See
 * docs/deploy.md; `npm run demo -- --target staging` exercises the stack.
 *
 *   npm run staging                 # = up: start what is not running, wait for /readyz
 *   npm run staging -- status       # each service, its URL, pid and health (--json)
 *   npm run staging -- down         # stop everything; data stays
 *   npm run staging -- reset        # down, then delete the staging directory
 *
 * The services are described in staging/stack.ts (shared with docker-compose.yml through
 * staging/stack.test.ts); this file runs that description: `up` starts the entries in the order
 * of their needs and waits for their health checks, `status` asks them, `down` stops them in
 * reverse order. Writes `<dir>/stack.json` (mode 0600: it holds the admin key and the database
 * password): `{ gatewayUrl, gatewayUrls, rpcUrl, chainId, adminKey, databaseUrl,
 * replicaDatabaseUrl, explorerUrl, grafanaUrl, dataDir, pids, shardMaxEntries, … }`.
 * @module
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { postgresPassword } from "./staging/postgres.js";
import {
  context,
  isRunning,
  isService,
  probe,
  services,
  startEntry,
  stopping,
} from "./staging/run-entry.js";
import {
  assertPortFree,
  CLI,
  emptyStack,
  parseCommandLine,
  ROOT,
  readStackSync,
  type Settings,
  type StackFile,
  USAGE,
  UsageError,
  writeStack,
} from "./staging/settings.js";
import { DOCKER_ONLY, SERVICES, type Service, STACK } from "./staging/stack.js";
import {
  isAlive,
  progress,
  run,
  StagingError,
  secs,
  startOrder,
  step,
} from "./staging/supervisor.js";

const t0 = performance.now();
/** Set once `up` or `down` has started or stopped a service: failures then mention `status`. */
let touched = false;

function nodeIsRecentEnough(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  return major > 20 || (major === 20 && minor >= 19);
}

async function up(s: Settings): Promise<void> {
  if (!nodeIsRecentEnough()) {
    throw new StagingError(`Node.js ≥ 20.19 is needed, this is ${process.versions.node}`);
  }
  await step("preflight", "the chaoscore command, anvil, free ports", async () => {
    const help = await run(process.execPath, [CLI, "serve", "--help"], { cwd: ROOT });
    if (help.code !== 0 || !/--port/.test(help.stdout)) {
      throw new StagingError(
        "this checkout's chaoscore has no `serve` command (the gateway)",
        "packages/cli/src/commands/serve.ts must exist; `node packages/cli/bin/chaoscore.js serve --help` checks",
      );
    }
    const { anvilBinary } = await import("@chaoscore/chain");
    anvilBinary();
    // Every port a service will bind must be free (or held by this stack) before anything starts.
    const ctx = context(s, readStackSync(s.stackFile), "", "");
    for (const entry of services()) {
      if (entry.port === undefined || (await probe(entry, ctx)).state !== "down") continue;
      if (entry.run.kind === "daemon" && isRunning(entry, ctx)) continue;
      await assertPortFree(entry.port.of(s), entry.name, entry.port.flag);
    }
  });
  // The staging dir stays traversable (the server's own user reaches postgres/ through it, when
  // run as root); the data dir, secrets and logs are the owner's only.
  await mkdir(s.dir, { recursive: true });
  for (const dir of [s.home, s.secrets, s.logs]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }

  touched = true;
  const password = await postgresPassword(s);
  const databaseUrl = `postgres://postgres:${password}@127.0.0.1:${s.ports.postgres}/chaoscore`;
  const previous = readStackSync(s.stackFile);
  const stack: StackFile = {
    ...emptyStack(s, databaseUrl),
    ...(previous === undefined ? {} : { adminKey: previous.adminKey, pids: previous.pids }),
    startedAt: new Date().toISOString(),
  };
  await writeStack(s.stackFile, stack);
  const ctx = context(s, stack, databaseUrl, password);
  for (const entry of startOrder(STACK)) {
    const started = await step(entry.name, entry.what(s), () => startEntry(entry, ctx));
    if (isService(entry.name) && started.pid !== undefined) stack.pids[entry.name] = started.pid;
    const { adminKey, ...learned } = started.learned ?? {};
    Object.assign(stack, learned);
    if (adminKey !== undefined && adminKey !== null) stack.adminKey = adminKey;
    await writeStack(s.stackFile, stack);
    for (const line of started.after) progress(line);
  }

  const elapsed = performance.now() - t0;
  if (s.json) {
    process.stdout.write(
      `${JSON.stringify({ ...stack, upSeconds: Number((elapsed / 1000).toFixed(1)) }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(`\nstaging stack up in ${secs(elapsed)}\n\n`);
  process.stdout.write(
    `${serviceTable(stack, Object.fromEntries(SERVICES.map((x) => [x, "up"])))}\n\n`,
  );
  const lines = [
    `data:      ${relative(ROOT, s.dir)}/ (stack.json holds the admin key and the database URL; mode 0600)`,
    `admin key: ${stack.adminKey === null ? "none printed (not a first start, and none remembered)" : `${stack.adminKey.slice(0, 12)}… → jq -r .adminKey ${relative(ROOT, s.stackFile)}`}`,
    `try:       curl ${stack.gatewayUrls.map((u) => `${u}/readyz`).join(" ")}`,
    "demo:      npm run demo -- --target staging   (both gateways, a shard rotation, the replica)",
    "stop:      npm run staging -- down     (data stays; `reset` deletes it)",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

// ---- status ----------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function serviceTable(stack: StackFile, states: Record<string, string>): string {
  const rows = [["service", "state", "url", "pid"]];
  for (const entry of services()) {
    const name = entry.name as Service;
    const url = entry.shows?.(stack) ?? "";
    rows.push([name, states[name] ?? "?", url, String(stack.pids[name] ?? "-")]);
  }
  for (const [name, note] of Object.entries(DOCKER_ONLY))
    if (note !== null) rows.push([name, "-", note, "-"]);
  return table(rows);
}

async function status(s: Settings): Promise<number> {
  const stack = readStackSync(s.stackFile);
  if (stack === undefined) {
    throw new StagingError(
      `no staging stack in ${relative(ROOT, s.dir) || "."}`,
      "start one: npm run staging",
    );
  }
  const ctx = context(s, stack, stack.databaseUrl, "");
  const states: Record<string, string> = {};
  const readyz: Record<string, string> = {};
  for (const entry of services()) {
    const { state, said } = await probe(entry, ctx);
    states[entry.name] = state;
    if (said !== null) readyz[entry.name] = said;
  }
  const allUp = SERVICES.every((x) => states[x] === "up");
  if (s.json) {
    process.stdout.write(`${JSON.stringify({ ...stack, states, readyz }, null, 2)}\n`);
  } else {
    process.stdout.write(`${serviceTable(stack, states)}\n`);
    const said = Object.entries(readyz);
    if (said.length > 0) process.stdout.write("\n");
    for (const [name, body] of said) process.stdout.write(`${name} /readyz: ${body}\n`);
    const pg = [stack.logs.postgres, stack.logs["postgres-replica"]].filter((x) => x != null);
    process.stdout.write(
      `logs: ${relative(ROOT, s.logs)}/, ${pg.map((x) => relative(ROOT, x as string)).join(", ")}\n`,
    );
  }
  return allUp ? 0 : 1;
}

// ---- down, reset -----------------------------------------------------------------------------

async function down(s: Settings): Promise<void> {
  touched = true;
  const stack = readStackSync(s.stackFile);
  const ctx = context(s, stack, stack?.databaseUrl ?? "", "");
  const stopped: string[] = [];
  const failed: string[] = [];
  // The reverse of the start order: nothing writes once the worker and the gateways are gone;
  // anvil saves its state on SIGINT; the replica, then the primary last. A failure is reported and the next service
  // still stops.
  for (const entry of services().reverse()) {
    const stop = stopping(entry, ctx);
    if (stop === undefined) continue;
    const name = entry.name as Service;
    try {
      if (await step(name, stop.what, stop.stop)) stopped.push(name);
      if (stack !== undefined) stack.pids[name] = null;
    } catch (error) {
      failed.push(`${name}: ${(error as Error).message}`);
      progress(`✗ ${name}: ${(error as Error).message}`);
    }
  }
  if (stack !== undefined) {
    for (const service of SERVICES) if (!isAlive(stack.pids[service])) stack.pids[service] = null;
    stack.stoppedAt = new Date().toISOString();
    await writeStack(s.stackFile, stack);
  }
  if (failed.length > 0)
    throw new StagingError(`could not stop everything:\n  ${failed.join("\n  ")}`);
  process.stdout.write(
    stopped.length === 0
      ? "nothing was running\n"
      : `stopped ${stopped.join(", ")} in ${secs(performance.now() - t0)}; data kept in ${relative(ROOT, s.dir)}/\n`,
  );
}

async function reset(s: Settings): Promise<void> {
  const looksLikeStaging =
    existsSync(s.stackFile) ||
    existsSync(join(s.home, "config.json")) ||
    existsSync(join(s.pgdata, "PG_VERSION"));
  if (!existsSync(s.dir)) {
    process.stdout.write(`nothing to reset: ${s.dir} does not exist\n`);
    return;
  }
  if (!looksLikeStaging || s.dir === ROOT || s.dir === "/" || s.dir === process.env.HOME) {
    throw new StagingError(`${s.dir} does not look like a staging directory: not deleting it`);
  }
  await down(s);
  await step("reset", `delete ${relative(ROOT, s.dir)}/`, () =>
    rm(s.dir, { recursive: true, force: true }),
  );
  process.stdout.write(
    "reset: the next `npm run staging` starts a fresh stack (new log key, database, chain)\n",
  );
}

async function main(): Promise<number> {
  const { command, settings } = parseCommandLine(process.argv.slice(2));
  switch (command) {
    case "status":
      return status(settings);
    case "down":
      await down(settings);
      return 0;
    case "reset":
      await reset(settings);
      return 0;
    default:
      await up(settings);
      return 0;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      progress(`error: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (error instanceof StagingError) {
      progress(`✗ ${error.message}`);
      if (error.hint !== undefined) progress(`  hint: ${error.hint}`);
    } else {
      progress(`✗ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    if (touched) {
      progress(
        "  services started so far keep running: `npm run staging -- status`, `npm run staging -- down`",
      );
    }
    process.exit(1);
  },
);
