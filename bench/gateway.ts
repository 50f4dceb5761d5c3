/**
 * `npm run bench -- gateway`: signed-action ingest over HTTP (the gateway on
 * loopback, autocannon in another process) beside the in-process ingest rate
 * of the same engine configuration, measured in the same run.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import { DEVELOPMENT_DEPLOYMENT, generateNoteKey } from "@chaoscore/core";
import { createEngine, type Engine, NODE_MIGRATIONS, openDatabase } from "@chaoscore/engine";
import { ApiKeyStore, buildGateway, GATEWAY_MIGRATIONS, gatewayServices } from "@chaoscore/gateway";
import { composeMigrations, type Db, engineSecp256k1 } from "@chaoscore/log";

/** A node that serves the gateway: every package's tables. */
const migrations = composeMigrations(NODE_MIGRATIONS, GATEWAY_MIGRATIONS);

import {
  type BenchAgent,
  makeAgents,
  registerAgents,
  type SignedAction,
  signActions,
} from "./agents.js";
import { profileTo } from "./cpu-profile.js";
import { runProofServing } from "./gateway-proofs.js";
import { baselineRecoverRate, baselineVerifyRate } from "./ingest.js";
import { describeMachine, goal } from "./machine.js";
import { machineCpuMicros } from "./machine-cpu.js";
import { intOption, UsageError } from "./options.js";
import { addThreadCpu, formatThreadCpu, threadCpuMicros, threadCpuSince } from "./thread-cpu.js";
import { findWrk } from "./wrk.js";

const CHAIN_ID = 31337n;

function log(message: string) {
  process.stderr.write(`${message}\n`);
}

type Signed = SignedAction;

async function openEngine(
  kind: "pglite" | "postgres",
  agents: BenchAgent[],
  threads: number,
): Promise<{
  engine: Engine;
  db: Db;
  /** Transactions begun on `db` so far (the group-commit writer's batches among them). */
  transactions: () => number;
  /** Milliseconds spent inside those transactions (BEGIN to COMMIT's answer), summed. */
  transactionMs: () => number;
  cleanup: () => Promise<void>;
}> {
  let db: Db;
  let drop: () => Promise<void>;
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "chaoscore-bench-gw-"));
    db = await openDatabase({ databaseUrl: null, dataDir: dir, migrations });
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `bench_${randomBytes(4).toString("hex")}`;
    db = await openDatabase({ databaseUrl: process.env.DATABASE_URL, schema, migrations });
    drop = () => db.exec(`DROP SCHEMA ${schema} CASCADE`);
  }
  let transactions = 0;
  let transactionMs = 0;
  const transaction = db.transaction.bind(db);
  db.transaction = async (fn) => {
    transactions++;
    const start = performance.now();
    try {
      return await transaction(fn);
    } finally {
      transactionMs += performance.now() - start;
    }
  };
  const origin = "chaoscore.bench/log/default";
  const engine = await createEngine({
    db,
    chainId: CHAIN_ID,
    verifyingContract: DEVELOPMENT_DEPLOYMENT,
    log: { origin, ...generateNoteKey(origin) },
    signatureThreads: threads,
    clockSkewSeconds: 86_400,
  });
  await registerAgents(engine, agents, CHAIN_ID);
  return {
    engine,
    db,
    transactions: () => transactions,
    transactionMs: () => transactionMs,
    cleanup: async () => {
      await engine.close();
      await drop();
      await db.close();
    },
  };
}

/**
 * A timed stretch of one pass: its seconds, this process's CPU (µs) and each
 * thread's, the whole machine's busy and total CPU (µs, every core), and how
 * late the main thread's event loop ran a 5 ms timer (samples, their sum and
 * the largest, ns): how long an answer of the database waits for the thread.
 */
type Stretch = {
  seconds: number;
  cpuMicros: number;
  threads: Map<number, number>;
  machine: { busy: number; total: number };
  loop: { samples: number; sumNs: number; maxNs: number };
};

const LOOP_RESOLUTION_MS = 5;

/** Times `work`: what it returned, its wall seconds, this process's CPU and each of its threads'. */
async function timed<T>(work: () => Promise<T>): Promise<Stretch & { value: T }> {
  const cpu = process.cpuUsage();
  const threads = threadCpuMicros();
  const machine = machineCpuMicros();
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const start = performance.now();
  const value = await work();
  const seconds = (performance.now() - start) / 1000;
  loop.disable();
  const used = process.cpuUsage(cpu);
  const after = machineCpuMicros();
  return {
    value,
    seconds,
    cpuMicros: used.user + used.system,
    threads: threadCpuSince(threads),
    loop: { samples: loop.count, sumNs: loop.count * loop.mean, maxNs: loop.max },
    machine:
      machine === null || after === null
        ? { busy: 0, total: 0 }
        : { busy: after - machine, total: seconds * availableParallelism() * 1_000_000 },
  };
}

/** Adds a round's stretch into its pass's totals. */
function addStretch(pass: Stretch, stretch: Stretch): void {
  pass.seconds += stretch.seconds;
  pass.cpuMicros += stretch.cpuMicros;
  addThreadCpu(pass.threads, stretch.threads);
  pass.machine.busy += stretch.machine.busy;
  pass.machine.total += stretch.machine.total;
  pass.loop.samples += stretch.loop.samples;
  pass.loop.sumNs += stretch.loop.sumNs;
  pass.loop.maxNs = Math.max(pass.loop.maxNs, stretch.loop.maxNs);
}

/** In-process: the same number of records in flight as HTTP connections. */
async function inProcess(engine: Engine, signed: Signed[], window: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < signed.length) await engine.agency.recordAction(signed[next++] as Signed);
    }),
  );
}

type Load = {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** From the moment its requests were built to the last answer. */
  seconds: number;
  /** autocannon's own duration: with the building of the requests, and up to a sample tick after the last answer. */
  autocannonSeconds: number;
  p50: number;
  p99: number;
  /** The load generator's own CPU time (user + system, µs) over its run. */
  cpuMicros: number;
};

/** The load generator's process (bench/gateway-load.ts): one for every round of a run. */
class LoadGenerator {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly answers: ((line: string | Error) => void)[] = [];

  /** With `profileDir`, the process writes a V8 CPU profile of all its rounds there as it exits. */
  constructor(url: string, connections: number, key: string, profileDir?: string) {
    this.child = spawn(
      process.execPath,
      [
        // The load generator keeps every connection's request alive until its answer
        // comes: a young generation of 64 MiB instead of 32 spends ≈ 8 µs less of its
        // CPU per request on the cores the gateway uses (docs/benchmarks.md, issue 14).
        "--max-semi-space-size=32",
        ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]),
        "--import",
        "tsx",
        join(import.meta.dirname, "gateway-load.ts"),
        url,
        String(connections),
        key,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    createInterface({ input: this.child.stdout }).on("line", (line) =>
      this.answers.shift()?.(line),
    );
    const fail = (error: Error) => {
      for (const answer of this.answers.splice(0)) answer(error);
    };
    this.child.on("error", fail);
    this.child.on("exit", (code) => fail(new Error(`the load generator exited with ${code}`)));
  }

  /** Sends the actions of `file` (one line per agent); resolves with what came back. */
  send(file: string): Promise<Load> {
    return new Promise((resolve, reject) => {
      this.answers.push((line) =>
        line instanceof Error ? reject(line) : resolve(JSON.parse(line) as Load),
      );
      this.child.stdin.write(`${file}\n`);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once("exit", () => resolve());
      this.child.stdin.end();
    });
  }
}

export async function runGatewayBench(argv: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args: argv,
    options: {
      actions: { type: "string", default: "20000" },
      connections: { type: "string", default: "128" },
      warmup: { type: "string", default: "5000" },
      rounds: { type: "string", default: "4" },
      threads: { type: "string", default: "1" },
      backend: { type: "string", default: process.env.DATABASE_URL ? "postgres" : "pglite" },
      "proof-leaves": { type: "string", default: "1000000" },
      "read-seconds": { type: "string", default: "10" },
      "read-generator": { type: "string", default: "wrk" },
      only: { type: "string" },
      "cpu-prof-dir": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(`npm run bench -- gateway [--actions 20000] [--rounds 4] [--warmup 5000] [--connections 128]
                        [--threads 1] [--backend pglite|postgres] [--proof-leaves 1000000]
                        [--read-seconds 10] [--read-generator wrk|autocannon] [--only proofs]

Signs the actions first, then ingests them on two fresh databases with the
same engine configuration, open side by side: in process (recordAction with
<connections> records in flight) and over HTTP (POST /v1/actions with an API
key, one action per request, autocannon with <connections> connections in a
separate process — with --max-semi-space-size=32, so that it takes less of
the cores the gateway uses —, one agent per connection so that each agent's
nonces arrive in order). The HTTP pass is timed from the moment the load
generator has built every request (autocannon builds them all before it sends
any, ≈ 11 µs each here) to the last answer; autocannon's own duration, with
that building in it, is printed beside it.

Both first ingest --warmup actions untimed (0: none), so that they measure
code the JIT has compiled, as in a gateway that has been up a while. The
--actions are then split into --rounds rounds (rounded up to whole rounds of
the connections), and the two passes alternate round by round, so that a
change in the machine's speed during the run weighs on both. Prints the
throughput of each pass over all its rounds, the ratio HTTP / in-process (and
each round's), the CPU per action of each pass (this process by thread —
main, PGlite worker, recovery, V8's helper threads: the JIT compiler and the
garbage collector — and the load generator's own), the whole machine's busy
CPU per action and busy share (/proc/stat: the database server and the load
generator included) and the database transactions each pass began (the
group-commit batches).

Then proof serving: a log of --proof-leaves leaves (default 1,000,000; 0
skips it) and, over HTTP with the read generator in its own process for
--read-seconds each, random inclusion proofs/s and random full tiles/s, the
Cache-Control of a full tile, and the append and inclusion-proof cost at that
size vs a second log of 1,000–6,000 leaves in the same database (five rounds
alternating between the two, so that the machine's drift weighs on both).
Tiles (and proofs) are read twice: a cold pass right after start, then, after
every full level-0 tile and one proof in it were read once, a steady-state
pass (the GOAL lines are on the steady state: full tiles are immutable).
--only proofs skips the ingest part; --cpu-prof-dir <dir> writes V8 CPU
profiles of the gateway's thread during each ingest round (in process and
over HTTP) and the steady proof and tile passes there (a query's time is in
the PGlite worker thread, outside them), and one of the load generator's
process over all its rounds (CPU.*.cpuprofile).

--read-generator: wrk (default; Debian's package, installed with apt-get
when missing unless CHAOSCORE_BENCH_NO_INSTALL is set; one thread, in C) or
autocannon (JavaScript). The generator shares the two cores with the
gateway: autocannon spends more CPU per cached tile than the gateway does,
so its figure is mostly its own cost. With wrk, the steady pass is also run
with autocannon and printed beside it; without wrk the bench says so and
uses autocannon.`);
    return true;
  }
  if (values.only !== undefined && values.only !== "proofs") {
    throw new UsageError(`--only takes "proofs", not ${values.only}`);
  }
  if (values["read-generator"] !== "wrk" && values["read-generator"] !== "autocannon") {
    throw new UsageError(
      `--read-generator takes wrk or autocannon, not ${values["read-generator"]}`,
    );
  }
  const n = intOption("actions", values.actions);
  const connections = intOption("connections", values.connections);
  // Whole rounds of the connections, so that each agent's measured actions
  // start where its warm-up ended and every connection sends its own share.
  const warmup = Math.ceil(intOption("warmup", values.warmup, 0) / connections) * connections;
  const rounds = intOption("rounds", values.rounds);
  const threads = intOption("threads", values.threads, 0);
  const proofLeaves = intOption("proof-leaves", values["proof-leaves"], 0);
  const readSeconds = intOption("read-seconds", values["read-seconds"]);
  if (values.backend !== "postgres" && values.backend !== "pglite") {
    throw new UsageError(`--backend takes pglite or postgres, not ${values.backend}`);
  }
  if (values.backend === "postgres" && !process.env.DATABASE_URL) {
    throw new UsageError(
      '--backend postgres needs DATABASE_URL (a server with default durability: eval "$(bench/start-postgres-durable)")',
    );
  }
  const kind = values.backend;
  console.log(`machine: ${describeMachine()}`);
  const all: boolean[] = [];
  if (values.only !== "proofs") all.push(...(await ingestPart()));
  if (proofLeaves > 0) {
    log(`proof serving: a log of ${proofLeaves} leaves…`);
    const wrk = values["read-generator"] === "wrk" ? findWrk(log) : undefined;
    if (values["read-generator"] === "wrk" && wrk === undefined) {
      console.log(
        "wrk is not installed and could not be installed: reads measured with autocannon (its own cost on these cores is most of what it measures)",
      );
    }
    all.push(
      await runProofServing(
        () => openEngine(kind, [], threads),
        CHAIN_ID,
        proofLeaves,
        32,
        readSeconds,
        log,
        wrk === undefined ? { kind: "autocannon" } : { kind: "wrk", path: wrk },
        values["cpu-prof-dir"],
      ),
    );
  }
  return all.every(Boolean);

  /** Signed-action ingest, in process and over HTTP; returns the GOAL results. */
  async function ingestPart(): Promise<boolean[]> {
    // Whole rounds of the connections: each agent's actions of a round follow
    // its actions of the round before, and every connection sends its own share.
    const perRound = Math.ceil(n / rounds / connections) * connections;
    const measured = perRound * rounds;
    console.log(
      `gateway bench: ${measured} signed actions in ${rounds} round${rounds === 1 ? "" : "s"} (after ${warmup} untimed), ${connections} agents on ${connections} connections, ${threads} recovery thread(s), ${kind}`,
    );
    // One agent per connection: an agent's requests go in order, like a real agent's.
    const agents = makeAgents(connections);
    log("signing…");
    const actions = signActions(agents, warmup + measured, CHAIN_ID);
    const warm = actions.slice(0, warmup);
    const round = (r: number) => actions.slice(warmup + r * perRound, warmup + (r + 1) * perRound);

    log("baselines: one-thread OpenSSL verify and libsecp256k1 recovery…");
    const verifyRate = baselineVerifyRate(Math.min(n, 5000));
    const recoverRate = baselineRecoverRate(Math.min(n, 5000));

    // Two engines of the same configuration on fresh databases, open side by
    // side: one called in process, one behind the gateway.
    const a = await openEngine(kind, agents, threads);
    const b = await openEngine(kind, agents, threads);
    const app = await buildGateway({
      ...gatewayServices({ engine: b.engine, chainId: CHAIN_ID }),
      logger: false,
      rateLimit: false,
    });
    const key = (await new ApiKeyStore(b.db).create({ scopes: ["ingest"] })).key;
    await app.listen({ host: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const dir = mkdtempSync(join(tmpdir(), "chaoscore-bench-bodies-"));
    // One line per agent, its actions in nonce order: each connection is one agent.
    const bodies = (name: string, signed: Signed[]) => {
      const file = join(dir, name);
      const lines = agents.map((_, a) => signed.filter((_, i) => i % agents.length === a));
      writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
      return file;
    };
    const generator = new LoadGenerator(url, connections, key, values["cpu-prof-dir"]);
    if (warmup > 0) {
      log(`warm-up: ${warmup} actions in process, ${warmup} over HTTP…`);
      await inProcess(a.engine, warm, connections);
      const warmed = await generator.send(bodies("warmup.ndjson", warm));
      if (warmed.ok !== warmup) {
        throw new Error(`the warm-up over HTTP had ${warmed.ok} of ${warmup} actions accepted`);
      }
    }

    // The passes alternate, round by round, so that a change in the machine's
    // speed during the run weighs on both.
    const pass = (): Stretch => ({
      seconds: 0,
      cpuMicros: 0,
      threads: new Map(),
      machine: { busy: 0, total: 0 },
      loop: { samples: 0, sumNs: 0, maxNs: 0 },
    });
    const inPass = pass();
    const httpPass = pass();
    const loads: Load[] = [];
    const roundRatios: number[] = [];
    const tx = { in: 0, inMs: 0, http: 0, httpMs: 0 };
    const profileDir = values["cpu-prof-dir"];
    /** With --cpu-prof-dir, starts a profile of the gateway's thread for one pass of round `r`. */
    const profileRound = (pass: "inprocess" | "http", r: number) =>
      profileDir === undefined
        ? undefined
        : profileTo(
            join(profileDir, `gateway-${pass}-ingest-round${r + 1}-${Date.now()}.cpuprofile`),
          );
    for (let r = 0; r < rounds; r++) {
      log(`round ${r + 1} of ${rounds}: in-process ingest…`);
      const signed = round(r);
      const stopInProfile = await profileRound("inprocess", r);
      const [txIn, txInMs] = [a.transactions(), a.transactionMs()];
      const inRound = await timed(() => inProcess(a.engine, signed, connections));
      tx.in += a.transactions() - txIn;
      tx.inMs += a.transactionMs() - txInMs;
      await stopInProfile?.();

      log(`round ${r + 1} of ${rounds}: HTTP ingest…`);
      const file = bodies(`round-${r}.ndjson`, signed);
      const stopProfile = await profileRound("http", r);
      const [txHttp, txHttpMs] = [b.transactions(), b.transactionMs()];
      const httpRound = await timed(() => generator.send(file));
      tx.http += b.transactions() - txHttp;
      tx.httpMs += b.transactionMs() - txHttpMs;
      await stopProfile?.();
      const load = httpRound.value;
      loads.push(load);
      roundRatios.push(load.ok / load.seconds / (perRound / inRound.seconds));
      addStretch(inPass, inRound);
      // Over HTTP, the load generator's own clock: from its built requests to the last answer.
      addStretch(httpPass, { ...httpRound, seconds: load.seconds });
    }
    await generator.close();
    const size = await b.engine.log.size();
    const sum = (pick: (l: Load) => number) => loads.reduce((t, l) => t + pick(l), 0);
    const ok = sum((l) => l.ok);
    const refused = sum((l) => l.non2xx);
    const failed = sum((l) => l.errors + l.timeouts);
    if (refused > 0) {
      // The refusals' codes, from the gateway's metrics (the load generator only counts them).
      const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
      for (const line of metrics.split("\n")) {
        if (line.startsWith("chaoscore_requests_rejected_total{")) console.log(`refused: ${line}`);
      }
    }
    const settings = (
      await b.db.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings
       WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name`,
      )
    )
      .map((r) => `${r.name}=${r.setting}`)
      .join(", ");
    await app.close();
    await b.cleanup();
    await a.cleanup();
    rmSync(dir, { recursive: true, force: true });

    const inRate = measured / inPass.seconds;
    const httpRate = ok / httpPass.seconds;
    const ratio = httpRate / inRate;
    const p50s = loads.map((l) => l.p50);
    const p99s = loads.map((l) => l.p99);
    console.log("");
    console.log("                      actions/s   p50 ms   p99 ms");
    console.log(`in-process ingest  ${inRate.toFixed(0).padStart(12)}        —        —`);
    console.log(
      `HTTP ingest        ${httpRate.toFixed(0).padStart(12)} ${String(Math.max(...p50s)).padStart(8)} ${String(Math.max(...p99s)).padStart(8)}`,
    );
    console.log(
      `HTTP: ${ok} accepted, ${refused} non-2xx, ${failed} errors or timeouts in ${httpPass.seconds.toFixed(2)} s (autocannon's own duration ${sum((l) => l.autocannonSeconds).toFixed(2)} s: with the building of its requests); in process ${inPass.seconds.toFixed(2)} s; log size ${size} (${warmup} warm-up + ${measured})`,
    );
    console.log(
      `ratio HTTP / in-process: ${ratio.toFixed(3)} (rounds: ${roundRatios.map((x) => x.toFixed(3)).join(", ")})`,
    );
    // CPU per action, every thread of this process (user + system); the load generator's own.
    const perAction = (micros: number) => (micros / measured).toFixed(0);
    console.log(
      `CPU per action, µs: in-process ${perAction(inPass.cpuMicros)}; over HTTP ${perAction(httpPass.cpuMicros)} (gateway process) + ${perAction(sum((l) => l.cpuMicros))} (load generator); load ${loadavg()[0]?.toFixed(2)}`,
    );
    console.log(
      `  by thread, µs per action: in-process ${formatThreadCpu(inPass.threads, measured)}; over HTTP ${formatThreadCpu(httpPass.threads, measured)}`,
    );
    // The whole machine (the database server and the load generator included), where /proc tells.
    const busy = (p: Stretch) => `${((100 * p.machine.busy) / p.machine.total).toFixed(0)}%`;
    if (inPass.machine.total > 0 && httpPass.machine.total > 0) {
      console.log(
        `  whole machine, µs per action (busy): in-process ${perAction(inPass.machine.busy)} (${busy(inPass)}); over HTTP ${perAction(httpPass.machine.busy)} (${busy(httpPass)})`,
      );
    }
    // The histogram holds the whole interval between the timer's runs: the lateness is what exceeds it.
    const late = (p: Stretch) => {
      const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS).toFixed(2);
      return `${ms(p.loop.sumNs / Math.max(1, p.loop.samples))} / ${ms(p.loop.maxNs)}`;
    };
    console.log(
      `  main thread's event loop, ms late (mean / max, a ${LOOP_RESOLUTION_MS} ms timer): in-process ${late(inPass)}; over HTTP ${late(httpPass)}`,
    );
    console.log(
      `  database transactions: in-process ${tx.in} (${(measured / tx.in).toFixed(1)} actions, ${(tx.inMs / tx.in).toFixed(1)} ms each); over HTTP ${tx.http} (${(measured / tx.http).toFixed(1)} actions, ${(tx.httpMs / tx.http).toFixed(1)} ms each)`,
    );
    console.log(`${kind} settings: ${settings}`);
    console.log(
      `baseline  node:crypto secp256k1 verify, 1 thread: ${verifyRate.toFixed(0)} /s; libsecp256k1 (native) recovery, 1 thread: ${recoverRate === null ? "binding did not load" : `${recoverRate.toFixed(0)} /s`}; ingest recovery: ${engineSecp256k1().recovery.name}`,
    );
    console.log(
      `HTTP ingest / verify ${(httpRate / verifyRate).toFixed(2)}, / recovery ${recoverRate === null ? "-" : (httpRate / recoverRate).toFixed(2)}`,
    );
    console.log("");
    return [
      goal("gateway_http_vs_inprocess_ratio", ratio, 0.8, true),
      goal("gateway_http_rejected", refused + failed, 0, false),
      goal("gateway_http_log_complete", size, warmup + measured, true),
    ];
  }
}
