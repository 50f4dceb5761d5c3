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

import {
  ed25519Backend,
  entryDigest,
  type Hex,
  type Receipt,
  recoverAddress,
  signAction,
  signOutcome,
  verifyReceipt,
} from "@chaoscore/core";
import type { Engine } from "@chaoscore/engine";
import { engineSecp256k1 } from "@chaoscore/log";
import { ed25519 } from "@noble/curves/ed25519.js";
import { makeAgents, registerAgents } from "./agents.js";

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
};

type Task = { items: readonly unknown[]; fn: (item: never) => void };

/**
 * Calls per second of each task, measured in interleaved rounds (each task
 * runs `msPerRound` in turn, `rounds` times): on a shared machine whose load
 * moves from one second to the next, every task sees the same load.
 */
function interleavedRates(tasks: readonly Task[], rounds = 8, msPerRound = 200): number[] {
  const calls = tasks.map(() => 0);
  const ms = tasks.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (const [i, task] of tasks.entries()) {
      const fn = task.fn as (item: unknown) => void;
      const start = performance.now();
      let elapsed = 0;
      while (elapsed < msPerRound) {
        for (const item of task.items) fn(item);
        calls[i] = (calls[i] as number) + task.items.length;
        elapsed = performance.now() - start;
      }
      ms[i] = (ms[i] as number) + elapsed;
    }
  }
  return calls.map((c, i) => c / ((ms[i] as number) / 1000));
}

/** Records `n` actions with an outcome each (one checkpoint per write) and measures. */
export async function runReceiptBench(
  engine: Engine,
  chainId: bigint,
  verifierKey: string,
  n: number,
  log: (message: string) => void,
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
    const message = new TextEncoder().encode(r.checkpoint);
    return { message, signature: ed25519.sign(message, seed) };
  });
  const installed = ed25519Backend();
  const [verifyPerSecond = 0, recoverPerSecond = 0, ed25519PerSecond = 0] = interleavedRates([
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
  ]);
  const limitPerSecond = 1 / (2 / recoverPerSecond + 1 / ed25519PerSecond);
  return {
    receipts: receipts.length,
    verifyPerSecond,
    recoverPerSecond,
    ed25519PerSecond,
    limitPerSecond,
    recovery: engineSecp256k1().recovery.name,
    ed25519: installed.name,
  };
}
