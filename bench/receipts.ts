/**
 * Bulk receipt verification on one thread: `verifyReceipt` per second over
 * receipts that each carry an action and its outcome under their own signed
 * checkpoint, beside the limit its signature checks set — two secp256k1
 * recoveries (the action's and the outcome's signer) and one Ed25519
 * verification (the checkpoint's signed note) — measured in the same run
 * with the same implementations `verifyReceipt` uses (core's installed
 * recovery and installed Ed25519: `createEngine` installs native ones), in
 * interleaved rounds so that the three see the same load.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  DEVELOPMENT_DEPLOYMENT,
  ed25519Backend,
  entryDigest,
  generateNoteKey,
  type Hex,
  type Receipt,
  recoverAddress,
  signAction,
  signOutcome,
  verifyReceipt,
} from "@chaoscore/core";
import { createEngine, type Engine, openDatabase } from "@chaoscore/engine";
import { engineSecp256k1 } from "@chaoscore/log";
import { ed25519 } from "@noble/curves/ed25519.js";
import { makeAgents, registerAgents } from "./agents.js";
import { describeMachine, goal } from "./machine.js";
import { intOption } from "./options.js";
import { median } from "./stats.js";

export type ReceiptBenchResult = {
  receipts: number;
  verifyPerSecond: number;
  recoverPerSecond: number;
  ed25519PerSecond: number;
  /** 1 / (2 recoveries + 1 Ed25519 verification). */
  limitPerSecond: number;
  recovery: string;
  /** The installed Ed25519 implementation (the one `verifyReceipt` uses). */
  ed25519: string;
  /**
   * The goal's ratio: the median over the rounds of each round's verify rate
   * over its limit (each round times the three tasks within ≈ 150 ms of each
   * other, so a burst of load that falls in one task's turn moves one round,
   * not the result).
   */
  ratio: number;
  /** verifyPerSecond / limitPerSecond: the rates pooled over every round (printed beside it). */
  pooledRatio: number;
  roundRatios: { min: number; median: number; max: number; rounds: number };
  /** The machine's 1-minute load average before and after the measurement. */
  load: { before: number; after: number };
};

type Task = { items: readonly unknown[]; fn: (item: never) => void };

/**
 * Calls per second of each task, measured in interleaved rounds (each task
 * runs `msPerRound` in turn, `rounds` times): on a shared machine whose load
 * moves from one second to the next, every task sees the same load. Returns
 * the rates over all rounds and each round's rates.
 */
function interleavedRates(
  tasks: readonly Task[],
  rounds: number,
  msPerRound: number,
): { rates: number[]; perRound: number[][] } {
  const calls = tasks.map(() => 0);
  const ms = tasks.map(() => 0);
  const perRound: number[][] = [];
  for (let round = 0; round < rounds; round++) {
    const rates: number[] = [];
    for (const [i, task] of tasks.entries()) {
      const fn = task.fn as (item: unknown) => void;
      const start = performance.now();
      let done = 0;
      let elapsed = 0;
      while (elapsed < msPerRound) {
        for (const item of task.items) fn(item);
        done += task.items.length;
        elapsed = performance.now() - start;
      }
      calls[i] = (calls[i] as number) + done;
      ms[i] = (ms[i] as number) + elapsed;
      rates.push(done / (elapsed / 1000));
    }
    perRound.push(rates);
  }
  return { rates: calls.map((c, i) => c / ((ms[i] as number) / 1000)), perRound };
}

/** 1 / (2 recoveries + 1 Ed25519 verification): receipts per second its signature checks allow. */
function limitOf(recoverPerSecond: number, ed25519PerSecond: number): number {
  return 1 / (2 / recoverPerSecond + 1 / ed25519PerSecond);
}

/** Records `n` actions with an outcome each (one checkpoint per write) and measures. */
export async function runReceiptBench(
  engine: Engine,
  chainId: bigint,
  verifierKey: string,
  n: number,
  log: (message: string) => void,
  rounds = 40,
  msPerRound = 50,
): Promise<ReceiptBenchResult> {
  const agents = makeAgents(10);
  await registerAgents(engine, agents, chainId);
  const receipts: Receipt[] = [];
  for (let i = 0; i < n; i++) {
    const agent = agents[i % agents.length] as (typeof agents)[number];
    const action = signAction({
      privateKey: agent.privateKey,
      chainId,
      actionType: "tool.call",
      nonce: ++agent.nonce,
      payload: { i },
    });
    const { id } = await engine.agency.recordAction(action);
    await engine.agency.recordOutcome(
      signOutcome({
        privateKey: agent.privateKey,
        chainId,
        action: id,
        status: "success",
        nonce: ++agent.nonce,
        result: { ok: true },
        metrics: { score: 1 },
      }),
    );
    receipts.push(JSON.parse(JSON.stringify(await engine.agency.getReceipt(id))) as Receipt);
  }
  const checkpoints = new Set(receipts.map((r) => r.checkpoint));
  log(`  receipts: ${receipts.length} built under ${checkpoints.size} checkpoints`);
  for (const r of receipts) verifyReceipt(r, verifierKey); // all valid, and warm
  const sigs = receipts.flatMap((r) => [r.action.entry, r.outcome?.entry ?? r.action.entry]);
  const digests = sigs.map((e) => ({ digest: entryDigest(e), signature: e.signature }));
  const seed = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(seed);
  const notes = receipts.map((r) => {
    // what verifyReceipt verifies: the note's text, up to the blank line before its signatures
    const message = new TextEncoder().encode(
      r.checkpoint.slice(0, r.checkpoint.lastIndexOf("\n\n") + 1),
    );
    return { message, signature: ed25519.sign(message, seed) };
  });
  const installed = ed25519Backend();
  const loadBefore = loadavg()[0] ?? 0;
  const { rates, perRound } = interleavedRates(
    [
      { items: receipts, fn: (r: Receipt) => verifyReceipt(r, verifierKey) },
      {
        items: digests,
        fn: (d: { digest: Uint8Array; signature: Hex }) => recoverAddress(d.digest, d.signature),
      },
      {
        items: notes,
        fn: (x: { message: Uint8Array; signature: Uint8Array }) => {
          if (!installed.verify(x.signature, x.message, publicKey)) {
            throw new Error("ed25519 baseline did not verify");
          }
        },
      },
    ],
    rounds,
    msPerRound,
  );
  const [verifyPerSecond = 0, recoverPerSecond = 0, ed25519PerSecond = 0] = rates;
  const limitPerSecond = limitOf(recoverPerSecond, ed25519PerSecond);
  const inOrder = perRound.map(([v = 0, r = 1, e = 1]) => v / limitOf(r, e));
  log(`  ratio per round, in order: ${inOrder.map((x) => x.toFixed(3)).join(" ")}`);
  const medianRatio = median(inOrder);
  return {
    receipts: receipts.length,
    verifyPerSecond,
    recoverPerSecond,
    ed25519PerSecond,
    limitPerSecond,
    recovery: engineSecp256k1().recovery.name,
    ed25519: installed.name,
    ratio: medianRatio,
    pooledRatio: verifyPerSecond / limitPerSecond,
    roundRatios: {
      min: inOrder.length === 0 ? 0 : Math.min(...inOrder),
      median: medianRatio,
      max: inOrder.length === 0 ? 0 : Math.max(...inOrder),
      rounds: inOrder.length,
    },
    load: { before: loadBefore, after: loadavg()[0] ?? 0 },
  };
}

/**
 * Prints the three rates, the limit and the ratio (with the load average),
 * then the `verify_receipt_vs_signature_limit` goal line; true when it passes.
 */
export function reportReceiptBench(r: ReceiptBenchResult): boolean {
  console.log(
    `verifyReceipt, 1 thread, ${r.receipts} receipts (action + outcome, own checkpoints): ${r.verifyPerSecond.toFixed(0)} /s`,
  );
  console.log(
    `  signature checks: recovery ${r.recoverPerSecond.toFixed(0)} /s (${r.recovery}), Ed25519 verify ${r.ed25519PerSecond.toFixed(0)} /s (${r.ed25519}); limit (2 recoveries + 1 Ed25519) ${r.limitPerSecond.toFixed(0)} /s`,
  );
  console.log(
    `  ratio ${r.ratio.toFixed(3)}: the median of ${r.roundRatios.rounds} interleaved rounds (min ${r.roundRatios.min.toFixed(3)}, max ${r.roundRatios.max.toFixed(3)}); the rates pooled over every round give ${r.pooledRatio.toFixed(3)} (load ${r.load.before.toFixed(1)} → ${r.load.after.toFixed(1)})`,
  );
  return goal("verify_receipt_vs_signature_limit", r.ratio, 0.7, true);
}

/**
 * `npm run bench -- receipts`: the verifyReceipt part of the ingest bench
 * alone (a fresh PGlite data directory, the engine's native recovery and
 * Ed25519 installed as `createEngine` does).
 */
export async function runReceiptsBench(argv: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args: argv,
    options: {
      receipts: { type: "string", default: "300" },
      rounds: { type: "string", default: "40" },
      "round-ms": { type: "string", default: "50" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(`npm run bench -- receipts [--receipts 300] [--rounds 40] [--round-ms 50]

Records --receipts actions with an outcome each (one checkpoint per write) into
a fresh PGlite data directory, then measures on one thread, in --rounds
interleaved rounds of --round-ms each (short rounds: a burst of load on the
shared machine falls on all three tasks alike): verifyReceipt per second, and the rates of
its signature checks with the same implementations (secp256k1 recovery,
Ed25519 verification); prints the limit 1 / (2 recoveries + 1 Ed25519), each
round's ratio of verifyReceipt to that limit, their median (the goal's figure:
a burst of load in one task's turn moves one round, not the median), the ratio
of the rates pooled over every round, and the load average.`);
    return true;
  }
  const count = intOption("receipts", values.receipts);
  const rounds = intOption("rounds", values.rounds);
  const roundMs = intOption("round-ms", values["round-ms"]);
  const chainId = 31337n;
  console.log(`# receipts bench — ${new Date().toISOString()}`);
  console.log(`machine: ${describeMachine()}`);
  const dir = mkdtempSync(join(tmpdir(), "chaoscore-bench-receipts-"));
  const db = await openDatabase({ databaseUrl: null, dataDir: dir });
  try {
    const origin = "chaoscore.bench/log/receipts";
    const keys = generateNoteKey(origin);
    const engine = await createEngine({
      db,
      chainId,
      verifyingContract: DEVELOPMENT_DEPLOYMENT,
      log: { origin, ...keys },
      clockSkewSeconds: 86_400,
    });
    const log = (message: string) => process.stderr.write(`${message}\n`);
    const r = await runReceiptBench(engine, chainId, keys.verifierKey, count, log, rounds, roundMs);
    await engine.close();
    return reportReceiptBench(r);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
