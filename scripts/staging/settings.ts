/**
 * The staging script's settings (command line, environment, what `stack.json` remembers) and
 * `<dir>/stack.json`, the record of what `up` started.
 * @module
 */
import { readFileSync } from "node:fs";
import { chmod, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Service } from "./stack.js";
import { isPortFree, StagingError } from "./supervisor.js";

/** The repository's root. */
export const ROOT = resolve(import.meta.dirname, "..", "..");
/** The `chaoscore` command of this checkout. */
export const CLI = join(ROOT, "packages", "cli", "bin", "chaoscore.js");
const STACK_FORMAT = "chaoscore.staging/v1";

/** `npm run staging -- --help`. */
export const USAGE = `Usage: npm run staging -- [up|status|down|reset] [options]

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
export type StackFile = {
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

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** What `up`, `status`, `down` and `reset` work with. */
export type Settings = {
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

/** Parses `npm run staging -- [command] [options]`; prints the usage and exits on --help. */
export function parseCommandLine(argv: string[]): { command: string; settings: Settings } {
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
  const int = (
    flag: "port" | "rpc-port" | "pg-port" | "anchor-every" | "block-time",
    env: string,
    previous: number | undefined,
    fallback: number,
  ) => intSetting(`--${flag}`, values[flag], env, previous, fallback);
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
        gateway: int("port", "CHAOSCORE_STAGING_PORT", remembered?.ports.gateway, 8787),
        anvil: int("rpc-port", "CHAOSCORE_STAGING_RPC_PORT", remembered?.ports.anvil, 8545),
        postgres: int("pg-port", "CHAOSCORE_STAGING_PG_PORT", remembered?.ports.postgres, 55433),
      },
      anchorEverySeconds: int(
        "anchor-every",
        "CHAOSCORE_STAGING_ANCHOR_EVERY",
        remembered?.anchorEverySeconds,
        10,
      ),
      blockTimeSeconds: int(
        "block-time",
        "CHAOSCORE_STAGING_BLOCK_TIME",
        remembered?.blockTimeSeconds,
        1,
      ),
      json: values.json === true,
    },
  };
}

/** `<dir>/stack.json`, or undefined when there is none (or it is not a staging stack file). */
export function readStackSync(path: string): StackFile | undefined {
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

/** Writes `stack.json` atomically, mode 0600 (it holds the admin key and the database password). */
export async function writeStack(path: string, stack: StackFile): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** A `stack.json` with nothing started yet. */
export function emptyStack(s: Settings, databaseUrl: string): StackFile {
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

/** The database URL with its password replaced, for printing. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

/** Fails, naming the flag that picks another port, when something listens on 127.0.0.1:port. */
export async function assertPortFree(port: number, service: string, flag: string): Promise<void> {
  if (await isPortFree(port)) return;
  throw new StagingError(
    `port ${port} (${service}) is busy: another process listens on 127.0.0.1:${port}`,
    `stop it (\`ss -ltnp 'sport = :${port}'\` shows which), or pick another port: npm run staging -- up ${flag} <port>`,
  );
}
