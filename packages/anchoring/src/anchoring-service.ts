/**
 * The anchoring service: puts the log's signed checkpoints (and the agents'
 * card hashes) on chain, and follows each anchor from `pending` to `final`
 * (N confirmations), or to `dropped` when a reorg or the pool loses it. The
 * chain is the truth: before sending, the service reads the contract and
 * records an anchor that is already there instead of sending it again, so a
 * crash or a restart never anchors twice. See docs/anchoring.md.
 *
 * This file holds the service's settings, schedule and public methods; the
 * work is in checkpoint-anchoring.ts (anchor submission), anchor-reconcile.ts
 * (following an anchor on chain), card-anchoring.ts (agent cards),
 * anchor-records.ts (the `anchors` and `agent_anchors` rows) and
 * stored-anchor-directory.ts (final anchors for receipts, no chain needed).
 *
 * @module
 */
import {
  type BlockchainClient,
  type ChainSigner,
  type CheckpointAnchorContract,
  type IdentityRegistryContract,
  logIdOf,
} from "@chaoscore/chain";
import { type Address, fail, type Hex, type ReceiptAnchor } from "@chaoscore/core";
import type { AnchorDirectory, Db, LogFamily, TransparencyLog } from "@chaoscore/log";
import { reconcileRecord } from "./anchor-reconcile.js";
import {
  type AgentAnchorRecord,
  type AnchorRecord,
  type AnchorStatus,
  anchorCounts,
  listAgentAnchorRecords,
  listAnchorRecords,
  liveAgentAnchorRecords,
  liveAnchorRecords,
  recentFinalRecords,
  updateAnchor,
} from "./anchor-records.js";
import type { AnchoringContext } from "./anchoring-context.js";
import { anchorAgentCards, reconcileAgentRecord } from "./card-anchoring.js";
import { AnchoringHaltState, isChainHistoryBroken } from "./chain-consistency.js";
import { anchorCurrent, anchorCurrentAll, waitFinal } from "./checkpoint-anchoring.js";
import { StoredAnchorDirectory } from "./stored-anchor-directory.js";

/** The chain side of the service. The contract wrappers sign with `signer`. */
export type AnchoringChain = {
  readonly client: BlockchainClient;
  readonly contracts: {
    readonly anchor: CheckpointAnchorContract;
    readonly identity?: IdentityRegistryContract;
  };
  /** The anchoring key (holder of ANCHORER_ROLE); default the anchor wrapper's signer. */
  readonly signer?: ChainSigner;
  /** The expected chain id: CHAIN_WRONG_CHAIN when the client is on another chain. */
  readonly chainId?: bigint;
};

/** What the service needs to know about agents (implemented by the registry's table). */
export type AnchoringServiceOptions = {
  readonly db: Db;
  readonly log: TransparencyLog;
  /**
   * The log's family when it is sharded ({@link LogFamily}; `log` is its shard 0):
   * every shard is anchored, the new checkpoints of all in one `anchorBatch`.
   */
  readonly family?: LogFamily;
  readonly chain: AnchoringChain;
  /** Confirmations (blocks including the anchor's) after which an anchor is final; default 2. */
  readonly confirmations?: number;
  /** The card URI registered for an agent; default `chaoscore://<origin>/agents/<agent id>`. */
  readonly cardUri?: (agentId: string) => string;
  /** Called with the errors of scheduled runs (which back off and go on). */
  readonly onError?: (error: unknown) => void;
  /** Longest pause after repeated failures of scheduled runs; default 60,000 ms. */
  readonly maxBackoffMs?: number;
  readonly now?: () => Date;
};

/** The result of {@link AnchoringService.reconcile}. */
export type ReconcileReport = {
  /** Records by status after the run (this log, chain and contract). */
  readonly counts: Readonly<Record<AnchorStatus, number>>;
  /** Records this run marked dropped. */
  readonly dropped: readonly AnchorRecord[];
  /** The anchor sent (or found) again after a drop, if any. */
  readonly reanchored: AnchorRecord | null;
};

/** How many of the latest final anchors each reconcile checks against the canonical chain. */
const RECHECKED_FINAL = 8;

/**
 * Anchors checkpoints and agent cards, reconciles them with the chain, and
 * tells Proof of Agency which checkpoints are anchored ({@link AnchorDirectory}).
 *
 * @example
 * ```ts
 * const service = new AnchoringService({ db, log, chain: { client, contracts, signer } });
 * engine.agency.setAnchorDirectory(service);
 * await service.anchorNow({ wait: true }); // pending → final
 * service.start({ intervalMs: 60_000 });
 * ```
 */
export class AnchoringService implements AnchorDirectory {
  readonly confirmations: number;
  /** Set when scheduled anchoring stopped because the log no longer extends the chain's history. */
  readonly halt = new AnchoringHaltState();
  readonly chainId: string;
  readonly contract: Address;
  /** What the submission, reconcile and card parts read (anchoring-context.ts). */
  readonly #ctx: AnchoringContext;
  readonly #family: LogFamily | undefined;
  readonly #expectedChainId: bigint | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #maxBackoffMs: number;
  #lock: Promise<unknown> = Promise.resolve();
  #ready: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #failures = 0;
  readonly #directory: StoredAnchorDirectory;
  #stopped = true;

  constructor(options: AnchoringServiceOptions) {
    const confirmations = options.confirmations ?? 2;
    if (!Number.isSafeInteger(confirmations) || confirmations < 1) {
      fail("INVALID_INPUT", "confirmations must be a positive integer");
    }
    this.confirmations = confirmations;
    const { client, contracts } = options.chain;
    this.#expectedChainId = options.chain.chainId;
    this.chainId = client.chainId.toString();
    this.contract = contracts.anchor.address.toLowerCase() as Address;
    const origin = options.log.origin;
    this.#ctx = {
      db: options.db,
      log: options.log,
      client,
      anchor: contracts.anchor,
      identity: contracts.identity,
      signer: options.chain.signer ?? contracts.anchor.signer,
      chainId: this.chainId,
      contract: this.contract,
      confirmations,
      cardUri: options.cardUri ?? ((id) => `chaoscore://${origin}/agents/${id}`),
      now: options.now ?? (() => new Date()),
    };
    this.#family = options.family;
    this.#onError = options.onError ?? (() => {});
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.#directory = new StoredAnchorDirectory({
      db: options.db,
      log: options.log,
      ...(options.family === undefined ? {} : { family: options.family }),
      chainId: this.chainId,
      contract: this.contract,
    });
  }

  /** The log's id on chain: keccak256 of its origin. */
  get onChainLogId(): Hex {
    return logIdOf(this.#ctx.log.origin);
  }

  // ---- the AnchorDirectory port ----------------------------------------------------------------

  /**
   * The latest FINAL anchor of `logId` on this chain and contract whose
   * checkpoint covers leaf `leafIndex` (and is stored), or null.
   */
  anchorCovering(
    logId: string,
    leafIndex: number,
  ): Promise<{ size: number; anchor: ReceiptAnchor } | null> {
    return this.#directory.anchorCovering(logId, leafIndex);
  }

  // ---- anchoring (checkpoint-anchoring.ts, anchor-reconcile.ts) ---------------------------------

  /**
   * Signs a checkpoint of the current tree and anchors it, with the consistency
   * proof from the latest checkpoint anchored on chain. Idempotent: a size that
   * already has a live record is not sent again, and a checkpoint the contract
   * already holds is recorded instead of sent. With `wait`, waits for the
   * confirmations and returns the final record. Returns null for an empty log.
   * @throws ChaosCoreError CHAIN_WRONG_CHAIN, CHAIN_NOT_DEPLOYED, CHAIN_INSUFFICIENT_FUNDS,
   * CHAIN_REVERTED, CHAIN_RPC_UNREACHABLE, CHAIN_TIMEOUT, ANCHOR_LOG_MISMATCH.
   */
  anchorNow(options: { wait?: boolean; timeoutMs?: number } = {}): Promise<AnchorRecord | null> {
    return this.#exclusive(async () => {
      await this.#assertReady();
      const record = await this.#anchorAll();
      if (record === null || options.wait !== true) return record;
      // Followed in the context of ITS shard: reconciled under shard 0's origin, a shard-1 record
      // of the same size took shard 0's Anchored event index (AUDIT18).
      const ctx = (await this.#contexts()).find((c) => c.log.id === record.logId) ?? this.#ctx;
      return await waitFinal(ctx, record, options.timeoutMs ?? 120_000);
    });
  }

  /**
   * Looks up every pending and mined record on chain: mined → counts
   * confirmations → final at N; a transaction that vanished or a block that is
   * no longer canonical (reorg) → dropped, and the current checkpoint is
   * anchored again. The latest final records are checked too: a reorg deeper
   * than the confirmations takes them back to mined (then final again, or
   * dropped and re-anchored). Agent card records are reconciled the same way.
   * @throws ChaosCoreError CHAIN_RPC_UNREACHABLE and the errors of {@link anchorNow}.
   */
  reconcile(): Promise<ReconcileReport> {
    return this.#exclusive(async () => {
      await this.#assertReady();
      const ctx = this.#ctx;
      const dropped: AnchorRecord[] = [];
      for (const shard of await this.#contexts()) {
        for (const record of await recentFinalRecords(shard, RECHECKED_FINAL)) {
          if (record.blockNumber === null || record.blockHash === null) continue;
          const block = await shard.client.getBlock(BigInt(record.blockNumber));
          if (block !== undefined && block.hash === record.blockHash) continue;
          // A reorg deeper than the confirmations took the block of a final anchor away.
          await updateAnchor(shard, record.id, {
            status: "mined",
            last_error: "its block left the canonical chain after it was final",
          });
        }
        for (const record of await liveAnchorRecords(shard)) {
          const after = await reconcileRecord(shard, record);
          if (after.status === "dropped") dropped.push(after);
        }
      }
      for (const record of await liveAgentAnchorRecords(ctx)) {
        await reconcileAgentRecord(ctx, record);
      }
      const reanchored = dropped.length > 0 ? await this.#anchorAll() : null;
      const counts: Record<AnchorStatus, number> = await anchorCounts(ctx);
      return { counts, dropped, reanchored };
    });
  }

  /**
   * Every anchor record of this log on this chain and contract, oldest first;
   * with `log`, of that shard of the family (the log itself without a family).
   * @throws ChaosCoreError LOG_NOT_FOUND when the family has no shard `log`.
   */
  async records(log?: string): Promise<AnchorRecord[]> {
    const family = this.#family;
    if (log === undefined || log === this.#ctx.log.id || family === undefined) {
      return listAnchorRecords(this.#ctx);
    }
    return listAnchorRecords({ ...this.#ctx, log: await family.get(log) });
  }

  /** Every agent card record on this chain, oldest first. */
  agentRecords(): Promise<AgentAnchorRecord[]> {
    return listAgentAnchorRecords(this.#ctx);
  }

  /**
   * Runs {@link reconcile} then {@link anchorNow} every `intervalMs`; after a
   * failure (an unreachable RPC, …) it waits twice as long, up to `maxBackoffMs`,
   * and resumes. `stop()` ends it. An ANCHOR_LOG_MISMATCH (the chain holds a
   * checkpoint the stored tree does not contain) halts it for good: see {@link halt}.
   */
  start(options: { intervalMs: number }): void {
    if (this.#timer !== undefined || this.#running !== undefined) return;
    if (this.halt.current !== undefined) return; // halted until an operator restarts the process
    const interval = options.intervalMs;
    if (!Number.isSafeInteger(interval) || interval < 1) {
      fail("INVALID_INPUT", "intervalMs must be a positive integer");
    }
    const schedule = (delay: number) => {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#running = (async () => {
          try {
            await this.reconcile();
            await this.anchorNow();
            this.#failures = 0;
          } catch (error) {
            this.#failures++;
            // The stored tree no longer extends the chain's history: stop, do not retry.
            if (isChainHistoryBroken(error)) this.halt.halt(error, this.#ctx.now());
            this.#onError(error);
          }
        })().finally(() => {
          this.#running = undefined;
          if (this.#stopped || this.halt.current !== undefined) return;
          schedule(Math.min(this.#maxBackoffMs, interval * 2 ** Math.min(this.#failures, 20)));
        });
      }, delay);
    };
    this.#stopped = false;
    schedule(0);
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  // ---- agent cards (card-anchoring.ts) ---------------------------------------------------------

  /**
   * Registers each agent's card hash in the IdentityRegistry, or updates it
   * when the card changed. Idempotent: a card whose hash the registry already
   * holds is recorded, not sent; a registration is found again by its URI.
   * With `wait`, waits for each transaction to be mined.
   * @throws ChaosCoreError INVALID_INPUT (no IdentityRegistry configured), the errors of
   * {@link anchorNow}.
   */
  anchorAgents(
    options: { agents?: readonly string[]; wait?: boolean } = {},
  ): Promise<AgentAnchorRecord[]> {
    return this.#exclusive(async () => {
      await this.#assertReady();
      const identity = this.#ctx.identity;
      if (identity === undefined) {
        fail("INVALID_INPUT", "no IdentityRegistry contract is configured");
      }
      return await anchorAgentCards(this.#ctx, identity, options);
    });
  }

  // ---- internals -------------------------------------------------------------------------------

  /** The context of each log to anchor: the log alone, or every shard of its family (oldest first). */
  async #contexts(): Promise<AnchoringContext[]> {
    const family = this.#family;
    if (family === undefined) return [this.#ctx];
    const shards = await family.list();
    if (shards.length <= 1) return [this.#ctx];
    const out: AnchoringContext[] = [];
    for (const shard of shards) {
      out.push(
        shard.id === this.#ctx.log.id
          ? {
              ...this.#ctx,
              ...(shard.state === "frozen" && shard.frozenSize !== undefined
                ? { frozenSize: shard.frozenSize }
                : {}),
            }
          : {
              ...this.#ctx,
              log: await family.get(shard.id),
              ...(shard.state === "frozen" && shard.frozenSize !== undefined
                ? { frozenSize: shard.frozenSize }
                : {}),
            },
      );
    }
    return out;
  }

  /**
   * Anchors the log (one `anchor`), or every shard of its family with a new
   * checkpoint (one `anchorBatch`); returns the record of the newest shard
   * that has one (the active shard's, once it holds entries).
   */
  async #anchorAll(): Promise<AnchorRecord | null> {
    const ctxs = await this.#contexts();
    if (ctxs.length === 1) return await anchorCurrent(this.#ctx);
    const records = await anchorCurrentAll(ctxs);
    return records.findLast((r) => r !== null) ?? null;
  }

  /** Runs `fn` after every earlier call of the service's public writers. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** Checks once: the chain id, and that the anchor contract is deployed. */
  async #assertReady(): Promise<void> {
    this.#ready ??= (async () => {
      const expected = this.#expectedChainId;
      if (expected !== undefined && expected !== this.#ctx.client.chainId) {
        const actual = this.#ctx.client.chainId;
        fail(
          "CHAIN_WRONG_CHAIN",
          `the anchoring client is on chain ${actual}, not the expected chain ${expected}`,
          { expected: expected.toString(), actual: actual.toString() },
        );
      }
      await this.#ctx.anchor.assertDeployed();
      await this.#ctx.identity?.assertDeployed();
    })().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
  }
}
