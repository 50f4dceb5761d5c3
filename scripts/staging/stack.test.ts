/**
 * The staging stack's description (stack.ts) and docker-compose.yml describe the same stack:
 * the same services, dependencies, `chaoscore` commands, environment and health checks. A
 * change to one that the other does not follow fails here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT, type Settings } from "./settings.js";
import {
  chaoscoreEnv,
  DOCKER_ONLY,
  SERVICES,
  STACK,
  type StackContext,
  type StackEntry,
  UNSET_ENV,
} from "./stack.js";
import { startOrder } from "./supervisor.js";

type ComposeService = {
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  restart?: string;
};
type Compose = { services: Record<string, ComposeService>; "x-chaoscore": ComposeService };

const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), {
  merge: true,
}) as Compose;

const settings: Settings = {
  dir: "/s",
  home: "/s/home",
  pgdata: "/s/postgres",
  replicaPgdata: "/s/postgres-replica",
  secrets: "/s/secrets",
  logs: "/s/logs",
  stackFile: "/s/stack.json",
  ports: { gateway: 18787, gateway2: 18788, anvil: 18545, postgres: 15433, replica: 15434 },
  anchorEverySeconds: 10,
  blockTimeSeconds: 1,
  shardMaxEntries: 100,
  json: false,
};

const dependsOn = (service: ComposeService): string[] =>
  Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});

/** Every entry `entry` needs, directly or through others. */
function needsOf(entry: StackEntry): Set<string> {
  const all = new Set<string>();
  const visit = (e: StackEntry) => {
    for (const need of e.needs) {
      if (all.has(need)) continue;
      all.add(need);
      visit(STACK.find((x) => x.name === need) as StackEntry);
    }
  };
  visit(entry);
  return all;
}

/** `["serve", "--host=0.0.0.0", "--port", "1"]` → `{ sub: "serve", flags: {--host: "0.0.0.0", --port: "1"} }`. */
function parseCommand(words: readonly string[]): { sub: string; flags: Map<string, string> } {
  const [sub = "", ...rest] = words;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    const eq = word.indexOf("=");
    if (eq > 0) flags.set(word.slice(0, eq), word.slice(eq + 1));
    else flags.set(word, rest[++i] ?? "");
  }
  return { sub, flags };
}

describe("the staging stack and docker-compose.yml", () => {
  it("have the same services: each compose service is run by an entry or is Docker's only", () => {
    const local = new Set([...STACK.flatMap((e) => e.compose), ...Object.keys(DOCKER_ONLY)]);
    expect([...local].sort()).toEqual(Object.keys(compose.services).sort());
    for (const name of Object.keys(DOCKER_ONLY)) {
      expect(STACK.some((e) => e.compose.includes(name))).toBe(false);
    }
  });

  it("lists its long-running services in start order, and its one-shot steps as compose's", () => {
    const ordered = startOrder(STACK);
    expect(ordered.filter((e) => e.run.kind !== "task").map((e) => e.name)).toEqual([...SERVICES]);
    for (const entry of STACK) {
      const oneShot = entry.compose.every((c) => compose.services[c]?.restart === "no");
      expect({ entry: entry.name, oneShot }).toEqual({
        entry: entry.name,
        oneShot: entry.run.kind === "task",
      });
    }
  });

  it("starts nothing before what compose makes it wait for (or says why not)", () => {
    const checked: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      for (const dependency of dependsOn(service)) {
        for (const entry of STACK.filter((e) => e.compose.includes(name))) {
          if (entry.compose.includes(dependency)) continue; // the same step does both
          const needed = [...needsOf(entry)].some((n) =>
            STACK.find((e) => e.name === n)?.compose.includes(dependency),
          );
          const explained = entry.unlikeCompose?.[dependency] !== undefined;
          expect({ entry: entry.name, dependency, ok: needed !== explained }).toEqual({
            entry: entry.name,
            dependency,
            ok: true,
          });
          checked.push(`${entry.name}→${dependency}`);
        }
      }
    }
    expect(checked).toContain("gateway-1→init");
    expect(checked).toContain("gateway-1→postgres-replica");
    expect(checked).toContain("gateway-2→gateway-1");
    expect(checked).toContain("postgres-replica→postgres");
    expect(checked).toContain("worker→init");
    expect(checked).toContain("database→postgres");
  });

  it("runs the same chaoscore commands with the same flags (host and port aside)", () => {
    let daemons = 0;
    for (const entry of STACK) {
      if (entry.run.kind !== "daemon") continue;
      daemons++;
      const [service] = entry.compose;
      const composed = compose.services[service as string]?.command;
      expect(Array.isArray(composed)).toBe(true);
      const theirs = parseCommand(composed as string[]);
      const ours = parseCommand(entry.run.args(settings));
      expect(ours.sub).toBe(theirs.sub);
      const composeOnly = [...theirs.flags.keys()].filter((f) => !ours.flags.has(f));
      for (const flag of composeOnly) expect(entry.unlikeCompose?.[flag]).toBeTypeOf("string");
      for (const [flag, value] of ours.flags) {
        expect(theirs.flags.has(flag)).toBe(true);
        const literal = theirs.flags.get(flag) as string;
        if (flag !== "--host" && flag !== "--port" && !literal.includes("${")) {
          expect({ flag, value }).toEqual({ flag, value: literal });
        }
      }
    }
    // two gateways and the worker
    expect(daemons).toBe(3);
  });

  it("checks health the way compose does", () => {
    for (const entry of STACK) {
      const checks = entry.health.filter((c) => c.kind !== "log");
      const [service] = entry.compose;
      const test = compose.services[service as string]?.healthcheck?.test;
      const text = Array.isArray(test) ? test.join(" ") : (test ?? "");
      expect({ entry: entry.name, checked: checks.length > 0 }).toEqual({
        entry: entry.name,
        checked: entry.run.kind !== "task" && text !== "",
      });
      for (const check of checks) {
        expect(text).toContain(check.kind === "http" ? check.path : check.kind);
      }
    }
  });

  it("rotates shards at the same size in both, and gives the gateways the same flags", () => {
    const defaults = new Set<string>();
    for (const entry of STACK) {
      if (entry.run.kind !== "daemon" || entry.run.args(settings)[0] !== "serve") continue;
      const ours = parseCommand(entry.run.args(settings)).flags;
      const theirs = parseCommand(
        compose.services[entry.compose[0] as string]?.command as string[],
      ).flags;
      expect(ours.get("--shard-max-entries")).toBe(String(settings.shardMaxEntries));
      // compose: ${SHARD_MAX_ENTRIES:-<default>}, the staging default (settings.ts) the same
      const fallback = /^\$\{SHARD_MAX_ENTRIES:-(\d+)\}$/.exec(
        theirs.get("--shard-max-entries") ?? "",
      );
      defaults.add(fallback?.[1] ?? "missing");
    }
    expect([...defaults]).toEqual(["100"]);
    const [one, two] = ["gateway-1", "gateway-2"].map((name) => {
      const entry = STACK.find((e) => e.name === name) as StackEntry;
      if (entry.run.kind !== "daemon") throw new Error(`${name} is not a daemon`);
      return [...parseCommand(entry.run.args(settings)).flags.keys()];
    });
    expect(two).toEqual(one);
  });

  it("gives each daemon the environment of its own beyond x-chaoscore that compose does", () => {
    const common = new Set(Object.keys(compose["x-chaoscore"].environment ?? {}));
    const ctx = { replicaUrl: "postgres://u:p@127.0.0.1:2/chaoscore" } as StackContext;
    let withOwn = 0;
    for (const entry of STACK) {
      if (entry.run.kind !== "daemon") continue;
      const service = compose.services[entry.compose[0] as string] as ComposeService;
      const own = Object.keys(service.environment ?? {}).filter((k) => !common.has(k));
      const ours = Object.keys(entry.run.env?.(ctx) ?? {});
      expect({ entry: entry.name, env: ours.sort() }).toEqual({
        entry: entry.name,
        env: own.sort(),
      });
      if (ours.length > 0) withOwn++;
    }
    expect(withOwn).toBe(2); // the gateways' CHAOSCORE_READ_DATABASE_URL
  });

  it("balances and scrapes exactly the gateways compose runs", () => {
    const gateways = Object.entries(compose.services)
      .filter(([, service]) => Array.isArray(service.command) && service.command[0] === "serve")
      .map(([name]) => `${name}:8787`)
      .sort();
    expect(gateways).toEqual(["gateway-1:8787", "gateway-2:8787"]);
    const nginx = readFileSync(join(ROOT, "deploy", "balancer", "nginx.conf"), "utf8");
    const upstream = [...nginx.matchAll(/^\s*server\s+(\S+?:\d+)[\s;]/gm)].map((m) => m[1]).sort();
    expect(upstream).toEqual(gateways);
    const prometheus = parse(
      readFileSync(join(ROOT, "deploy", "prometheus", "prometheus.yml"), "utf8"),
    ) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const job = prometheus.scrape_configs.find((c) => c.job_name === "chaoscore-gateway");
    expect(job?.static_configs.flatMap((c) => c.targets).sort()).toEqual(gateways);
    const balancer = compose.services.balancer as ComposeService;
    expect(dependsOn(balancer).sort()).toEqual(["gateway-1", "gateway-2"]);
  });

  it("gives the chaoscore commands compose's environment, and no other chain", () => {
    const env = chaoscoreEnv(settings, "postgres://u:p@127.0.0.1:1/chaoscore");
    const set = Object.keys(env).filter((k) => env[k] !== process.env[k]);
    const composeEnv = Object.keys(compose["x-chaoscore"].environment ?? {});
    for (const name of set) expect(composeEnv).toContain(name);
    expect(set.sort()).toEqual(["CHAOSCORE_HOME", "DATABASE_URL"]);
    for (const name of UNSET_ENV) {
      expect(env[name]).toBeUndefined();
      expect(composeEnv).not.toContain(name);
    }
  });
});
