/**
 * Bulk receipt verification on one thread: `verifyReceipt` per second over
 * receipts that each carry an action and its outcome under their own signed
 * checkpoint, beside the limit its signature checks set — two secp256k1
 * recoveries (the action's and the outcome's signer) and one Ed25519
 * verification (the checkpoint's signed note) — measured in the same run
 * with the same implementations (core's installed recovery, noble Ed25519).
 */

import {
  entryDigest,
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
};

/** Repeats `fn` over `items` until at least `minMs` have passed; returns calls per second. */
function rate<T>(items: readonly T[], fn: (item: T) => void, minMs = 1500): number {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    for (const item of items) fn(item);
    calls += items.length;
  }
  return calls / ((performance.now() - start) / 1000);
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
  const verifyPerSecond = rate(receipts, (r) => verifyReceipt(r, verifierKey));
  const sigs = receipts.flatMap((r) => [r.action.entry, r.outcome?.entry ?? r.action.entry]);
  const digests = sigs.map((e) => ({ digest: entryDigest(e), signature: e.signature }));
  const recoverPerSecond = rate(digests, (d) => recoverAddress(d.digest, d.signature));
  const seed = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(seed);
  const notes = receipts.map((r) => {
    const message = new TextEncoder().encode(r.checkpoint);
    return { message, signature: ed25519.sign(message, seed) };
  });
  const ed25519PerSecond = rate(notes, (x) => {
    if (!ed25519.verify(x.signature, x.message, publicKey, { zip215: false })) {
      throw new Error("ed25519 baseline did not verify");
    }
  });
  const limitPerSecond = 1 / (2 / recoverPerSecond + 1 / ed25519PerSecond);
  return {
    receipts: receipts.length,
    verifyPerSecond,
    recoverPerSecond,
    ed25519PerSecond,
    limitPerSecond,
    recovery: engineSecp256k1().recovery.name,
  };
}
