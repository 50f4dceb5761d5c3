/**
 * Anchor submission: signs the current checkpoint and sends it with the
 * consistency proof from the latest checkpoint on chain, unless a live record
 * or the contract already has it ({@link anchorCurrent}); waits for an anchor
 * to be final ({@link waitFinal}).
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { AnchoredCheckpoint } from "@chaoscore/chain";
import { bytesToHex, fail, isChaosCoreError } from "@chaoscore/core";
import { findOnChain, logMismatch, reconcileRecord, recordFromChain } from "./anchor-reconcile.js";
import {
  type AnchorRecord,
  anchorRecord,
  insertAnchorRecord,
  liveAnchorRecord,
  liveAnchorRecords,
  updateAnchor,
} from "./anchor-records.js";
import { type AnchoringContext, describeError } from "./anchoring-context.js";

export async function anchorCurrent(ctx: AnchoringContext): Promise<AnchorRecord | null> {
  // Anchors still in the pool: follow them first; never race a second transaction past them.
  for (const live of await liveAnchorRecords(ctx)) {
    const after = await reconcileRecord(ctx, live);
    if (after.status === "pending" && after.txHash !== null) return after;
  }
  const cp = await ctx.log.checkpoint();
  if (cp.size === 0) return null;
  const root = bytesToHex(cp.rootHash);
  const existing = await liveAnchorRecord(ctx, cp.size);
  if (existing !== undefined && existing.txHash !== null) return existing;

  // The chain is the truth: the checkpoint may be there already (a crash after sending).
  const latest = await ctx.anchor.latest(ctx.log.origin);
  const there = await findOnChain(ctx, cp.size, root, latest);
  const id = existing?.id ?? (await insertAnchorRecord(ctx, cp.size, root));
  if (existing !== undefined) {
    await updateAnchor(ctx, id, { attempts: existing.attempts + 1, status: "pending" });
  }
  if (there !== undefined) return await recordFromChain(ctx, id, there);

  let proof: Uint8Array[] = [];
  let index = 0n;
  if (latest !== undefined) {
    await assertExtends(ctx, latest);
    if (latest.size > BigInt(cp.size)) {
      throw logMismatch(
        ctx,
        `the chain holds a checkpoint of size ${latest.size} of this log, beyond the local log's size ${cp.size}`,
        latest,
      );
    }
    proof = await ctx.log.consistencyProof(Number(latest.size), cp.size);
    index = latest.index + 1n;
  }
  try {
    const sent = await ctx.anchor.anchor({
      origin: ctx.log.origin,
      index,
      size: cp.size,
      root,
      proof,
    });
    await updateAnchor(ctx, id, {
      tx_hash: sent.hash,
      anchor_index: Number(index),
      last_error: null,
    });
  } catch (error) {
    if (isChaosCoreError(error, "CHAIN_REVERTED") && error.details?.error === "AlreadyAnchored") {
      const again = await findOnChain(ctx, cp.size, root);
      if (again !== undefined) return await recordFromChain(ctx, id, again);
    }
    // Nothing is on chain after a revert, a refusal or missing funds; after an
    // unreachable node the transaction may be out there: reconcile decides.
    const unknown = isChaosCoreError(error, "CHAIN_RPC_UNREACHABLE");
    if (!unknown) ctx.client.resetNonce?.(ctx.signer?.address);
    await updateAnchor(ctx, id, {
      status: unknown ? "pending" : "dropped",
      last_error: describeError(error),
    });
    throw error;
  }
  return await reconcileRecord(ctx, await anchorRecord(ctx, id));
}

/** Checks that the chain's latest checkpoint of this log is a checkpoint of the local log. */
export async function assertExtends(
  ctx: AnchoringContext,
  latest: AnchoredCheckpoint,
): Promise<void> {
  const size = await ctx.log.size();
  if (latest.size > BigInt(size)) {
    throw logMismatch(
      ctx,
      `the chain holds a checkpoint of size ${latest.size} of this log, beyond the local log's size ${size}`,
      latest,
    );
  }
  const ours = bytesToHex(await ctx.log.rootAt(Number(latest.size)));
  if (ours !== latest.root.toLowerCase()) {
    throw logMismatch(
      ctx,
      `the root anchored on chain at size ${latest.size} is not the local log's root at that size`,
      latest,
    );
  }
}

export async function waitFinal(
  ctx: AnchoringContext,
  record: AnchorRecord,
  timeoutMs: number,
): Promise<AnchorRecord> {
  const deadline = Date.now() + timeoutMs;
  let current = record;
  for (;;) {
    if (current.status === "final" || current.status === "dropped") return current;
    if (current.txHash !== null) {
      await ctx.client.waitForTransaction(current.txHash, {
        confirmations: ctx.confirmations,
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
    }
    current = await reconcileRecord(ctx, await anchorRecord(ctx, current.id));
    if (current.status !== "final" && Date.now() >= deadline) {
      fail(
        "CHAIN_TIMEOUT",
        `the anchor of size ${current.size} is not final after ${timeoutMs} ms`,
        {
          txHash: current.txHash,
          status: current.status,
        },
      );
    }
    if (current.status !== "final") await sleep(100);
  }
}
