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

  up (default)  start every service that is not running, wait until the gateways' /readyz
                answer, print the services and write <dir>/stack.json
  status        each service's state, URL and pid (exit 1 when one is down)
  down          stop the worker, the gateways, anvil, the replica and Postgres; the data stays
  reset         down, then delete <dir> (database, replica, chain, keys, logs)

Then \`npm run demo -- --target staging\` writes through both gateways across a shard rotation.

Options (and environment variables):
  --dir <dir>             staging directory      CHAOSCORE_STAGING_DIR     .chaoscore/staging
  --port <n>              gateway-1 port         CHAOSCORE_STAGING_PORT    8787
  --port-2 <n>            gateway-2 port         CHAOSCORE_STAGING_PORT_2  8788
  --rpc-port <n>          anvil port             CHAOSCORE_STAGING_RPC_PORT 8545
  --pg-port <n>           Postgres primary port  CHAOSCORE_STAGING_PG_PORT 55433
  --replica-port <n>      Postgres replica port  CHAOSCORE_STAGING_REPLICA_PORT 55434
  --anchor-every <s>      worker interval, s     CHAOSCORE_STAGING_ANCHOR_EVERY 10
  --block-time <s>        anvil block time, s    CHAOSCORE_STAGING_BLOCK_TIME 1
  --shard-max-entries <n> entries per shard      CHAOSCORE_STAGING_SHARD_MAX_ENTRIES 100
  --json                  status/up: print stack.json-like JSON
  CHAOSCORE_PASSWORD      agent keystore password (default: generated into <dir>/secrets)
Ports given once are remembered in stack.json.`;

/** `<dir>/stack.json`. */
export type StackFile = {
  format: typeof STACK_FORMAT;
  /** gateway-1's URL (what `demo --target staging` calls first). */
  gatewayUrl: string;
  /** Every gateway's URL, gateway-1 first. */
  gatewayUrls: string[];
  rpcUrl: string;
  chainId: string;
  adminKey: string | null;
  databaseUrl: string;
  /** The streaming replica the gateways read from (`serve --read-database-url`). */
  replicaDatabaseUrl: string;
  explorerUrl: string | null;
  grafanaUrl: string | null;
  /** The chaoscore data directory (CHAOSCORE_HOME of every service). */
  dataDir: string;
  pids: Record<Service, number | null>;
  ports: { postgres: number; replica: number; anvil: number; gateway: number; gateway2: number };
  anchorEverySeconds: number;
  blockTimeSeconds: number;
  /** The gateways' and the worker's `--shard-max-entries`. */
  shardMaxEntries: number;
  /** Output of each service (anvil's is discarded by `chain up --detach`). */
  logs: Record<Service, string | null>;
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
  /** The replica's data directory. */
  replicaPgdata: string;
  secrets: string;
  logs: string;
  stackFile: string;
  ports: StackFile["ports"];
  anchorEverySeconds: number;
  blockTimeSeconds: number;
  shardMaxEntries: number;
  json: boolean;
};

function intSetting(
  name: string,
  flag: string | undefined,
  env: string,
  remembered: number | undefined,
  fallback: number,
  min = 1,
): number {
  const text = flag ?? process.env[env];
  if (text === undefined || text === "") return remembered ?? fallback;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < min || Number(text) > 65535) {
    throw new UsageError(
      `${name} must be an integer from ${min} to 65535, not ${JSON.stringify(text)}`,
    );
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
        "port-2": { type: "string" },
        "rpc-port": { type: "string" },
        "pg-port": { type: "string" },
        "replica-port": { type: "string" },
        "shard-max-entries": { type: "string" },
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
    flag:
      | "port"
      | "port-2"
      | "rpc-port"
      | "pg-port"
      | "replica-port"
      | "anchor-every"
      | "block-time"
      | "shard-max-entries",
    env: string,
    previous: number | undefined,
    fallback: number,
    min = 1,
  ) => intSetting(`--${flag}`, values[flag], env, previous, fallback, min);
  return {
    command,
    settings: {
      dir,
      home: join(dir, "home"),
      pgdata: join(dir, "postgres"),
      replicaPgdata: join(dir, "postgres-replica"),
      secrets: join(dir, "secrets"),
      logs: join(dir, "logs"),
      stackFile: join(dir, "stack.json"),
      ports: {
        gateway: int("port", "CHAOSCORE_STAGING_PORT", remembered?.ports.gateway, 8787),
        gateway2: int("port-2", "CHAOSCORE_STAGING_PORT_2", remembered?.ports.gateway2, 8788),
        anvil: int("rpc-port", "CHAOSCORE_STAGING_RPC_PORT", remembered?.ports.anvil, 8545),
        postgres: int("pg-port", "CHAOSCORE_STAGING_PG_PORT", remembered?.ports.postgres, 55433),
        replica: int(
          "replica-port",
          "CHAOSCORE_STAGING_REPLICA_PORT",
          remembered?.ports.replica,
          55434,
        ),
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
      // 0: never rotate (one shard)
      shardMaxEntries: int(
        "shard-max-entries",
        "CHAOSCORE_STAGING_SHARD_MAX_ENTRIES",
        remembered?.shardMaxEntries,
        100,
        0,
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
    return fromOneGateway(value as StackFile);
  } catch {
    throw new StagingError(`${path} is not valid JSON`, "fix it or run `npm run staging -- reset`");
  }
}

/**
 * A `stack.json` written before the stack had two gateways and a replica names its gateway
 * `gateway`: that is gateway-1 now (so `down` still finds its pid).
 */
function fromOneGateway(stack: StackFile): StackFile {
  const old = stack as StackFile & {
    pids: { gateway?: number | null };
    logs: { gateway?: string | null };
  };
  if ("gateway" in old.pids) {
    old.pids["gateway-1"] ??= old.pids.gateway ?? null;
    delete old.pids.gateway;
  }
  if ("gateway" in old.logs) {
    old.logs["gateway-1"] ??= old.logs.gateway ?? null;
    delete old.logs.gateway;
  }
  return stack;
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
    gatewayUrls: [`http://127.0.0.1:${s.ports.gateway}`, `http://127.0.0.1:${s.ports.gateway2}`],
    rpcUrl: `http://127.0.0.1:${s.ports.anvil}`,
    chainId: "31337",
    adminKey: null,
    databaseUrl,
    replicaDatabaseUrl: replicaUrlOf(databaseUrl, s.ports.replica),
    explorerUrl: null,
    grafanaUrl: null,
    dataDir: s.home,
    pids: {
      postgres: null,
      "postgres-replica": null,
      anvil: null,
      "gateway-1": null,
      "gateway-2": null,
      worker: null,
    },
    ports: s.ports,
    anchorEverySeconds: s.anchorEverySeconds,
    blockTimeSeconds: s.blockTimeSeconds,
    shardMaxEntries: s.shardMaxEntries,
    logs: {
      postgres: join(s.pgdata, "server.log"),
      "postgres-replica": join(s.replicaPgdata, "server.log"),
      anvil: null,
      "gateway-1": join(s.logs, "gateway-1.log"),
      "gateway-2": join(s.logs, "gateway-2.log"),
      worker: join(s.logs, "worker.log"),
    },
    startedAt: null,
    stoppedAt: null,
  };
}

/** The replica's URL: the primary's `databaseUrl` on the replica's port (same role and database). */
export function replicaUrlOf(databaseUrl: string, port: number): string {
  return databaseUrl.replace(/@127\.0\.0\.1:\d+\//, `@127.0.0.1:${port}/`);
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
