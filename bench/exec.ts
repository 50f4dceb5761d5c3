import { createHash, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { createContext, Script } from "node:vm";
import { canonicalJson, type Hex } from "@chaoscore/core";
import { executeAttested, MockTeeProvider, SecureExecutionEnvironment } from "@chaoscore/sandbox";
import { measureGasSpread, measureMeteringOverhead } from "./exec-metering.js";
import { describeMachine, goal } from "./machine.js";
import { intOption } from "./options.js";

function log(message: string) {
  process.stderr.write(`${message}\n`);
}

/**
 * The small task: simulate a DAO proposal — tally weighted votes, project the
 * treasury month by month, and score the proposal with a few arithmetic loops.
 */
const TASK = `export default function main(p, host) {
  let forVotes = 0;
  let against = 0;
  for (const v of p.votes) {
    if (v.support) forVotes += v.weight;
    else against += v.weight;
  }
  let treasury = p.treasury;
  const path = [];
  for (let month = 0; month < 36; month++) {
    treasury = treasury * (1 + p.yieldPerMonth) - p.monthlySpend;
    path.push(Math.round(treasury));
  }
  let risk = 0;
  for (let i = 0; i < 200; i++) risk += Math.abs(Math.sin(i * p.volatility)) / 200;
  return {
    approve: forVotes > against && treasury > 0 && risk < 0.8,
    forVotes,
    against,
    runwayMonths: path.findIndex((t) => t < 0),
    risk: Math.round(risk * 1e6) / 1e6,
    sample: Math.floor(host.random() * 1e6),
  };
}
`;

const PROPOSAL = {
  votes: Array.from({ length: 50 }, (_, i) => ({ support: i % 3 !== 0, weight: 10 + (i % 7) })),
  treasury: 5_000_000,
  yieldPerMonth: 0.004,
  monthlySpend: 150_000,
  volatility: 0.37,
};

/** The same task in node:vm: a new context per run, the output canonicalized and hashed. */
function makeVmRunner() {
  const script = new Script(
    `${TASK.replace("export default function main", "function main")}\nJSON.stringify(main(JSON.parse(__input), { random: Math.random, log() {} }));`,
  );
  return (input: unknown) => {
    const context = createContext({ __input: JSON.stringify(input) });
    const out = JSON.parse(script.runInContext(context) as string);
    return createHash("sha256").update(canonicalJson(out)).digest("hex");
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

export async function runExecBench(argv: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "500" },
      cold: { type: "string", default: "5" },
      "metering-rounds": { type: "string", default: "7" },
      "spread-runs": { type: "string", default: "10" },
      "spread-gas": { type: "string", default: "20000000" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(`npm run bench -- exec [--runs 500] [--cold 5] [--metering-rounds 7]
  [--spread-runs 10] [--spread-gas 20000000]

Sandbox cold start (a new SecureExecutionEnvironment: worker thread, QuickJS
WebAssembly load, first run; median of --cold), warm runs per second (a fresh
QuickJS runtime and context per run), attested executions per second (run +
mock-tee quote), and the same task in node:vm (a fresh context per run, no
isolation, no attestation) with the overhead ratio. Gas metering: a CPU-bound
workload on the metered and on the original QuickJS module (median of
--metering-rounds, a fresh instance each), gas per second of each and the
ratio (goal ≤ 1.5×); and every corpus program run --spread-runs times under
--spread-gas, with the spread of gas used (goal 0).`);
    return true;
  }
  const runs = intOption("runs", values.runs);
  const coldRounds = intOption("cold", values.cold);
  const meteringRounds = intOption("metering-rounds", values["metering-rounds"]);
  const spreadRuns = intOption("spread-runs", values["spread-runs"]);
  const spreadGas = intOption("spread-gas", values["spread-gas"]);
  console.log(`# exec bench — ${new Date().toISOString()}`);
  console.log(`machine: ${describeMachine()}`);
  console.log(`task: DAO proposal simulation (50 votes, 36-month treasury, 200-step risk loop)`);

  log(`cold start × ${coldRounds}…`);
  const cold: number[] = [];
  for (let i = 0; i < coldRounds; i++) {
    const sandbox = new SecureExecutionEnvironment();
    const t0 = performance.now();
    await sandbox.run(TASK, PROPOSAL);
    cold.push(performance.now() - t0);
    await sandbox.close();
  }

  const sandbox = new SecureExecutionEnvironment();
  const tee = MockTeeProvider.create();
  try {
    await sandbox.warmUp();
    log(`warm runs × ${runs}…`);
    const firstHash = (await sandbox.run(TASK, PROPOSAL)).outputHash;
    const perRun: number[] = [];
    let t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = await sandbox.run(TASK, PROPOSAL);
      perRun.push(performance.now() - t);
      if (r.outputHash !== firstHash) throw new Error("the sandbox is not deterministic");
    }
    const runRate = runs / ((performance.now() - t0) / 1000);

    log(`attested runs × ${runs}…`);
    t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const nonce = `0x${randomBytes(32).toString("hex")}` as Hex;
      await executeAttested(TASK, PROPOSAL, { provider: tee, nonce, sandbox });
    }
    const attestedRate = runs / ((performance.now() - t0) / 1000);

    log(`node:vm runs × ${runs}…`);
    const vmRun = makeVmRunner();
    vmRun(PROPOSAL);
    t0 = performance.now();
    for (let i = 0; i < runs; i++) vmRun(PROPOSAL);
    const vmRate = runs / ((performance.now() - t0) / 1000);

    console.log(
      `cold start (worker + QuickJS load + first run): median ${median(cold).toFixed(1)} ms (${cold.map((c) => c.toFixed(0)).join(", ")})`,
    );
    console.log(
      `sandbox run, fresh runtime per run: ${runRate.toFixed(0)} runs/s, p50 ${median(perRun).toFixed(2)} ms`,
    );
    console.log(`attested executions (run + mock-tee quote): ${attestedRate.toFixed(0)} /s`);
    console.log(
      `node:vm, fresh context per run, no isolation/attestation: ${vmRate.toFixed(0)} runs/s`,
    );
    console.log(
      `overhead: node:vm / attested sandbox = ${(vmRate / attestedRate).toFixed(1)}×; node:vm / sandbox run = ${(vmRate / runRate).toFixed(1)}×`,
    );
    log(`gas metering overhead × ${meteringRounds}…`);
    const metering = await measureMeteringOverhead(meteringRounds);
    const ratio = metering.meteredMs / metering.plainMs;
    console.log(
      `gas metering: workload ${metering.gasUsed} gas; metered ${metering.meteredMs.toFixed(1)} ms = ${(metering.gasUsed / metering.meteredMs / 1000).toFixed(1)} Mgas/s; unmetered ${metering.plainMs.toFixed(1)} ms = ${(metering.gasUsed / metering.plainMs / 1000).toFixed(1)} Mgas/s; cost ${ratio.toFixed(2)}×`,
    );
    log(`corpus gas spread: ${spreadRuns} runs of each program…`);
    const rows = await measureGasSpread(spreadRuns, spreadGas);
    const worst = Math.max(...rows.map((r) => r.spread));
    const unstable = rows.filter((r) => r.outcomes.length !== 1).map((r) => r.file);
    for (const r of rows)
      console.log(`  ${r.file}: ${r.outcomes.join(" | ")}, gas ${r.gas}, spread ${r.spread}`);
    console.log(
      `corpus: ${rows.length} programs × ${spreadRuns} runs, largest gas spread ${worst}, programs with more than one outcome: ${unstable.length === 0 ? "none" : unstable.join(", ")}`,
    );
    let ok = goal("exec_attested_per_s", attestedRate, 100, true);
    ok = goal("exec_cold_start_ms", median(cold), 500, false) && ok;
    ok = goal("exec_metering_cost_x", ratio, 1.5, false) && ok;
    ok = goal("exec_corpus_gas_spread", worst + unstable.length, 0, false) && ok;
    return ok;
  } finally {
    await sandbox.close();
  }
}
