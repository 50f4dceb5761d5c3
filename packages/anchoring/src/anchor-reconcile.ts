/**
 * Following a checkpoint anchor on chain: what the chain says about a sent
 * transaction ({@link receiptState}), a record moved along pending → mined →
 * final or to dropped ({@link reconcileRecord}), and a checkpoint found on the
 * contract instead of sent again ({@link findOnChain}, {@link recordFromChain}).
 *
 * @module
 */
import { type AnchoredCheckpoint, logIdOf, type TransactionReceipt } from "@chaoscore/chain";
import { ChaosCoreError, type Hex } from "@chaoscore/core";
import { type AnchorRecord, anchorRecord, updateAnchor } from "./anchor-records.js";
import type { AnchoringContext } from "./anchoring-context.js";

export async function reconcileRecord(
  ctx: AnchoringContext,
  record: AnchorRecord,
): Promise<AnchorRecord> {
  if (record.status === "final" || record.status === "dropped") return record;
  // The Anchored event is picked by the context's origin: another shard's context would give
  // this record that shard's on-chain index (AUDIT18). A caller bug, never data.
  if (record.logId !== ctx.log.id) {
    throw new Error(`anchor record ${record.id} of ${record.logId} reconciled as ${ctx.log.id}`);
  }
  if (record.txHash === null) {
    // Sent or not before a crash: the chain says.
    const there = await findOnChain(ctx, record.size, record.root);
    if (there !== undefined) return await recordFromChain(ctx, record.id, there);
    await updateAnchor(ctx, record.id, {
      status: "dropped",
      last_error: record.lastError ?? "no transaction was sent",
    });
    return await anchorRecord(ctx, record.id);
  }
  const receipt = await ctx.client.getTransactionReceipt(record.txHash);
  const state = await receiptState(ctx, receipt, record.txHash);
  if (state.kind === "in-pool") {
    if (record.status === "mined") {
      // Reorged out and back in the pool.
      await updateAnchor(ctx, record.id, {
        status: "pending",
        block_number: null,
        block_hash: null,
      });
      return await anchorRecord(ctx, record.id);
    }
    return record;
  }
  if (state.kind === "gone" || state.kind === "reverted") {
    const there = await findOnChain(ctx, record.size, record.root);
    if (there !== undefined) return await recordFromChain(ctx, record.id, there);
    ctx.client.resetNonce?.(ctx.signer?.address);
    await updateAnchor(ctx, record.id, {
      status: "dropped",
      last_error:
        state.kind === "gone"
          ? "the transaction vanished from the chain (reorg) or the pool"
          : "the transaction reverted",
    });
    return await anchorRecord(ctx, record.id);
  }
  if (state.kind !== "mined") return record;
  const r = state.receipt;
  // A batch transaction holds one Anchored event per log: this record's is the one of its log and size.
  const logId = logIdOf(ctx.log.origin).toLowerCase();
  const event = ctx.anchor
    .anchoredEvents(r)
    .find((e) => e.logId.toLowerCase() === logId && e.size === BigInt(record.size));
  const head = await ctx.client.getBlockNumber();
  await updateAnchor(ctx, record.id, {
    ...(event === undefined ? {} : { anchor_index: Number(event.index) }),
    block_number: Number(r.blockNumber),
    block_hash: r.blockHash,
    status: head - r.blockNumber + 1n >= BigInt(ctx.confirmations) ? "final" : "mined",
    last_error: null,
  });
  return await anchorRecord(ctx, record.id);
}

/** What the chain says about a sent transaction. */
export async function receiptState(
  ctx: AnchoringContext,
  receipt: TransactionReceipt | undefined,
  hash: Hex,
): Promise<
  | { kind: "in-pool" | "gone" | "reverted" | "stale" }
  | { kind: "mined"; receipt: TransactionReceipt }
> {
  if (receipt === undefined) {
    const tx = await ctx.client.request<unknown>("eth_getTransactionByHash", [hash]);
    return { kind: tx === null || tx === undefined ? "gone" : "in-pool" };
  }
  if (receipt.status === "reverted") return { kind: "reverted" };
  const block = await ctx.client.getBlock(receipt.blockNumber);
  // A receipt whose block is no longer the canonical one at its height: a reorg in progress.
  if (block === undefined || block.hash !== receipt.blockHash) return { kind: "stale" };
  return { kind: "mined", receipt };
}

/**
 * The anchored checkpoint of this log with this size, if the contract holds one
 * (binary search: sizes strictly increase with the index).
 * @throws ChaosCoreError ANCHOR_LOG_MISMATCH when it holds that size with another root.
 */
export async function findOnChain(
  ctx: AnchoringContext,
  size: number,
  root: Hex,
  latestKnown?: AnchoredCheckpoint,
): Promise<AnchoredCheckpoint | undefined> {
  const origin = ctx.log.origin;
  const latest = latestKnown ?? (await ctx.anchor.latest(origin));
  if (latest === undefined) return undefined;
  const target = BigInt(size);
  let found: AnchoredCheckpoint | undefined;
  if (latest.size === target) found = latest;
  else if (latest.size > target) {
    let lo = 0n;
    let hi = latest.index - 1n;
    while (lo <= hi) {
      const mid = (lo + hi) / 2n;
      const cp = await ctx.anchor.checkpointAt(origin, mid);
      if (cp.size === target) {
        found = cp;
        break;
      }
      if (cp.size < target) lo = mid + 1n;
      else hi = mid - 1n;
    }
  }
  if (found === undefined) return undefined;
  if (found.root.toLowerCase() !== root) {
    throw logMismatch(
      ctx,
      `the chain holds a checkpoint of size ${size} of this log with another root`,
      found,
    );
  }
  return found;
}

/** Records an anchor found on chain: its transaction and block from the `Anchored` event. */
export async function recordFromChain(
  ctx: AnchoringContext,
  id: number,
  cp: AnchoredCheckpoint,
): Promise<AnchorRecord> {
  const events = await ctx.anchor.queryEvents("Anchored", {
    topics: [cp.logId],
    fromBlock: cp.blockNumber,
    toBlock: cp.blockNumber,
  });
  const event = ctx.anchor
    .anchoredEvents(events.map((e) => e.log))
    .find((e) => e.index === cp.index && e.size === cp.size);
  const head = await ctx.client.getBlockNumber();
  await updateAnchor(ctx, id, {
    anchor_index: Number(cp.index),
    tx_hash: event?.log.transactionHash ?? null,
    block_number: Number(cp.blockNumber),
    block_hash: event?.log.blockHash ?? null,
    status: head - cp.blockNumber + 1n >= BigInt(ctx.confirmations) ? "final" : "mined",
    last_error: null,
  });
  return await anchorRecord(ctx, id);
}

export function logMismatch(
  ctx: AnchoringContext,
  message: string,
  latest: AnchoredCheckpoint,
): ChaosCoreError {
  return new ChaosCoreError("ANCHOR_LOG_MISMATCH", message, {
    details: {
      origin: ctx.log.origin,
      logId: latest.logId,
      index: latest.index.toString(),
      size: latest.size.toString(),
      root: latest.root,
      chainId: ctx.chainId,
      contract: ctx.contract,
    },
  });
}
