/**
 * On-chain check of a receipt's anchor (D5): the one optional look-up of a
 * receipt verification. Run it after the offline `verifyReceipt` of
 * `@chaoscore/core`, which checks the checkpoint's signature.
 *
 * @module
 */
import {
  bytesToHex,
  ChaosCoreError,
  isChaosCoreError,
  keccak256Hex,
  parseCheckpoint,
  parseReceipt,
  type ReceiptAnchor,
} from "@chaoscore/core";
import { CheckpointAnchorContract } from "./contracts.js";
import { EthereumClient, type RetryOptions } from "./ethereum-client.js";
import type { Address, BlockchainClient, Hex } from "./types.js";

/** Options of {@link verifyReceiptAnchor}: an RPC URL or a connected client. */
export type VerifyReceiptAnchorOptions = {
  /** A JSON-RPC URL of the anchor's chain (used when `client` is absent). */
  readonly rpcUrl?: string;
  readonly client?: BlockchainClient;
  /** Least confirmations required (CHAIN_TIMEOUT below); default 1. */
  readonly confirmations?: number;
  readonly retry?: RetryOptions;
};

/** What the chain confirmed about a receipt's anchor. */
export type VerifiedAnchor = {
  readonly chainId: string;
  readonly contract: Address;
  readonly logId: Hex;
  readonly index: number;
  /** The anchored tree size and root: those of the receipt's checkpoint. */
  readonly size: number;
  readonly root: Hex;
  readonly txHash: Hex;
  readonly blockNumber: number;
  readonly blockHash: Hex;
  /** The anchoring block's timestamp (unix seconds). */
  readonly timestamp: number;
  /** Blocks on top of (and including) the anchoring block. */
  readonly confirmations: number;
};

function mismatch(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
  return new ChaosCoreError("RECEIPT_ANCHOR_MISMATCH", message, {
    details,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Checks a receipt's anchor on chain: the CheckpointAnchor contract at
 * `anchor.contract` on chain `anchor.chainId` holds, at `anchor.index` of the
 * log `anchor.logId` (= keccak256 of the checkpoint's origin), the size and
 * root of the receipt's checkpoint, written in block `anchor.blockNumber` by
 * transaction `anchor.txHash`, which succeeded, emitted the `Anchored` event
 * and sits in a block that is still canonical. Returns null when the receipt
 * carries no anchor.
 * @throws ChaosCoreError RECEIPT_MALFORMED (not a receipt); RECEIPT_ANCHOR_MISMATCH (any check
 * fails; `details.reason`); CHAIN_WRONG_CHAIN (the RPC serves another chain); CHAIN_TIMEOUT
 * (fewer than `confirmations`); CHAIN_RPC_UNREACHABLE, CHAIN_RPC_ERROR.
 * @example
 * ```ts
 * verifyReceipt(receipt, logKey); // offline first
 * const anchor = await verifyReceiptAnchor(receipt, { rpcUrl: "http://127.0.0.1:8545" });
 * ```
 */
export async function verifyReceiptAnchor(
  input: unknown,
  options: VerifyReceiptAnchorOptions,
): Promise<VerifiedAnchor | null> {
  const receipt = parseReceipt(input);
  const anchor: ReceiptAnchor | null = receipt.anchor;
  if (anchor === null) return null;
  const body = receipt.checkpoint.slice(0, receipt.checkpoint.indexOf("\n\n") + 1);
  let checkpoint: ReturnType<typeof parseCheckpoint>;
  try {
    checkpoint = parseCheckpoint(body);
  } catch (cause) {
    throw new ChaosCoreError("RECEIPT_CHECKPOINT_INVALID", "the checkpoint cannot be parsed", {
      cause,
    });
  }
  if (anchor.logId !== keccak256Hex(checkpoint.origin)) {
    throw mismatch("the anchor is for another log than the checkpoint's origin", {
      reason: "log-id",
    });
  }
  let client = options.client;
  const owned = client === undefined;
  if (client === undefined) {
    if (options.rpcUrl === undefined) {
      throw new ChaosCoreError("INVALID_INPUT", "verifyReceiptAnchor needs an rpcUrl or a client");
    }
    client = await EthereumClient.connect({
      rpcUrl: options.rpcUrl,
      chainId: BigInt(anchor.chainId),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
  } else if (client.chainId !== BigInt(anchor.chainId)) {
    throw new ChaosCoreError(
      "CHAIN_WRONG_CHAIN",
      `the anchor is on chain ${anchor.chainId}, the client on chain ${client.chainId}`,
      { details: { expected: anchor.chainId, actual: client.chainId.toString() } },
    );
  }
  try {
    return await check(client, anchor, checkpoint, options.confirmations ?? 1);
  } finally {
    if (owned) client.close();
  }
}

async function check(
  client: BlockchainClient,
  anchor: ReceiptAnchor,
  checkpoint: { origin: string; size: number; rootHash: Uint8Array },
  required: number,
): Promise<VerifiedAnchor> {
  const root = bytesToHex(checkpoint.rootHash);
  const context = { contract: anchor.contract, logId: anchor.logId, index: anchor.index };
  const contract = new CheckpointAnchorContract({ client, address: anchor.contract });
  let onChain: Awaited<ReturnType<CheckpointAnchorContract["checkpointAt"]>>;
  try {
    onChain = await contract.checkpointAt(checkpoint.origin, anchor.index);
  } catch (e) {
    if (isChaosCoreError(e, "CHAIN_NOT_DEPLOYED")) {
      throw mismatch(
        `no CheckpointAnchor contract at ${anchor.contract} on chain ${anchor.chainId}`,
        { ...context, reason: "no-contract" },
        e,
      );
    }
    if (isChaosCoreError(e, "CHAIN_REVERTED")) {
      throw mismatch(
        `the contract holds no checkpoint ${anchor.index} of this log (${String(e.details?.error)})`,
        { ...context, reason: "not-anchored" },
        e,
      );
    }
    throw e;
  }
  if (onChain.size !== BigInt(checkpoint.size) || onChain.root.toLowerCase() !== root) {
    throw mismatch(
      `checkpoint ${anchor.index} on chain is (size ${onChain.size}, root ${onChain.root}), the receipt's is (size ${checkpoint.size}, root ${root})`,
      { ...context, reason: "checkpoint", size: onChain.size.toString(), root: onChain.root },
    );
  }
  if (onChain.blockNumber !== BigInt(anchor.blockNumber)) {
    throw mismatch(
      `checkpoint ${anchor.index} was anchored in block ${onChain.blockNumber}, not ${anchor.blockNumber}`,
      { ...context, reason: "block", blockNumber: onChain.blockNumber.toString() },
    );
  }
  const tx = await client.getTransactionReceipt(anchor.txHash);
  if (tx === undefined) {
    throw mismatch(`transaction ${anchor.txHash} is not on chain`, { ...context, reason: "tx" });
  }
  if (tx.status !== "success" || tx.blockNumber !== BigInt(anchor.blockNumber)) {
    throw mismatch(`transaction ${anchor.txHash} did not anchor in block ${anchor.blockNumber}`, {
      ...context,
      reason: "tx",
      status: tx.status,
      blockNumber: tx.blockNumber.toString(),
    });
  }
  const event = contract
    .anchoredEvents(tx)
    .find(
      (e) =>
        e.logId.toLowerCase() === anchor.logId &&
        e.index === BigInt(anchor.index) &&
        e.size === BigInt(checkpoint.size) &&
        e.root.toLowerCase() === root,
    );
  if (event === undefined) {
    throw mismatch(`transaction ${anchor.txHash} did not emit this Anchored event`, {
      ...context,
      reason: "event",
    });
  }
  const [block, head] = await Promise.all([
    client.getBlock(tx.blockNumber),
    client.getBlockNumber(),
  ]);
  if (block === undefined || block.hash !== tx.blockHash) {
    throw mismatch(`block ${anchor.blockNumber} of the anchor is no longer canonical`, {
      ...context,
      reason: "reorg",
    });
  }
  const confirmations = Number(head - tx.blockNumber + 1n);
  if (confirmations < required) {
    throw new ChaosCoreError(
      "CHAIN_TIMEOUT",
      `the anchor has ${confirmations} of ${required} confirmations`,
      { details: { ...context, confirmations, required } },
    );
  }
  return {
    chainId: anchor.chainId,
    contract: anchor.contract,
    logId: anchor.logId,
    index: anchor.index,
    size: checkpoint.size,
    root,
    txHash: anchor.txHash,
    blockNumber: anchor.blockNumber,
    blockHash: tx.blockHash,
    timestamp: Number(block.timestamp),
    confirmations,
  };
}
