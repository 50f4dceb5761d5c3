/**
 * The staging stack, described once: every service's command, environment, health checks,
 * what it needs, and which services of docker-compose.yml it stands for. `npm run staging`
 * (scripts/staging.ts) starts the services in the order of their needs, waits for their health
 * checks and stops them the other way round; stack.test.ts holds this description and
 * docker-compose.yml to the same services, dependencies, `chaoscore` commands, environment and
 * health checks, so that the two ways to run the stack cannot drift apart.
 * @module
 */
import { initOrMigrate, readChainFile, startAnvil, stopAnvil } from "./chaoscore-cli.js";
import { postmasterPid, startPostgres, stopPostgres } from "./postgres.js";
import { startReplica, stopReplica } from "./replica.js";
import { redactUrl, type Settings, type StackFile } from "./settings.js";
import { isAlive, isOurs } from "./supervisor.js";

/** The long-running services (the keys of `stack.json`'s `pids` and `logs`), in start order. */
export const SERVICES = [
  "postgres",
  "postgres-replica",
  "anvil",
  "gateway-1",
  "gateway-2",
  "worker",
] as const;
/** A long-running service of the stack. */
export type Service = (typeof SERVICES)[number];

/** What every step runs with. */
export type StackContext = {
  settings: Settings;
  /** The environment of the `chaoscore` commands ({@link chaoscoreEnv}). */
  env: NodeJS.ProcessEnv;
  /** `stack.json` as it is being written (`down`: as read, if any). */
  stack: StackFile | undefined;
  databaseUrl: string;
  /** The replica's URL (the gateways' CHAOSCORE_READ_DATABASE_URL). */
  replicaUrl: string;
  /** The `postgres` role's password. */
  password: string;
};

/** How a service shows that it is ready; `up` waits for each in turn, `status` asks the last. */
export type HealthCheck =
  /** `pg_isready` on the service's port. */
  | { kind: "pg_isready" }
  /** The JSON-RPC endpoint of home/chain.json answers `eth_chainId`. */
  | { kind: "eth_chainId" }
  /** A line in the service's log (only while starting it); `says` prints its first group. */
  | { kind: "log"; line: RegExp; what: string; says?: string; withinSeconds: number }
  /** GET `<gatewayUrl><path>` answers 200. */
  | { kind: "http"; path: string; withinSeconds: number };

/** A long-running `chaoscore` process that `up` starts detached, its output in a log file. */
export type Daemon = {
  kind: "daemon";
  /** The `chaoscore` arguments. */
  args: (s: Settings) => string[];
  /** Variables of its own besides {@link chaoscoreEnv} (compose: the service's `environment`). */
  env?: (ctx: StackContext) => Record<string, string>;
  /**
   * Flags (each followed by its value in `args`) left out, with a warning, when this
   * checkout's `chaoscore <subcommand> --help` does not list them: a feature still being built.
   */
  optionalFlags?: readonly string[];
  /** A recorded pid is this service's only while its command line contains this word. */
  marker: string;
  /** A service kept running must also answer GET on this path. */
  answers?: string;
  /** Values read from its log while it starts. */
  capture?: { adminKey: RegExp };
  /** What `down` sends it (then SIGKILL after 15 s). */
  stopSignal: NodeJS.Signals;
};

/** A service started and stopped by its own tool (pg_ctl; `chaoscore chain up/down`). */
export type Managed = {
  kind: "managed";
  /** Starts it, or keeps it when it runs; resolves to its pid and what `stack.json` learns. */
  start(ctx: StackContext): Promise<{ pid: number; learned?: Partial<StackFile> }>;
  /** Whether there is something to stop (before its health is asked). */
  isRunning(ctx: StackContext): boolean;
  /** Stops it; false when it was not running. */
  stop(ctx: StackContext): Promise<boolean>;
  /** The `down` step's text. */
  stopping: string;
};

/** A one-shot step of every `up` (compose: a service with `restart: "no"`). */
export type Task = { kind: "task"; run(ctx: StackContext): Promise<void> };

/** One entry of the stack. */
export type StackEntry = {
  name: Service | "database";
  /** The docker-compose.yml services this entry does locally. */
  compose: readonly string[];
  /** Entries that must be up (tasks: done) before this one starts. */
  needs: readonly StackEntry["name"][];
  /** A compose dependency this entry does without here, and why. */
  unlikeCompose?: Record<string, string>;
  /** Who, in messages ("the gateway exited"). */
  title: string;
  /** The `up` step's text. */
  what: (s: Settings) => string;
  /** The port it binds (checked free before it starts), and the flag that picks another. */
  port?: { of: (s: Settings) => number; flag: string };
  /** The status table's `url` column. */
  shows?: (stack: StackFile) => string;
  health: readonly HealthCheck[];
  run: Daemon | Managed | Task;
};

/**
 * The environment of every `chaoscore` command of the stack (compose: `x-chaoscore`): this
 * stack's data dir and database, and no other chain than its own anvil (home/chain.json),
 * whatever the shell points at.
 */
export function chaoscoreEnv(s: Settings, databaseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHAOSCORE_HOME: s.home,
    DATABASE_URL: databaseUrl,
  };
  for (const name of UNSET_ENV) delete env[name];
  return env;
}

/** Variables of the shell that the stack's commands do not see. */
export const UNSET_ENV = ["CHAOSCORE_RPC_URL", "CHAOSCORE_KEYSTORE", "CHAOSCORE_CHAIN_ID"] as const;

/** docker-compose.yml services that only Docker runs, with the status table's note (if shown). */
export const DOCKER_ONLY: Record<string, string | null> = {
  balancer: "docker compose only (nginx, round robin over the gateways)",
  explorer: "docker compose only (Otterscan)",
  prometheus: null,
  grafana: "docker compose only",
};

/** The stack. */
export const STACK: readonly StackEntry[] = [
  {
    name: "postgres",
    compose: ["postgres"],
    needs: [],
    title: "Postgres",
    what: (s) => `server on 127.0.0.1:${s.ports.postgres}`,
    port: { of: (s) => s.ports.postgres, flag: "--pg-port" },
    shows: (stack) => redactUrl(stack.databaseUrl),
    health: [{ kind: "pg_isready" }],
    run: {
      kind: "managed",
      start: async (c) => ({ pid: await startPostgres(c.settings, c.databaseUrl, c.password) }),
      isRunning: (c) => isAlive(postmasterPid(c.settings.pgdata)),
      stop: (c) => stopPostgres(c.settings),
      stopping: "pg_ctl stop -m fast",
    },
  },
  {
    name: "database",
    compose: ["init"],
    needs: ["postgres"],
    unlikeCompose: {
      anvil:
        "compose's init also deploys the contracts; here the anvil step does (`chain up`), after this one, whose config it reads",
    },
    title: "the database step",
    what: () => "chaoscore init (first run) or migrate",
    health: [],
    run: { kind: "task", run: (c) => initOrMigrate(c.settings, c.env) },
  },
  {
    name: "postgres-replica",
    compose: ["postgres-replica"],
    needs: ["postgres"],
    title: "the Postgres replica",
    what: (s) =>
      `streaming replica on 127.0.0.1:${s.ports.replica} (pg_basebackup -R from the primary on its first start)`,
    port: { of: (s) => s.ports.replica, flag: "--replica-port" },
    shows: (stack) => `${redactUrl(stack.replicaDatabaseUrl ?? "")} (hot standby)`,
    health: [{ kind: "pg_isready" }],
    run: {
      kind: "managed",
      start: async (c) => ({ pid: await startReplica(c.settings, c.replicaUrl, c.password) }),
      isRunning: (c) => isAlive(postmasterPid(c.settings.replicaPgdata)),
      stop: (c) => stopReplica(c.settings),
      stopping: "pg_ctl stop -m fast",
    },
  },
  {
    name: "anvil",
    compose: ["anvil", "init"],
    needs: ["database"],
    title: "anvil",
    what: (s) =>
      `local chain on 127.0.0.1:${s.ports.anvil} (block every ${s.blockTimeSeconds} s), contracts`,
    port: { of: (s) => s.ports.anvil, flag: "--rpc-port" },
    shows: (stack) => `${stack.rpcUrl} (chain ${stack.chainId})`,
    health: [{ kind: "eth_chainId" }],
    run: {
      kind: "managed",
      start: async (c) => {
        const { pid, rpcUrl, chainId } = await startAnvil(c.settings, c.env);
        return { pid, learned: { rpcUrl, chainId } };
      },
      isRunning: (c) =>
        readChainFile(c.settings) !== undefined || isOurs(c.stack?.pids.anvil, "anvil"),
      stop: (c) => stopAnvil(c.settings, c.stack, c.env),
      stopping: "stop (state saved)",
    },
  },
  ...(["gateway-1", "gateway-2"] as const).map((name, i): StackEntry => {
    const port = (s: Settings) => (i === 0 ? s.ports.gateway : s.ports.gateway2);
    return {
      name,
      compose: [name],
      // gateway-2 starts once gateway-1 answers: the first start of a database prints the one
      // ADMIN_KEY (two first starts at once could each print one).
      needs: [
        "database",
        "anvil",
        "postgres-replica",
        ...(i === 0 ? [] : (["gateway-1"] as const)),
      ],
      unlikeCompose: {
        "--explorer-url": "no Otterscan without Docker",
        "--public-url":
          "no balancer without Docker: each gateway takes requests signed for its own address (the default)",
      },
      title: `gateway-${i + 1}`,
      what: (s) =>
        `chaoscore serve on http://127.0.0.1:${port(s)} (reads from the replica, ${s.shardMaxEntries > 0 ? `shards of ${s.shardMaxEntries} entries` : "no shard rotation"}), wait for /readyz`,
      port: { of: port, flag: i === 0 ? "--port" : "--port-2" },
      shows: (stack) => stack.gatewayUrls?.[i] ?? "",
      health: [
        {
          kind: "log",
          line: /^LISTENING (\S+)/m,
          what: "LISTENING",
          says: "listening at",
          withinSeconds: 120,
        },
        { kind: "http", path: "/readyz", withinSeconds: 60 },
      ],
      run: {
        kind: "daemon",
        // DATABASE_URL and the replica's URL come through the environment: a command line is
        // visible to every local user (ps), a process's environment only to its owner. The
        // worker anchors; the gateways only read the anchors (receipts, lag metrics).
        args: (s) => [
          "serve",
          "--host",
          "127.0.0.1",
          "--port",
          String(port(s)),
          "--anchor-every",
          "0",
          "--shard-max-entries",
          String(s.shardMaxEntries),
        ],
        env: (c) => ({ CHAOSCORE_READ_DATABASE_URL: c.replicaUrl }),
        optionalFlags: ["--shard-max-entries"],
        marker: "serve",
        answers: "/healthz",
        capture: { adminKey: /^ADMIN_KEY (cck_\S+)/m },
        stopSignal: "SIGTERM",
      },
    };
  }),
  {
    name: "worker",
    compose: ["worker"],
    needs: ["database", "anvil"],
    title: "the anchoring worker",
    what: (s) =>
      `chaoscore anchor --every ${s.anchorEverySeconds} (the leader: holds the leader lease)`,
    shows: (stack) => `anchors every ${stack.anchorEverySeconds} s (leader)`,
    health: [
      { kind: "log", line: /anchoring every/, what: "`anchoring every`", withinSeconds: 60 },
    ],
    run: {
      kind: "daemon",
      // no shard flags: the worker appends nothing, the gateways rotate
      args: (s) => ["anchor", "--every", String(s.anchorEverySeconds)],
      marker: "anchor",
      stopSignal: "SIGTERM",
    },
  },
];
