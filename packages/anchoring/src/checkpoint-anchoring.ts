/**
 * Anchor submission: signs the current checkpoint and sends it with the
 * consistency proof from the latest checkpoint on chain, unless a live record
 * or the contract already has it ({@link anchorCurrent}); waits for an anchor
 * to be final ({@link waitFinal}).
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  type AnchoredCheckpoint,
  type AnchorInput,
  type GroupLogState,
  groupStateHash,
  logIdOf,
} from "@chaoscore/chain";
import { bytesToHex, fail, type Hex, isChaosCoreError } from "@chaoscore/core";
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

/** A checkpoint ready to send: its record is inserted, its contract input computed. */
type PreparedAnchor = {
  readonly ctx: AnchoringContext;
  readonly id: number;
  readonly size: number;
  readonly root: Hex;
  readonly index: bigint;
  readonly input: AnchorInput;
};

/**
 * Decides what anchoring the log of `ctx` needs now: nothing (an empty log),
 * a record already live or found on chain (`done`), or a checkpoint to send
 * (`send`, its record inserted as pending).
 */
async function prepareAnchor(
  ctx: AnchoringContext,
): Promise<{ done: AnchorRecord | null } | { send: PreparedAnchor }> {
  // Anchors still in the pool: follow them first; never race a second transaction past them.
  for (const live of await liveAnchorRecords(ctx)) {
    const after = await reconcileRecord(ctx, live);
    if (after.status === "pending" && after.txHash !== null) return { done: after };
  }
  const cp = await ctx.log.checkpoint();
  if (cp.size === 0) return { done: null };
  const root = bytesToHex(cp.rootHash);
  const existing = await liveAnchorRecord(ctx, cp.size);
  if (existing !== undefined && existing.txHash !== null) return { done: existing };

  // The chain is the truth: the checkpoint may be there already (a crash after sending).
  const latest = await ctx.anchor.latest(ctx.log.origin);
  const there = await findOnChain(ctx, cp.size, root, latest);
  const id = existing?.id ?? (await insertAnchorRecord(ctx, cp.size, root));
  if (existing !== undefined) {
    await updateAnchor(ctx, id, { attempts: existing.attempts + 1, status: "pending" });
  }
  if (there !== undefined) return { done: await recordFromChain(ctx, id, there) };

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
  const input = { origin: ctx.log.origin, index, size: cp.size, root, proof };
  return { send: { ctx, id, size: cp.size, root, index, input } };
}

/**
 * Sends the prepared checkpoints: one `anchor` transaction for one, one
 * `anchorBatch` (all or nothing, each proof verified on chain) for several.
 * Returns their records after a first reconcile.
 */
async function sendAnchors(
  prepared: readonly PreparedAnchor[],
  group?: GroupMode,
): Promise<AnchorRecord[]> {
  const first = prepared[0];
  if (first === undefined) return [];
  const { ctx } = first;
  try {
    const sent =
      group !== undefined
        ? (
            await ctx.anchor.anchorGroup(
              group.family,
              group.state,
              prepared.map((p) => ({
                origin: p.input.origin,
                size: p.input.size,
                root: p.input.root,
                proof: p.input.proof ?? [],
                retire: p.ctx.frozenSize === p.size,
              })),
            )
          ).sent
        : prepared.length === 1
          ? await ctx.anchor.anchor(first.input)
          : await ctx.anchor.anchorBatch(prepared.map((p) => p.input));
    for (const p of prepared) {
      await updateAnchor(p.ctx, p.id, {
        tx_hash: sent.hash,
        anchor_index: Number(p.index),
        last_error: null,
      });
    }
  } catch (error) {
    if (
      prepared.length === 1 &&
      isChaosCoreError(error, "CHAIN_REVERTED") &&
      error.details?.error === "AlreadyAnchored"
    ) {
      const again = await findOnChain(ctx, first.size, first.root);
      if (again !== undefined) return [await recordFromChain(ctx, first.id, again)];
    }
    // Nothing is on chain after a revert, a refusal or missing funds; after an
    // unreachable node the transaction may be out there: reconcile decides.
    // A batch is all or nothing: the next pass finds on chain whatever made it.
    const unknown = isChaosCoreError(error, "CHAIN_RPC_UNREACHABLE");
    if (!unknown) ctx.client.resetNonce?.(ctx.signer?.address);
    for (const p of prepared) {
      await updateAnchor(p.ctx, p.id, {
        status: unknown ? "pending" : "dropped",
        last_error: describeError(error),
      });
    }
    throw error;
  }
  const records: AnchorRecord[] = [];
  for (const p of prepared)
    records.push(await reconcileRecord(p.ctx, await anchorRecord(p.ctx, p.id)));
  return records;
}

/**
 * Signs a checkpoint of the current tree of `ctx`'s log and anchors it with the
 * consistency proof from the latest checkpoint on chain, unless a live record
 * or the contract already has it. Null for an empty log.
 */
export async function anchorCurrent(ctx: AnchoringContext): Promise<AnchorRecord | null> {
  const step = await prepareAnchor(ctx);
  if ("done" in step) return step.done;
  const [record] = await sendAnchors([step.send], await groupMode([ctx]));
  return record ?? null;
}

/**
 * Anchors the newest checkpoint of every log of `ctxs` (the shards of a log
 * family) that the chain does not hold yet, all in ONE transaction
 * (`anchorBatch`). A frozen shard is sent once, at its final size; afterwards
 * its record is live or final and it is skipped. Returns each log's record
 * (null for an empty log), in the order of `ctxs`.
 */
export async function anchorCurrentAll(
  ctxs: readonly AnchoringContext[],
): Promise<(AnchorRecord | null)[]> {
  const out: (AnchorRecord | null)[] = [];
  const toSend: { at: number; prepared: PreparedAnchor }[] = [];
  for (const ctx of ctxs) {
    const step = await prepareAnchor(ctx);
    if ("done" in step) out.push(step.done);
    else {
      toSend.push({ at: out.length, prepared: step.send });
      out.push(null);
    }
  }
  const records =
    toSend.length === 0
      ? []
      : await sendAnchors(
          toSend.map((t) => t.prepared),
          await groupMode(ctxs),
        );
  toSend.forEach((t, i) => {
    out[t.at] = records[i] ?? null;
  });
  return out;
}

/** How a family is anchored through `anchorGroup`: its family origin and current live state. */
type GroupMode = { readonly family: string; readonly state: GroupLogState[] };

/**
 * Whether the logs of `ctxs` (a family, shard 0 first) go through `anchorGroup` (one storage
 * write per transaction, docs/spec/contracts.md "Groups"): yes unless a log has a legacy
 * (storage) history on chain, so existing deployments keep the legacy path. The group is named
 * by shard 0's origin; its live state is rebuilt from the contract's events and checked against
 * the stored `groupState`.
 * @throws ChaosCoreError CHAIN_TIMEOUT when the rebuilt state does not
 * hash to the stored one (events not yet visible): the next pass tries again.
 */
async function groupMode(ctxs: readonly AnchoringContext[]): Promise<GroupMode | undefined> {
  const first = ctxs[0];
  if (first === undefined) return undefined;
  for (const ctx of ctxs) {
    const [stored] = await ctx.anchor.read("count", [logIdOf(ctx.log.origin)]);
    if (stored !== 0n) return undefined;
  }
  const family = first.log.origin;
  const state = await first.anchor.rebuildGroupState(family);
  const onChain = (await first.anchor.groupState(family)).toLowerCase();
  if (groupStateHash(state).toLowerCase() !== onChain) {
    fail(
      "CHAIN_TIMEOUT",
      `the anchor group of ${family} could not be rebuilt from its events yet`,
      {
        family,
        groupState: onChain,
      },
    );
  }
  return { family, state };
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
