/**
 * The staging stack without Docker: a Postgres server (Debian's packages), anvil with the
 * contracts deployed, the gateway (`chaoscore serve`) and the anchoring worker (`chaoscore
 * anchor --every`), each a detached process whose data, logs and pids live under one
 * directory (default `.chaoscore/staging`). docker-compose.yml runs the same services (plus
 * Otterscan, Prometheus and Grafana) where a Docker engine exists. See docs/deploy.md.
 *
 *   npm run staging                 # = up: start what is not running, wait for /readyz
 *   npm run staging -- status       # each service, its URL, pid and health (--json)
 *   npm run staging -- down         # stop everything; data stays
 *   npm run staging -- reset        # down, then delete the staging directory
 *
 * Writes `<dir>/stack.json` (mode 0600: it holds the admin key and the database password):
 * `{ gatewayUrl, rpcUrl, chainId, adminKey, databaseUrl, explorerUrl, grafanaUrl, dataDir, pids }`.
 * @module
 */
import { type SpawnOptions, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "packages", "cli", "bin", "chaoscore.js");
const STACK_FORMAT = "chaoscore.staging/v1";
const SERVICES = ["postgres", "anvil", "gateway", "worker"] as const;
type Service = (typeof SERVICES)[number];

const USAGE = `Usage: npm run staging -- [up|status|down|reset] [options]

  up (default)  start every service that is not running, wait until the gateway's /readyz
                answers, print the services and write <dir>/stack.json
  status        each service's state, URL and pid (exit 1 when one is down)
  down          stop the worker, the gateway, anvil and Postgres; the data stays
  reset         down, then delete <dir> (database, chain, keys, logs)

Options (and environment variables):
  --dir <dir>             staging directory      CHAOSCORE_STAGING_DIR     .chaoscore/staging
  --port <n>              gateway port           CHAOSCORE_STAGING_PORT    8787
  --rpc-port <n>          anvil port             CHAOSCORE_STAGING_RPC_PORT 8545
  --pg-port <n>           Postgres port          CHAOSCORE_STAGING_PG_PORT 55433
  --anchor-every <s>      worker interval, s     CHAOSCORE_STAGING_ANCHOR_EVERY 10
  --block-time <s>        anvil block time, s    CHAOSCORE_STAGING_BLOCK_TIME 1
  --json                  status/up: print stack.json-like JSON
  CHAOSCORE_PASSWORD      agent keystore password (default: generated into <dir>/secrets)
Ports given once are remembered in stack.json.`;

/** `<dir>/stack.json`. */
type StackFile = {
  format: typeof STACK_FORMAT;
  gatewayUrl: string;
  rpcUrl: string;
  chainId: string;
  adminKey: string | null;
  databaseUrl: string;
  explorerUrl: string | null;
  grafanaUrl: string | null;
  /** The chaoscore data directory (CHAOSCORE_HOME of every service). */
  dataDir: string;
  pids: Record<Service, number | null>;
  ports: { postgres: number; anvil: number; gateway: number };
  anchorEverySeconds: number;
  blockTimeSeconds: number;
  /** Output of each service (anvil's is discarded by `chain up --detach`). */
  logs: { postgres: string; anvil: null; gateway: string; worker: string };
  startedAt: string | null;
  stoppedAt: string | null;
};

/** A failure with a hint for the operator; printed without a stack. */
class StagingError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "StagingError";
  }
}

/** A bad command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

// ---- output ----------------------------------------------------------------------------------

const t0 = performance.now();
/** Set once `up` or `down` has started or stopped a service: failures then mention `status`. */
let touched = false;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Runs one step of `up`/`down`, printing its start and its duration. */
async function step<T>(name: string, what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  progress(`• ${name}: ${what}`);
  const result = await fn();
  progress(`✓ ${name}: done in ${secs(performance.now() - t)}`);
  return result;
}

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

/** The database URL with its password replaced, for printing. */
function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

// ---- settings --------------------------------------------------------------------------------

type Settings = {
  dir: string;
  home: string;
  pgdata: string;
  secrets: string;
  logs: string;
  stackFile: string;
  ports: StackFile["ports"];
  anchorEverySeconds: number;
  blockTimeSeconds: number;
  json: boolean;
};

function intSetting(
  name: string,
  flag: string | undefined,
  env: string,
  remembered: number | undefined,
  fallback: number,
): number {
  const text = flag ?? process.env[env];
  if (text === undefined || text === "") return remembered ?? fallback;
  if (!/^[1-9][0-9]{0,4}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${name} must be an integer from 1 to 65535, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function parseCommandLine(argv: string[]): { command: string; settings: Settings } {
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: "string" },
        port: { type: "string" },
        "rpc-port": { type: "string" },
        "pg-port": { type: "string" },
        "anchor-every": { type: "string" },
        "block-time": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (positionals.length > 1)
    throw new UsageError(`one command at a time, not ${positionals.join(" ")}`);
  const command = positionals[0] ?? "up";
  if (!["up", "status", "down", "reset"].includes(command)) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
  const dir = resolve(
    ROOT,
    values.dir ?? (process.env.CHAOSCORE_STAGING_DIR || join(".chaoscore", "staging")),
  );
  const remembered = readStackSync(join(dir, "stack.json"));
  return {
    command,
    settings: {
      dir,
      home: join(dir, "home"),
      pgdata: join(dir, "postgres"),
      secrets: join(dir, "secrets"),
      logs: join(dir, "logs"),
      stackFile: join(dir, "stack.json"),
      ports: {
        gateway: intSetting(
          "--port",
          values.port,
          "CHAOSCORE_STAGING_PORT",
          remembered?.ports.gateway,
          8787,
        ),
        anvil: intSetting(
          "--rpc-port",
          values["rpc-port"],
          "CHAOSCORE_STAGING_RPC_PORT",
          remembered?.ports.anvil,
          8545,
        ),
        postgres: intSetting(
          "--pg-port",
          values["pg-port"],
          "CHAOSCORE_STAGING_PG_PORT",
          remembered?.ports.postgres,
          55433,
        ),
      },
      anchorEverySeconds: intSetting(
        "--anchor-every",
        values["anchor-every"],
        "CHAOSCORE_STAGING_ANCHOR_EVERY",
        remembered?.anchorEverySeconds,
        10,
      ),
      blockTimeSeconds: intSetting(
        "--block-time",
        values["block-time"],
        "CHAOSCORE_STAGING_BLOCK_TIME",
        remembered?.blockTimeSeconds,
        1,
      ),
      json: values.json === true,
    },
  };
}

// ---- stack.json ------------------------------------------------------------------------------

function readStackSync(path: string): StackFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<StackFile>;
    if (value.format !== STACK_FORMAT || typeof value.ports !== "object") return undefined;
    return value as StackFile;
  } catch {
    throw new StagingError(`${path} is not valid JSON`, "fix it or run `npm run staging -- reset`");
  }
}

async function writeStack(path: string, stack: StackFile): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

function emptyStack(s: Settings, databaseUrl: string): StackFile {
  return {
    format: STACK_FORMAT,
    gatewayUrl: `http://127.0.0.1:${s.ports.gateway}`,
    rpcUrl: `http://127.0.0.1:${s.ports.anvil}`,
    chainId: "31337",
    adminKey: null,
    databaseUrl,
    explorerUrl: null,
    grafanaUrl: null,
    dataDir: s.home,
    pids: { postgres: null, anvil: null, gateway: null, worker: null },
    ports: s.ports,
    anchorEverySeconds: s.anchorEverySeconds,
    blockTimeSeconds: s.blockTimeSeconds,
    logs: {
      postgres: join(s.pgdata, "server.log"),
      anvil: null,
      gateway: join(s.logs, "gateway.log"),
      worker: join(s.logs, "worker.log"),
    },
    startedAt: null,
    stoppedAt: null,
  };
}

// ---- processes -------------------------------------------------------------------------------

/** True when a process with this pid exists (EPERM: it exists, owned by someone else). */
function isAlive(pid: number | null): pid is number {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command line of a pid (Linux /proc), or undefined where there is none. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and (where /proc exists) still runs what we started. */
function isOurs(pid: number | null, marker: string): pid is number {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd === undefined || cmd.includes(marker);
}

/** Stops a process we started: `signal`, then SIGKILL after `graceMs`. */
async function stopPid(pid: number, signal: NodeJS.Signals, graceMs = 15_000): Promise<boolean> {
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

type RunResult = { code: number; stdout: string; stderr: string };

/** Runs a command to completion, capturing its output. */
function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
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

function tail(text: string, lines = 12): string {
  return text
    .trimEnd()
    .split("\n")
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join("\n");
}

/** The environment of the chaoscore commands: this stack's data dir and database, no other chain. */
function cliEnv(s: Settings, databaseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHAOSCORE_HOME: s.home,
    DATABASE_URL: databaseUrl,
  };
  // The stack's chain is its own anvil (home/chain.json), whatever the shell points at.
  delete env.CHAOSCORE_RPC_URL;
  delete env.CHAOSCORE_KEYSTORE;
  delete env.CHAOSCORE_CHAIN_ID;
  return env;
}

/** Runs `chaoscore …` and fails with its error output when it exits non-zero. */
async function chaoscore(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(process.execPath, [CLI, ...args], { env, cwd: ROOT });
  if (result.code !== 0) {
    throw new StagingError(
      `\`chaoscore ${args.join(" ")}\` failed (exit ${result.code}):\n${tail(result.stderr || result.stdout)}`,
    );
  }
  return result.stdout;
}

/** Starts `chaoscore …` detached, its output appended to `log` (mode 0600); returns its pid. */
function spawnDetached(args: string[], env: NodeJS.ProcessEnv, log: string): number {
  const fd = openSync(log, "a", 0o600);
  try {
    const child = spawn(process.execPath, [CLI, ...args], {
      env,
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new StagingError(`could not start chaoscore ${args[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readFrom(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString("utf8");
  } catch {
    return "";
  }
}

/** True when nothing listens on 127.0.0.1:port. */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once("error", () => resolvePromise(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(true)));
  });
}

async function assertPortFree(port: number, service: string, flag: string): Promise<void> {
  if (await isPortFree(port)) return;
  throw new StagingError(
    `port ${port} (${service}) is busy: another process listens on 127.0.0.1:${port}`,
    `stop it (\`ss -ltnp 'sport = :${port}'\` shows which), or pick another port: npm run staging -- up ${flag} <port>`,
  );
}

async function httpGet(
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

async function rpcAnswers(url: string): Promise<boolean> {
  const { rpcAnswers: answers } = await import("@chaoscore/chain");
  return answers(url);
}

// ---- Postgres --------------------------------------------------------------------------------

const isRoot = process.getuid?.() === 0;

/** The directory of initdb/pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, else the PATH. */
function postgresBinDir(): string | undefined {
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
async function ensurePostgresInstalled(): Promise<string> {
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

/** Runs a server binary as the owner of the data directory (the server refuses root). */
function asPostgres(bin: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

function postmasterPid(pgdata: string): number | null {
  try {
    const pid = Number(readFileSync(join(pgdata, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function pgIsReady(bindir: string, port: number): Promise<boolean> {
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
async function postgresPassword(s: Settings): Promise<string> {
  const file = join(s.secrets, "postgres-password");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function startPostgres(s: Settings, databaseUrl: string, password: string): Promise<number> {
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
      `Postgres did not start:\n${tail(started.stdout + started.stderr)}\n${tail(readFrom(join(s.pgdata, "server.log"), 0))}`,
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

async function stopPostgres(s: Settings): Promise<boolean> {
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

// ---- the chaoscore services ------------------------------------------------------------------

type ChainFile = { rpcUrl: string; chainId: string; pid: number | null };

function readChainFile(s: Settings): ChainFile | undefined {
  try {
    return JSON.parse(readFileSync(join(s.home, "chain.json"), "utf8")) as ChainFile;
  } catch {
    return undefined;
  }
}

/** The keystore password: CHAOSCORE_PASSWORD, else one generated into <dir>/secrets. */
async function keystorePassword(s: Settings): Promise<string> {
  const fromEnv = process.env.CHAOSCORE_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const file = join(s.secrets, "keystore-password");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  progress(
    `  CHAOSCORE_PASSWORD is not set: the agent keystore password is in ${relative(ROOT, file)}`,
  );
  return password;
}

async function initOrMigrate(s: Settings, env: NodeJS.ProcessEnv): Promise<void> {
  if (existsSync(join(s.home, "config.json"))) {
    // No separate migrate command: opening the database applies the missing migrations.
    const status = JSON.parse(await chaoscore(["log", "status", "--json"], env)) as {
      size?: number;
    };
    progress(
      `  ${relative(ROOT, s.home)} is initialized; database migrated, log size ${status.size ?? "?"}`,
    );
    return;
  }
  const password = await keystorePassword(s);
  const result = JSON.parse(
    await chaoscore(["init", "--json"], { ...env, CHAOSCORE_PASSWORD: password }),
  ) as { config: { log: { verifierKey: string } }; key: { address: string } };
  progress(`  initialized ${relative(ROOT, s.home)}: log key, agent key ${result.key.address}`);
  progress(`  log verifier key: ${result.config.log.verifierKey}`);
}

async function startAnvil(
  s: Settings,
  env: NodeJS.ProcessEnv,
): Promise<{ pid: number; rpcUrl: string; chainId: string }> {
  const existing = readChainFile(s);
  if (existing !== undefined && (await rpcAnswers(existing.rpcUrl))) {
    if (existing.pid === null)
      throw new StagingError(`${existing.rpcUrl} answers but chain.json has no pid`);
    progress(
      `  already running at ${existing.rpcUrl} (pid ${existing.pid}); checking the contracts`,
    );
    await chaoscore(["chain", "deploy"], env);
    return { pid: existing.pid, rpcUrl: existing.rpcUrl, chainId: existing.chainId };
  }
  await assertPortFree(s.ports.anvil, "anvil", "--rpc-port");
  const out = JSON.parse(
    await chaoscore(
      [
        "chain",
        "up",
        "--detach",
        "--port",
        String(s.ports.anvil),
        "--block-time",
        String(s.blockTimeSeconds),
        "--json",
      ],
      env,
    ),
  ) as ChainFile & {
    deployed: boolean;
    deployments: { contracts: Record<string, { address: string }> };
  };
  if (out.pid === null) throw new StagingError("`chaoscore chain up --detach` reported no pid");
  progress(
    `  ${out.rpcUrl}, chain ${out.chainId}, pid ${out.pid}; contracts ${out.deployed ? "deployed" : "already deployed"}: ${Object.entries(
      out.deployments.contracts,
    )
      .map(([name, c]) => `${name} ${c.address}`)
      .join(", ")}`,
  );
  return { pid: out.pid, rpcUrl: out.rpcUrl, chainId: out.chainId };
}

async function stopAnvil(
  s: Settings,
  stack: StackFile | undefined,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const file = readChainFile(s);
  if (file !== undefined) {
    // SIGINT through `chain down`: anvil saves its state to home/anvil-state.json.
    const out = JSON.parse(await chaoscore(["chain", "down", "--json"], env)) as {
      stopped: boolean;
    };
    return out.stopped;
  }
  const pid = stack?.pids.anvil ?? null;
  if (!isOurs(pid, "anvil")) return false;
  return stopPid(pid, "SIGINT");
}

async function startGateway(
  s: Settings,
  env: NodeJS.ProcessEnv,
  stack: StackFile,
): Promise<{ pid: number; adminKey: string | null; readyz: string }> {
  const url = stack.gatewayUrl;
  const log = stack.logs.gateway;
  let pid = stack.pids.gateway;
  let adminKey: string | null = null;
  if (isOurs(pid, "serve") && (await httpGet(`${url}/healthz`)) !== undefined) {
    progress(`  already running at ${url} (pid ${pid})`);
  } else {
    await assertPortFree(s.ports.gateway, "gateway", "--port");
    const offset = fileSize(log);
    pid = spawnDetached(
      [
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        String(s.ports.gateway),
        // DATABASE_URL comes through the environment: a command line is visible to every
        // local user (ps), a process's environment only to its owner.
        // The worker anchors; the gateway only reads the anchors (receipts, lag metrics).
        "--anchor-every",
        "0",
      ],
      env,
      log,
    );
    progress(`  pid ${pid}, log ${relative(ROOT, log)}; waiting for LISTENING`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const text = readFrom(log, offset);
      const listening = /^LISTENING (\S+)/m.exec(text);
      adminKey = /^ADMIN_KEY (cck_\S+)/m.exec(text)?.[1] ?? adminKey;
      if (listening !== null) {
        progress(`  listening at ${listening[1]}`);
        break;
      }
      if (!isAlive(pid)) {
        throw new StagingError(`the gateway exited on start:\n${tail(text)}`, `see ${log}`);
      }
      if (Date.now() > deadline) {
        throw new StagingError(
          `the gateway printed no LISTENING line in 120 s:\n${tail(text)}`,
          `see ${log}`,
        );
      }
      await sleep(100);
    }
  }
  const deadline = Date.now() + 60_000;
  let last: { status: number; body: string } | undefined;
  for (;;) {
    last = await httpGet(`${url}/readyz`);
    if (last?.status === 200) break;
    if (!isAlive(pid))
      throw new StagingError(`the gateway exited:\n${tail(readFrom(log, 0))}`, `see ${log}`);
    if (Date.now() > deadline) {
      throw new StagingError(
        `${url}/readyz did not answer 200 in 60 s (last: ${last === undefined ? "no answer" : `${last.status} ${last.body}`})`,
        `see ${log}`,
      );
    }
    await sleep(250);
  }
  return { pid, adminKey, readyz: last.body };
}

async function startWorker(s: Settings, env: NodeJS.ProcessEnv, stack: StackFile): Promise<number> {
  const log = stack.logs.worker;
  const running = stack.pids.worker;
  if (isOurs(running, "anchor")) {
    progress(`  already running (pid ${running})`);
    return running;
  }
  const offset = fileSize(log);
  const pid = spawnDetached(["anchor", "--every", String(s.anchorEverySeconds)], env, log);
  progress(`  pid ${pid}, log ${relative(ROOT, log)}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = readFrom(log, offset);
    if (/anchoring every/.test(text)) return pid;
    if (!isAlive(pid))
      throw new StagingError(`the anchoring worker exited:\n${tail(text)}`, `see ${log}`);
    if (Date.now() > deadline) {
      throw new StagingError(
        `the anchoring worker did not start in 60 s:\n${tail(text)}`,
        `see ${log}`,
      );
    }
    await sleep(100);
  }
}

// ---- commands --------------------------------------------------------------------------------

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
    const previous = readStackSync(s.stackFile);
    const chain = readChainFile(s);
    if (!isAlive(postmasterPid(s.pgdata))) {
      await assertPortFree(s.ports.postgres, "Postgres", "--pg-port");
    }
    if (chain === undefined || !(await rpcAnswers(chain.rpcUrl))) {
      await assertPortFree(s.ports.anvil, "anvil", "--rpc-port");
    }
    if (!isOurs(previous?.pids.gateway ?? null, "serve")) {
      await assertPortFree(s.ports.gateway, "gateway", "--port");
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
  const save = () => writeStack(s.stackFile, stack);
  await save();
  const env = cliEnv(s, databaseUrl);

  stack.pids.postgres = await step("postgres", `server on 127.0.0.1:${s.ports.postgres}`, () =>
    startPostgres(s, databaseUrl, password),
  );
  await save();
  await step("database", "chaoscore init (first run) or migrate", () => initOrMigrate(s, env));
  const chain = await step(
    "anvil",
    `local chain on 127.0.0.1:${s.ports.anvil} (block every ${s.blockTimeSeconds} s), contracts`,
    () => startAnvil(s, env),
  );
  stack.pids.anvil = chain.pid;
  stack.rpcUrl = chain.rpcUrl;
  stack.chainId = chain.chainId;
  await save();
  const gateway = await step(
    "gateway",
    `chaoscore serve on ${stack.gatewayUrl}, wait for /readyz`,
    () => startGateway(s, env, stack),
  );
  stack.pids.gateway = gateway.pid;
  if (gateway.adminKey !== null) stack.adminKey = gateway.adminKey;
  await save();
  progress(`  /readyz: ${gateway.readyz.trim()}`);
  stack.pids.worker = await step("worker", `chaoscore anchor --every ${s.anchorEverySeconds}`, () =>
    startWorker(s, env, stack),
  );
  await save();

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
    `try:       curl ${stack.gatewayUrl}/readyz`,
    "stop:      npm run staging -- down     (data stays; `reset` deletes it)",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

function serviceTable(stack: StackFile, states: Record<string, string>): string {
  const rows = [
    ["service", "state", "url", "pid"],
    [
      "postgres",
      states.postgres ?? "?",
      redactUrl(stack.databaseUrl),
      String(stack.pids.postgres ?? "-"),
    ],
    [
      "anvil",
      states.anvil ?? "?",
      `${stack.rpcUrl} (chain ${stack.chainId})`,
      String(stack.pids.anvil ?? "-"),
    ],
    ["gateway", states.gateway ?? "?", stack.gatewayUrl, String(stack.pids.gateway ?? "-")],
    [
      "worker",
      states.worker ?? "?",
      `anchors every ${stack.anchorEverySeconds} s`,
      String(stack.pids.worker ?? "-"),
    ],
    ["explorer", "-", "docker compose only (Otterscan)", "-"],
    ["grafana", "-", "docker compose only", "-"],
  ];
  return table(rows);
}

async function serviceStates(
  s: Settings,
  stack: StackFile,
): Promise<{ states: Record<Service, string>; readyz: string | null }> {
  const bindir = postgresBinDir();
  const pg =
    isAlive(postmasterPid(s.pgdata)) &&
    bindir !== undefined &&
    (await pgIsReady(bindir, stack.ports.postgres));
  const chain = readChainFile(s);
  const anvil = chain !== undefined && (await rpcAnswers(chain.rpcUrl));
  const ready = isOurs(stack.pids.gateway, "serve")
    ? await httpGet(`${stack.gatewayUrl}/readyz`)
    : undefined;
  const gateway =
    ready === undefined ? "down" : ready.status === 200 ? "up" : `not ready (${ready.status})`;
  return {
    states: {
      postgres: pg ? "up" : "down",
      anvil: anvil ? "up" : "down",
      gateway,
      worker: isOurs(stack.pids.worker, "anchor") ? "up" : "down",
    },
    readyz: ready?.body.trim() ?? null,
  };
}

async function status(s: Settings): Promise<number> {
  const stack = readStackSync(s.stackFile);
  if (stack === undefined) {
    throw new StagingError(
      `no staging stack in ${relative(ROOT, s.dir) || "."}`,
      "start one: npm run staging",
    );
  }
  const { states, readyz } = await serviceStates(s, stack);
  const allUp = SERVICES.every((x) => states[x] === "up");
  if (s.json) {
    process.stdout.write(`${JSON.stringify({ ...stack, states, readyz }, null, 2)}\n`);
  } else {
    process.stdout.write(`${serviceTable(stack, states)}\n`);
    if (readyz !== null) process.stdout.write(`\n/readyz: ${readyz}\n`);
    process.stdout.write(
      `logs: ${relative(ROOT, s.logs)}/, ${relative(ROOT, stack.logs.postgres)}\n`,
    );
  }
  return allUp ? 0 : 1;
}

async function down(s: Settings): Promise<void> {
  touched = true;
  const stack = readStackSync(s.stackFile);
  const env = cliEnv(s, stack?.databaseUrl ?? "");
  const stopped: string[] = [];
  const failed: string[] = [];
  // In this order: nothing writes once the worker and the gateway are gone; anvil saves its
  // state on SIGINT; Postgres last. A failure is reported and the next service still stops.
  const stop = async (service: Service, what: string, fn: () => Promise<boolean>) => {
    try {
      if (await step(service, what, fn)) stopped.push(service);
      if (stack !== undefined) stack.pids[service] = null;
    } catch (error) {
      failed.push(`${service}: ${(error as Error).message}`);
      progress(`✗ ${service}: ${(error as Error).message}`);
    }
  };
  const worker = stack?.pids.worker ?? null;
  if (isOurs(worker, "anchor"))
    await stop("worker", `stop pid ${worker}`, () => stopPid(worker, "SIGTERM"));
  const gateway = stack?.pids.gateway ?? null;
  if (isOurs(gateway, "serve"))
    await stop("gateway", `stop pid ${gateway}`, () => stopPid(gateway, "SIGTERM"));
  if (readChainFile(s) !== undefined || isOurs(stack?.pids.anvil ?? null, "anvil")) {
    await stop("anvil", "stop (state saved)", () => stopAnvil(s, stack, env));
  }
  if (isAlive(postmasterPid(s.pgdata)))
    await stop("postgres", "pg_ctl stop -m fast", () => stopPostgres(s));
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
