/**
 * `npm run bench -- witness`: what a C2SP tlog-witness costs.
 *
 * 1. Checkpoints per second one witness cosigns, one after another for one
 *    log (each with a consistency proof from the one it holds), for logs of
 *    1k to 1M entries: a direct call into the witness (its own work: log
 *    signature, proof, compare-and-swap, cosignature) with its real store
 *    (PGlite on disk) and with the in-memory store, then over HTTP on loopback.
 * 2. The latency cosigning adds to checkpoint publication: an engine (PGlite)
 *    records one action at a time; the time from the committed checkpoint to
 *    the cosignatures of three witnesses on loopback stored beside it.
 *
 * Options: --sizes 1000,10000,100000,1000000  --count 500  --rounds 200
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  DEVELOPMENT_DEPLOYMENT,
  formatAddCheckpointRequest,
  generateNoteKey,
  generatePrivateKey,
  generateWitnessKey,
  signAction,
  signRegistration,
} from "@chaoscore/core";
import { createEngine, openDatabase } from "@chaoscore/engine";
import { WitnessingService } from "@chaoscore/log";
import { PostgresDb } from "@chaoscore/log/store";
import {
  MemoryWitnessStore,
  openWitnessStore,
  serveWitness,
  useNodeEd25519,
  Witness,
  type WitnessStore,
} from "@chaoscore/witness";
import { MemoryLog } from "../packages/witness/src/test-support/memory-log.js";
import { describeMachine, goal } from "./machine.js";
import { intListOption, intOption } from "./options.js";

const CHAIN_ID = 31337n;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** `count` request bodies growing a log of `size` entries, each proven from the one before. */
function requests(size: number, count: number) {
  const log = new MemoryLog(`bench.local/log-${size}`).append(size);
  const first = formatAddCheckpointRequest(0, [], log.checkpoint());
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = log.size;
    log.append(1 + (i % 16));
    bodies.push(formatAddCheckpointRequest(from, log.proof(from), log.checkpoint()));
  }
  return { log, first, bodies };
}

/** Checkpoints per second of wall time, and per second of this process's CPU time (one core). */
type Rate = { wall: number; cpu: number };

async function cosignRate(
  size: number,
  count: number,
  store: WitnessStore,
  send: (witness: Witness, body: string) => Promise<number>,
): Promise<Rate> {
  const { log, first, bodies } = requests(size, count);
  const witness = new Witness({
    signerKey: generateWitnessKey("bench.local/witness").signerKey,
    logs: [{ origin: log.origin, verifierKey: log.verifierKey }],
    store,
  });
  if ((await send(witness, first)) !== 200) throw new Error("the first checkpoint was refused");
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (const body of bodies) {
    const status = await send(witness, body);
    if (status !== 200) throw new Error(`a checkpoint was refused: ${status}`);
  }
  const used = process.cpuUsage(cpu);
  return {
    wall: count / ((performance.now() - start) / 1000),
    cpu: count / ((used.user + used.system) / 1e6),
  };
}

const show = (r: Rate) => `${r.wall.toFixed(0).padStart(5)}/s (${r.cpu.toFixed(0)}/CPU-s)`;

export async function runWitnessBench(args: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: "string", default: "1000,10000,100000,1000000" },
      count: { type: "string", default: "500" },
      rounds: { type: "string", default: "200" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run bench -- witness [--sizes 1000,…] [--count 500] [--rounds 200]");
    return true;
  }
  useNodeEd25519();
  const sizes = intListOption("sizes", values.sizes);
  const count = intOption("count", values.count);
  const rounds = intOption("rounds", values.rounds);
  console.log(`machine: ${describeMachine()}, load average ${loadavg()[0]?.toFixed(1)}`);
  console.log(`witness: ${count} checkpoints per log, one after another (1–16 entries apart)`);

  // ---- 1. checkpoints per second ------------------------------------------------------------
  const direct = async (w: Witness, body: string) => (await w.addCheckpoint(body)).status;
  let worstPglite = Number.POSITIVE_INFINITY;
  for (const size of sizes) {
    const dir = mkdtempSync(join(tmpdir(), "chaoscore-bench-witness-"));
    const pglite = await openWitnessStore({ dataDir: dir });
    let pgliteRate: Rate;
    try {
      pgliteRate = await cosignRate(size, count, pglite, direct);
    } finally {
      await pglite.close();
      rmSync(dir, { recursive: true, force: true });
    }
    worstPglite = Math.min(worstPglite, pgliteRate.cpu);
    const memoryRate = await cosignRate(size, count, new MemoryWitnessStore(), direct);
    // With DATABASE_URL: the witness on a Postgres server (its own schema, dropped after).
    let postgres = "";
    const url = process.env.DATABASE_URL;
    if (url !== undefined && url !== "") {
      const schema = `chaoscore_bench_witness_${process.pid}`;
      const store = await openWitnessStore({ databaseUrl: url, schema });
      try {
        postgres = `, Postgres store ${show(await cosignRate(size, count, store, direct))}`;
      } finally {
        await store.close();
        const db = await PostgresDb.open(url);
        await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      }
    }
    const http = await (async () => {
      let server: Awaited<ReturnType<typeof serveWitness>> | undefined;
      const store = new MemoryWitnessStore();
      return cosignRate(size, count, store, async (w, body) => {
        server ??= await serveWitness(w);
        const r = await fetch(`${server.url}/add-checkpoint`, { method: "POST", body });
        await r.arrayBuffer();
        return r.status;
      }).finally(() => server?.close());
    })();
    console.log(
      `log of ${size.toLocaleString("en-US").padStart(9)} entries: PGlite store ${show(pgliteRate)}${postgres}, memory store ${show(memoryRate)}, over HTTP ${show(http)} (memory store, one connection, client and server in this process)`,
    );
  }

  // ---- 2. latency added to publication by three witnesses ------------------------------------
  const db = await openDatabase({ databaseUrl: null, dataDir: ":memory:" });
  const origin = "bench.local/log/default";
  const engine = await createEngine({
    db,
    chainId: CHAIN_ID,
    verifyingContract: DEVELOPMENT_DEPLOYMENT,
    log: { origin, ...generateNoteKey(origin) },
  });
  const servers: Awaited<ReturnType<typeof serveWitness>>[] = [];
  const added: number[] = [];
  try {
    const endpoints = [];
    for (let i = 1; i <= 3; i++) {
      const { signerKey, verifierKey } = generateWitnessKey(`bench.local/w${i}`);
      const witness = new Witness({
        signerKey,
        logs: [{ origin, verifierKey: engine.log.verifierKey }],
        store: new MemoryWitnessStore(),
      });
      const server = await serveWitness(witness);
      servers.push(server);
      endpoints.push({ url: server.url, verifierKey });
    }
    const service = new WitnessingService({ log: engine.log, witnesses: endpoints });
    const privateKey = generatePrivateKey();
    const { verifyingContract } = engine.registry.domain;
    await engine.registry.register(
      signRegistration({
        privateKey,
        chainId: CHAIN_ID,
        verifyingContract,
        card: {
          format: "chaoscore.agent-card/v1",
          name: "bench witness agent",
          description: "",
          capabilities: ["bench"],
          framework: "bench",
          version: "1",
          endpoints: [],
          codeMeasurement: null,
          owner: null,
        },
      }),
    );
    for (let i = 0; i < rounds + 10; i++) {
      await engine.agency.recordAction(
        signAction({
          privateKey,
          chainId: CHAIN_ID,
          verifyingContract,
          actionType: "bench.step",
          nonce: BigInt(i + 1),
          payload: { i },
        }),
      );
      const cp = await engine.log.latestCheckpoint();
      if (cp === undefined) throw new Error("no checkpoint");
      const start = performance.now();
      const outcomes = await service.witness(cp);
      const ms = performance.now() - start;
      if (outcomes.some((o) => o.status !== "cosigned"))
        throw new Error("a witness did not cosign");
      if (i >= 10) added.push(ms); // after a warm-up
    }
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await engine.close();
    await db.close();
  }
  const p50 = percentile(added, 50);
  const p99 = percentile(added, 99);
  console.log(
    `cosigning by 3 witnesses on loopback after a checkpoint is published: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (${added.length} checkpoints, PGlite log)`,
  );
  // Checkpoints per CPU-second of this process (the witness's own work with its
  // PGlite store, the slowest log size): "on one core", whatever else runs.
  const a = goal("witness_checkpoints_per_cpu_s_pglite", worstPglite, 1000, true);
  const b = goal("witness_cosign_added_p99_ms", p99, 50, false);
  return a && b;
}
