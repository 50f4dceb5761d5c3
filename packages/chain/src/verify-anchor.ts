/**
 * On-chain check of a receipt's anchor (D5): the one optional look-up of a
 * receipt verification. Run it after the offline `verifyReceipt` of
 * `@chaoscore/core`. The chains and contracts to trust and the log key come
 * from the caller (its configuration or trust policy), never from the receipt:
 * an operator holding the log key could otherwise anchor a forked history in
 * a contract of its own.
 *
 * @module
 */
import {
  bytesToHex,
  ChaosCoreError,
  isChaosCoreError,
  keccak256Hex,
  openReceiptCheckpoint,
  parseReceipt,
  type ReceiptAnchor,
} from "@chaoscore/core";
import { CheckpointAnchorContract } from "./checkpoint-anchor.js";
import { EthereumClient, type RetryOptions } from "./ethereum-client.js";
import type { Address, BlockchainClient, Hex } from "./types.js";

/** A CheckpointAnchor deployment the verifier trusts: a chain id (decimal) and the contract. */
export type TrustedAnchorContract = {
  readonly chainId: string;
  readonly contract: Address;
};

/**
 * Options of {@link verifyReceiptAnchor}: what to trust (from the caller, never the receipt)
 * and an RPC URL or a connected client.
 */
export type VerifyReceiptAnchorOptions = {
  /** The CheckpointAnchor deployments whose anchors count (at least one). */
  readonly trusted: readonly TrustedAnchorContract[];
  /** The log's C2SP verifier key: the checkpoint's signature is checked before its root. */
  readonly trustedLogKey: string;
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
 * Checks a receipt's anchor on chain. First, offline: the checkpoint is signed by
 * `trustedLogKey`, and the anchor names one of the `trusted` chain/contract pairs (compared
 * case-insensitively). Then on chain, from the transaction alone (no storage read, so a log
 * anchored through `anchorGroup` checks the same way): transaction `anchor.txHash` succeeded in
 * block `anchor.blockNumber`, which is still canonical, and emitted, from the trusted contract's
 * address, `Anchored(anchor.logId, anchor.index, size, root)` with the receipt checkpoint's size
 * and root (`anchor.logId` = keccak256 of the checkpoint's origin). Only the contract's code
 * emits logs from its address, and only after its on-chain checks. Reasons: no-contract, tx
 * (absent, failed, or another block without this event), block, event (no Anchored event of
 * this log), not-anchored (none at this index), checkpoint (another size or root), reorg.
 * Returns null when the receipt carries no anchor.
 * @throws ChaosCoreError RECEIPT_MALFORMED (not a receipt); INVALID_INPUT (no trusted contract,
 * no RPC); RECEIPT_CHECKPOINT_INVALID (not signed by `trustedLogKey`); RECEIPT_ANCHOR_UNTRUSTED
 * (the anchor names a chain or contract not in `trusted`); RECEIPT_ANCHOR_MISMATCH (any on-chain
 * check fails; `details.reason`); CHAIN_WRONG_CHAIN (the RPC serves another chain);
 * CHAIN_TIMEOUT (fewer than `confirmations`); CHAIN_RPC_UNREACHABLE, CHAIN_RPC_ERROR.
 * @example
 * ```ts
 * verifyReceipt(receipt, logKey); // offline first
 * const anchor = await verifyReceiptAnchor(receipt, {
 *   rpcUrl: "http://127.0.0.1:8545",
 *   trusted: [{ chainId: "31337", contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }],
 *   trustedLogKey: logKey,
 * });
 * ```
 */
export async function verifyReceiptAnchor(
  input: unknown,
  options: VerifyReceiptAnchorOptions,
): Promise<VerifiedAnchor | null> {
  const receipt = parseReceipt(input);
  const anchor: ReceiptAnchor | null = receipt.anchor;
  if (anchor === null) return null;
  if (!Array.isArray(options.trusted) || options.trusted.length === 0) {
    throw new ChaosCoreError(
      "INVALID_INPUT",
      "verifyReceiptAnchor needs the trusted chain id and CheckpointAnchor contract (options.trusted)",
    );
  }
  // under the trusted key, or a shard's certified key (docs/spec/receipt.md §7.2)
  const { checkpoint } = openReceiptCheckpoint(receipt, options.trustedLogKey);
  if (anchor.logId !== keccak256Hex(checkpoint.origin)) {
    throw mismatch("the anchor is for another log than the checkpoint's origin", {
      reason: "log-id",
    });
  }
  assertTrusted(anchor, options.trusted);
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

/** Whether `anchor` names one of the trusted deployments; throws RECEIPT_ANCHOR_UNTRUSTED if not. */
function assertTrusted(anchor: ReceiptAnchor, trusted: readonly TrustedAnchorContract[]): void {
  const chainOf = (id: string) => {
    try {
      return BigInt(id).toString();
    } catch {
      return id;
    }
  };
  const ok = trusted.some(
    (t) =>
      typeof t?.contract === "string" &&
      typeof t.chainId === "string" &&
      chainOf(t.chainId) === chainOf(anchor.chainId) &&
      t.contract.toLowerCase() === anchor.contract.toLowerCase(),
  );
  if (!ok) {
    throw new ChaosCoreError(
      "RECEIPT_ANCHOR_UNTRUSTED",
      `the receipt is anchored in contract ${anchor.contract} on chain ${anchor.chainId}, which the verifier does not trust`,
      {
        details: {
          chainId: anchor.chainId,
          contract: anchor.contract.toLowerCase(),
          trusted: trusted.map((t) => ({ chainId: t.chainId, contract: t.contract.toLowerCase() })),
        },
      },
    );
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
  try {
    await contract.assertDeployed();
  } catch (e) {
    if (isChaosCoreError(e, "CHAIN_NOT_DEPLOYED")) {
      throw mismatch(
        `no CheckpointAnchor contract at ${anchor.contract} on chain ${anchor.chainId}`,
        { ...context, reason: "no-contract" },
        e,
      );
    }
    throw e;
  }
  // Event only (no storage read: a group log's checkpoints are not in storage). Only the trusted
  // contract's code emits logs from its address, and only after its on-chain checks (consistency
  // proof from the log's previous checkpoint), so a successful transaction in a canonical block
  // with this Anchored event from that address proves the contract accepted the checkpoint.
  const tx = await client.getTransactionReceipt(anchor.txHash);
  if (tx === undefined) {
    throw mismatch(`transaction ${anchor.txHash} is not on chain`, { ...context, reason: "tx" });
  }
  if (tx.status !== "success") {
    throw mismatch(`transaction ${anchor.txHash} failed`, {
      ...context,
      reason: "tx",
      status: tx.status,
    });
  }
  // anchoredEvents keeps only logs emitted by `anchor.contract` (a trusted address).
  const ofLog = contract.anchoredEvents(tx).filter((e) => e.logId.toLowerCase() === anchor.logId);
  const atIndex = ofLog.find((e) => e.index === BigInt(anchor.index));
  if (tx.blockNumber !== BigInt(anchor.blockNumber)) {
    throw mismatch(`transaction ${anchor.txHash} did not anchor in block ${anchor.blockNumber}`, {
      ...context,
      reason: atIndex === undefined ? "tx" : "block",
      status: tx.status,
      blockNumber: tx.blockNumber.toString(),
    });
  }
  if (ofLog.length === 0) {
    throw mismatch(`transaction ${anchor.txHash} emitted no Anchored event of this log`, {
      ...context,
      reason: "event",
    });
  }
  if (atIndex === undefined) {
    throw mismatch(
      `transaction ${anchor.txHash} anchored no checkpoint ${anchor.index} of this log`,
      {
        ...context,
        reason: "not-anchored",
      },
    );
  }
  if (atIndex.size !== BigInt(checkpoint.size) || atIndex.root.toLowerCase() !== root) {
    throw mismatch(
      `checkpoint ${anchor.index} on chain is (size ${atIndex.size}, root ${atIndex.root}), the receipt's is (size ${checkpoint.size}, root ${root})`,
      { ...context, reason: "checkpoint", size: atIndex.size.toString(), root: atIndex.root },
    );
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
