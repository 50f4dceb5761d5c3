/**
 * `npm run bench -- flood`: memory of the ingest queue under a flood. Submits
 * N signed actions with large payloads all at once (no back-pressure from the
 * caller, as a flood of HTTP requests would), first with the queue's default
 * bounds, then unbounded, and samples the process's memory while they drain.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEVELOPMENT_DEPLOYMENT, generateNoteKey, isChaosCoreError } from "@chaoscore/core";
import { createEngine, openDatabase } from "@chaoscore/engine";
import { DEFAULT_LIMITS } from "@chaoscore/log";
import { makeAgents, registerAgents, signActions } from "./agents.js";
import { describeMachine, goal } from "./machine.js";
import { intOption } from "./options.js";

const CHAIN_ID = 31337n;
const MiB = 1024 * 1024;

async function openFlood(bounded: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "chaoscore-bench-flood-"));
  const db = await openDatabase({ databaseUrl: null, dataDir: dir });
  const origin = "chaoscore.bench/log/flood";
  const engine = await createEngine({
    db,
    chainId: CHAIN_ID,
    log: { origin, ...generateNoteKey(origin) },
    signatureThreads: 1,
    verifyingContract: DEVELOPMENT_DEPLOYMENT,
    clockSkewSeconds: 86_400,
    ...(bounded
      ? {}
      : {
          limits: {
            maxQueueEntries: Number.POSITIVE_INFINITY,
            maxQueueBytes: Number.POSITIVE_INFINITY,
          },
        }),
  });
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakExternal = base.external + base.arrayBuffers;
  let peakHeap = base.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
  }, 20);
  return { engine, db, dir, base, timer, peaks: () => ({ peakRss, peakHeap, peakExternal }) };
}

export async function runFloodBench(argv: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args: argv,
    options: {
      actions: { type: "string", default: "4000" },
      "payload-kib": { type: "string", default: "64" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(`npm run bench -- flood [--actions 4000] [--payload-kib 64]

Submits --actions signed actions, each with a payload of --payload-kib KiB,
all at once to one engine (PGlite), with the ingest queue's default bounds
and then unbounded; prints the peak memory above the starting point and how
many were refused with AGENCY_QUEUE_FULL.`);
    return true;
  }
  const n = intOption("actions", values.actions);
  const kib = intOption("payload-kib", values["payload-kib"]);
  console.log(`# flood bench — ${new Date().toISOString()}`);
  console.log(`machine: ${describeMachine()}`);
  console.log(
    `${n} actions × ${kib} KiB payload submitted at once; default bounds ${DEFAULT_LIMITS.maxQueueEntries} entries / ${DEFAULT_LIMITS.maxQueueBytes / MiB} MiB`,
  );
  const blob = "x".repeat(kib * 1024 - 32);
  const results: Record<string, { peak: number; refused: number; accepted: number }> = {};
  for (const bounded of [true, false]) {
    const agents = makeAgents(50);
    const signed = signActions(agents, n, CHAIN_ID, undefined, (i) => ({ i, blob }));
    const f = await openFlood(bounded);
    await registerAgents(f.engine, agents, CHAIN_ID);
    // The bodies as a gateway holds them once parsed: the flood's own memory is in the baseline.
    global.gc?.();
    const start = process.memoryUsage().rss;
    const settled = await Promise.allSettled(signed.map((s) => f.engine.agency.recordAction(s)));
    clearInterval(f.timer);
    const { peakRss } = f.peaks();
    const refused = settled.filter(
      (s) => s.status === "rejected" && isChaosCoreError(s.reason, "AGENCY_QUEUE_FULL"),
    ).length;
    const accepted = settled.filter((s) => s.status === "fulfilled").length;
    const label = bounded ? "bounded (default)" : "unbounded";
    results[label] = { peak: (peakRss - start) / MiB, refused, accepted };
    console.log(
      `${label.padEnd(18)} peak RSS above start ${((peakRss - start) / MiB).toFixed(0)} MiB; accepted ${accepted}, refused AGENCY_QUEUE_FULL ${refused}, other ${n - accepted - refused}`,
    );
    await f.engine.close();
    await f.db.close();
    rmSync(f.dir, { recursive: true, force: true });
  }
  const bounded = results["bounded (default)"];
  return goal(
    "flood_bounded_peak_rss_mib",
    bounded?.peak ?? Number.POSITIVE_INFINITY,
    (DEFAULT_LIMITS.maxQueueBytes / MiB) * 3,
    false,
  );
}
