/**
 * The reliability suite: `npm run reliability [-- --quick] [--only a,b]`.
 * Drives real processes (gateway, Postgres, anvil) through faults and bad
 * input, prints progress on stderr, a table of what it held, and one line
 * per goal: `GOAL <name> <measured> <target> PASS|FAIL`.
 * @module
 */
import { parseArgs } from "node:util";
import { describeMachine } from "../bench/machine.js";
import { anchorFaultScenario } from "./anchor-faults.js";
import { gatewayKillScenario, postgresRestartScenario } from "./crash-scenarios.js";
import { fuzzScenario } from "./fuzz.js";
import { gatewaysKillScenario } from "./gateways-kill.js";
import { leaderKillScenario } from "./leader-kill.js";
import { nonceRaceScenario } from "./nonce-race.js";
import { startPostgres, stopPostgresOnExit } from "./postgres.js";
import { queueFloodScenario } from "./queue-flood.js";
import { type Goal, goalLine, resultsTable, type ScenarioResult, sumMeasure } from "./report.js";
import { sandboxAbuseScenario } from "./sandbox-abuse.js";
import { workerKillScenario } from "./worker-kill.js";

const SCENARIOS = [
  "kill",
  "postgres",
  "anvil",
  "fuzz",
  "nonce",
  "sandbox",
  "flood",
  "workers",
  "gateways",
  "leader",
] as const;
type Scenario = (typeof SCENARIOS)[number];

const HELP = `usage: npm run reliability [-- options]

Fault and bad-input suite over real processes: a \`chaoscore serve\` child on
its own Postgres server (port ${"--pg-port"}, default 55439), anvil for anchoring.

scenarios (all by default):
  kill      SIGKILL the gateway 20× at random moments of a 20,000-action ingest
  postgres  stop/start the Postgres server mid-ingest (fast and immediate)
  anvil     SIGKILL anvil and restart it from its state; a reorg (evm_snapshot/evm_revert)
  fuzz      ≥ 10,000 bad requests generated from /openapi.json (fast-check)
  nonce     50 concurrent writers of one agent racing on each nonce
  sandbox   POST /v1/executions with over-maxima limits and abusive programs
  flood     waves of large actions at once past a small bounded ingest queue
  workers   terminate signature-recovery worker threads mid-ingest
  gateways  3 gateways on one database, SIGKILL one of them 10× mid-ingest (not in --quick)
  leader    3 gateways anchoring on anvil, SIGKILL the leader 6× mid-anchor (not in --quick)

options:
  --quick              a smaller run (CI smoke test)
  --only <a,b>         run only these scenarios
  --pg-port <port>     port of the suite's Postgres server (default 55439)
  --pg-dir <dir>       its data directory (default /tmp/chaoscore-reliability-pg)
  --seed <n>           fast-check seed of the fuzz (default: random, printed)
  -h, --help           this text

Ends with GOAL lines: actions_lost 0, http_5xx 0, rows_written_by_rejected 0,
double_anchors 0, nonce_races_lost 0, sandbox_misanswered 0,
queue_flood_misanswered 0, worker_kill_unanswered 0. Exit code 0 when every
goal passes.`;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "pg-port": { type: "string", default: "55439" },
    "pg-dir": { type: "string", default: "/tmp/chaoscore-reliability-pg" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
// The multi-gateway kill runs in full mode only (CI runs --quick; it starts three gateways).
const only =
  values.only?.split(",").map((s) => s.trim()) ??
  SCENARIOS.filter((s) => !(values.quick && (s === "gateways" || s === "leader")));
for (const s of only) {
  if (!SCENARIOS.includes(s as Scenario)) {
    console.error(`unknown scenario ${s}; one of ${SCENARIOS.join(", ")}`);
    process.exit(2);
  }
}
const quick = values.quick;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);

const started = performance.now();
progress(`reliability suite${quick ? " (--quick)" : ""} on ${describeMachine()}`);
const pg = await startPostgres({ dir: values["pg-dir"], port: Number(values["pg-port"]) });
// The server stops when the suite ends: at the end, on a failure, or on Ctrl-C.
stopPostgresOnExit(pg);
progress(`Postgres server on port ${pg.port} (${pg.dir})`);

const results: ScenarioResult[] = [];
const runs: Record<Scenario, () => Promise<ScenarioResult>> = {
  kill: () =>
    gatewayKillScenario(
      pg,
      quick ? { total: 2_000, kills: 3, writers: 8 } : { total: 20_000, kills: 20, writers: 16 },
      progress,
    ),
  postgres: () =>
    postgresRestartScenario(
      pg,
      quick
        ? { total: 1_000, restarts: 2, writers: 8, downMs: 500 }
        : { total: 6_000, restarts: 4, writers: 16, downMs: 2_000 },
      progress,
    ),
  anvil: () =>
    anchorFaultScenario(
      pg,
      quick ? { kills: 1, reorgs: 1, port: 58545 } : { kills: 3, reorgs: 3, port: 58545 },
      progress,
    ),
  fuzz: () => fuzzScenario(pg, { total: quick ? 1_000 : 10_000, seed }, progress),
  nonce: () =>
    nonceRaceScenario(
      pg,
      quick ? { rounds: 10, writers: 50 } : { rounds: 100, writers: 50 },
      progress,
    ),
  sandbox: () => sandboxAbuseScenario({ rounds: quick ? 1 : 5 }, progress),
  flood: () =>
    queueFloodScenario(
      quick
        ? { agents: 60, waves: 2, payloadKiB: 256, queueBytes: 2 * 1024 * 1024 }
        : { agents: 200, waves: 3, payloadKiB: 256, queueBytes: 8 * 1024 * 1024 },
      progress,
    ),
  gateways: () =>
    gatewaysKillScenario(
      pg,
      quick
        ? { total: 1_000, kills: 2, writers: 8, gateways: 2 }
        : { total: 6_000, kills: 10, writers: 16, gateways: 3 },
      progress,
    ),
  leader: () =>
    leaderKillScenario(
      pg,
      quick
        ? { total: 600, kills: 2, writers: 8, gateways: 2 }
        : { total: 6_000, kills: 6, writers: 12, gateways: 3 },
      progress,
    ),
  workers: () =>
    workerKillScenario(
      quick
        ? { writers: 16, perWriter: 25, kills: 3, threads: 2 }
        : { writers: 32, perWriter: 100, kills: 20, threads: 2 },
      progress,
    ),
};

let failedToRun = 0;
for (const name of SCENARIOS) {
  if (!only.includes(name)) continue;
  try {
    const r = await runs[name]();
    results.push(r);
    progress(
      `  → ${r.scenario}: ${r.actionsLost} lost, ${r.http5xx} 5xx, ${r.seconds.toFixed(1)} s`,
    );
    for (const n of r.notes) progress(`    ${n}`);
  } catch (error) {
    failedToRun++;
    progress(`scenario ${name} FAILED TO RUN: ${(error as Error).stack ?? String(error)}`);
  }
}

const totalSeconds = (performance.now() - started) / 1000;
console.log(`\n${resultsTable(results)}\n`);
for (const r of results) {
  console.log(`${r.scenario}:`);
  for (const n of r.notes) console.log(`  - ${n}`);
}
console.log(
  `\nmachine: ${describeMachine()}; total ${totalSeconds.toFixed(0)} s${quick ? " (--quick)" : ""}\n`,
);
const goals: Goal[] = [
  { name: "actions_lost", measured: sumMeasure(results, "actions_lost"), target: 0 },
  { name: "http_5xx", measured: sumMeasure(results, "http_5xx"), target: 0 },
  {
    name: "rows_written_by_rejected",
    measured: sumMeasure(results, "rows_written_by_rejected"),
    target: 0,
  },
  { name: "double_anchors", measured: sumMeasure(results, "double_anchors"), target: 0 },
  {
    name: "anchors_diverged",
    measured: sumMeasure(results, "anchors_diverged"),
    target: 0,
  },
  { name: "nonce_races_lost", measured: sumMeasure(results, "nonce_races_lost"), target: 0 },
  { name: "sandbox_misanswered", measured: sumMeasure(results, "sandbox_misanswered"), target: 0 },
  {
    name: "queue_flood_misanswered",
    measured: sumMeasure(results, "queue_flood_misanswered"),
    target: 0,
  },
  {
    name: "worker_kill_unanswered",
    measured: sumMeasure(results, "worker_kill_unanswered"),
    target: 0,
  },
  { name: "scenarios_failed_to_run", measured: failedToRun, target: 0 },
];
for (const g of goals) console.log(goalLine(g));
const ok = goals.every((g) => g.measured <= g.target);
process.exit(ok ? 0 : 1);
