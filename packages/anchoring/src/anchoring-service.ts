/**
 * The anchoring service: puts the log's signed checkpoints (and the agents'
 * card hashes) on chain, and follows each anchor from `pending` to `final`
 * (N confirmations), or to `dropped` when a reorg or the pool loses it. The
 * chain is the truth: before sending, the service reads the contract and
 * records an anchor that is already there instead of sending it again, so a
 * crash or a restart never anchors twice. See docs/anchoring.md.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  type AnchoredCheckpoint,
  type BlockchainClient,
  type ChainSigner,
  type CheckpointAnchorContract,
  type IdentityRegistryContract,
  logIdOf,
  type TransactionReceipt,
} from "@chaoscore/chain";
import {
  type Address,
  bytesToHex,
  ChaosCoreError,
  type Hex,
  isChaosCoreError,
  type ReceiptAnchor,
} from "@chaoscore/core";
import type { AnchorDirectory, Db, TransparencyLog } from "@chaoscore/log";
import { findSentCard, type SentCardState } from "./agent-card-recovery.js";
import { AnchoringHaltState, isChainHistoryBroken } from "./chain-consistency.js";

/** The life of an anchor: `pending` → `mined` → `final`, or `dropped`. */
export type AnchorStatus = "pending" | "mined" | "final" | "dropped";

/** One attempt to anchor a checkpoint, as stored in `anchors`. */
export type AnchorRecord = {
  readonly id: number;
  /** The engine's log id (the `logs` row), not the on-chain log id. */
  readonly logId: string;
  readonly size: number;
  readonly root: Hex;
  readonly chainId: string;
  readonly contract: Address;
  /** Position in the contract's history of this log (known once sent). */
  readonly index: number | null;
  readonly txHash: Hex | null;
  readonly blockNumber: number | null;
  readonly blockHash: Hex | null;
  readonly status: AnchorStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
};

/** An agent card hash registered in the IdentityRegistry, as stored in `agent_anchors`. */
export type AgentAnchorRecord = {
  readonly id: number;
  readonly agentId: string;
  readonly cardVersion: number;
  readonly cardHash: Hex;
  readonly chainId: string;
  readonly contract: Address;
  /** The ERC-721 token id (ERC-8004 agentId), known once the registration is mined. */
  readonly tokenId: bigint | null;
  /** The card version on chain (1 at registration, +1 per update). */
  readonly chainVersion: number | null;
  readonly txHash: Hex | null;
  readonly blockNumber: number | null;
  readonly blockHash: Hex | null;
  readonly status: AnchorStatus;
  readonly attempts: number;
  readonly lastError: string | null;
};

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

const LIVE = "('pending', 'mined')";
/** How many of the latest final anchors each reconcile checks against the canonical chain. */
const RECHECKED_FINAL = 8;

type AnchorRow = {
  id: number;
  log_id: string;
  size: number;
  root: string;
  chain_id: string;
  contract: string;
  anchor_index: number | null;
  tx_hash: string | null;
  block_number: number | null;
  block_hash: string | null;
  status: AnchorStatus;
  attempts: number;
  last_error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
};

function anchorColumns(a = ""): string {
  const p = a === "" ? "" : `${a}.`;
  return `${p}id, ${p}log_id, ${p}size, encode(${p}root, 'hex') AS root, ${p}chain_id, ${p}contract,
    ${p}anchor_index, ${p}tx_hash, ${p}block_number, ${p}block_hash, ${p}status, ${p}attempts,
    ${p}last_error, ${p}created_at, ${p}updated_at`;
}
const ANCHOR_COLUMNS = anchorColumns();

type AgentAnchorRow = {
  id: number;
  agent_id: string;
  card_version: number;
  card_hash: string;
  chain_id: string;
  contract: string;
  token_id: string | null;
  chain_version: number | null;
  tx_hash: string | null;
  block_number: number | null;
  block_hash: string | null;
  status: AnchorStatus;
  attempts: number;
  last_error: string | null;
};

const AGENT_ANCHOR_COLUMNS = `id, agent_id, card_version, encode(card_hash, 'hex') AS card_hash, chain_id,
  contract, token_id::text AS token_id, chain_version, tx_hash, block_number, block_hash, status,
  attempts, last_error`;

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
  readonly #db: Db;
  readonly #log: TransparencyLog;
  readonly #client: BlockchainClient;
  readonly #anchor: CheckpointAnchorContract;
  readonly #identity: IdentityRegistryContract | undefined;
  readonly #signer: ChainSigner | undefined;
  readonly #expectedChainId: bigint | undefined;
  readonly #cardUri: (agentId: string) => string;
  readonly #onError: (error: unknown) => void;
  readonly #maxBackoffMs: number;
  readonly #now: () => Date;
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
      throw new ChaosCoreError("INVALID_INPUT", "confirmations must be a positive integer");
    }
    this.confirmations = confirmations;
    this.#db = options.db;
    this.#log = options.log;
    this.#client = options.chain.client;
    this.#anchor = options.chain.contracts.anchor;
    this.#identity = options.chain.contracts.identity;
    this.#signer = options.chain.signer ?? this.#anchor.signer;
    this.#expectedChainId = options.chain.chainId;
    this.chainId = this.#client.chainId.toString();
    this.contract = this.#anchor.address.toLowerCase() as Address;
    const origin = this.#log.origin;
    this.#cardUri = options.cardUri ?? ((id) => `chaoscore://${origin}/agents/${id}`);
    this.#onError = options.onError ?? (() => {});
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.#now = options.now ?? (() => new Date());
    this.#directory = new StoredAnchorDirectory({
      db: this.#db,
      log: this.#log,
      chainId: this.chainId,
      contract: this.contract,
    });
  }

  /** The log's id on chain: keccak256 of its origin. */
  get onChainLogId(): Hex {
    return logIdOf(this.#log.origin);
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

  // ---- anchoring -------------------------------------------------------------------------------

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
      const record = await this.#anchorCurrent();
      if (record === null || options.wait !== true) return record;
      return await this.#waitFinal(record, options.timeoutMs ?? 120_000);
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
      const dropped: AnchorRecord[] = [];
      for (const record of await this.#recentFinalRecords(RECHECKED_FINAL)) {
        if (record.blockNumber === null || record.blockHash === null) continue;
        const block = await this.#client.getBlock(BigInt(record.blockNumber));
        if (block !== undefined && block.hash === record.blockHash) continue;
        // A reorg deeper than the confirmations took the block of a final anchor away.
        await this.#update(record.id, {
          status: "mined",
          last_error: "its block left the canonical chain after it was final",
        });
      }
      for (const record of await this.#liveRecords()) {
        const after = await this.#reconcileRecord(record);
        if (after.status === "dropped") dropped.push(after);
      }
      for (const record of await this.#liveAgentRecords()) {
        await this.#reconcileAgentRecord(record);
      }
      const reanchored = dropped.length > 0 ? await this.#anchorCurrent() : null;
      return { counts: await this.#counts(), dropped, reanchored };
    });
  }

  /** Every anchor record of this log on this chain and contract, oldest first. */
  async records(): Promise<AnchorRecord[]> {
    const rows = await this.#db.query<AnchorRow>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE log_id = $1 AND chain_id = $2 AND contract = $3
       ORDER BY id`,
      [this.#log.id, this.chainId, this.contract],
    );
    return rows.map(toRecord);
  }

  /** Every agent card record on this chain, oldest first. */
  async agentRecords(): Promise<AgentAnchorRecord[]> {
    if (this.#identity === undefined) return [];
    const rows = await this.#db.query<AgentAnchorRow>(
      `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors WHERE chain_id = $1 AND contract = $2
       ORDER BY id`,
      [this.chainId, this.#identity.address.toLowerCase()],
    );
    return rows.map(toAgentRecord);
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
      throw new ChaosCoreError("INVALID_INPUT", "intervalMs must be a positive integer");
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
            if (isChainHistoryBroken(error)) this.halt.halt(error, this.#now());
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

  // ---- agent cards -----------------------------------------------------------------------------

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
      const identity = this.#identity;
      if (identity === undefined) {
        throw new ChaosCoreError("INVALID_INPUT", "no IdentityRegistry contract is configured");
      }
      const agents = await this.#db.query<{
        id: string;
        card_hash: string;
        card_version: number;
      }>(
        `SELECT id, encode(card_hash, 'hex') AS card_hash, card_version FROM agents
         ${options.agents === undefined ? "" : "WHERE id = ANY($1::text[])"}
         ORDER BY created_at, id`,
        options.agents === undefined ? [] : [options.agents.map((a) => a.toLowerCase())],
      );
      const out: AgentAnchorRecord[] = [];
      for (const agent of agents) {
        out.push(
          await this.#anchorAgent(
            identity,
            agent.id,
            Number(agent.card_version),
            `0x${agent.card_hash}`,
            options.wait === true,
          ),
        );
      }
      return out;
    });
  }

  async #anchorAgent(
    identity: IdentityRegistryContract,
    agentId: string,
    cardVersion: number,
    cardHash: Hex,
    wait: boolean,
  ): Promise<AgentAnchorRecord> {
    const contract = identity.address.toLowerCase();
    const rows = await this.#db.query<AgentAnchorRow>(
      `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors
       WHERE agent_id = $1 AND chain_id = $2 AND contract = $3 AND status <> 'dropped'
       ORDER BY card_version DESC`,
      [agentId, this.chainId, contract],
    );
    const records = rows.map(toAgentRecord);
    let current = records.find((r) => r.cardVersion === cardVersion);
    if (current !== undefined) {
      if (current.status !== "final") current = await this.#reconcileAgentRecord(current);
      if (current.status !== "dropped") return current;
    }
    const uri = this.#cardUri(agentId);
    const tokenId =
      records.find((r) => r.tokenId !== null)?.tokenId ??
      (await this.#findRegistration(identity, uri));
    const now = this.#now().toISOString();
    const [inserted] = await this.#db.query<{ id: number }>(
      `INSERT INTO agent_anchors (agent_id, card_version, card_hash, chain_id, contract, token_id,
         status, attempts, created_at, updated_at)
       VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6::numeric, 'pending', 1, $7, $7) RETURNING id`,
      [
        agentId,
        cardVersion,
        cardHash.slice(2),
        this.chainId,
        contract,
        tokenId?.toString() ?? null,
        now,
      ],
    );
    const id = Number(inserted?.id);
    try {
      if (tokenId !== undefined) {
        const onChain = await identity.cardOf(tokenId);
        if (onChain.hash.toLowerCase() === cardHash) {
          // Already there (a crash after sending, or another process): record it.
          const [event] = (
            await identity.queryEvents("CardUpdated", {
              args: { agentId: tokenId, version: onChain.version },
            })
          ).concat(
            onChain.version === 1n
              ? await identity.queryEvents("Registered", { args: { agentId: tokenId } })
              : [],
          );
          await this.#updateAgent(id, {
            chain_version: Number(onChain.version),
            tx_hash: event?.log.transactionHash ?? null,
            block_number: event === undefined ? null : Number(event.log.blockNumber),
            block_hash: event?.log.blockHash ?? null,
            status: event === undefined ? "final" : "mined",
          });
        } else {
          const sent = await identity.updateCard({
            agentId: tokenId,
            uri,
            cardHash,
            version: onChain.version + 1n,
          });
          await this.#updateAgent(id, {
            tx_hash: sent.hash,
            chain_version: Number(onChain.version + 1n),
          });
        }
      } else {
        const sent = await identity.register({ uri, cardHash });
        await this.#updateAgent(id, { tx_hash: sent.hash, chain_version: 1 });
      }
    } catch (error) {
      await this.#updateAgent(id, {
        status: isChaosCoreError(error, "CHAIN_RPC_UNREACHABLE") ? "pending" : "dropped",
        last_error: describe(error),
      });
      throw error;
    }
    let record = await this.#agentRecord(id);
    if (wait && record.txHash !== null && record.status === "pending") {
      await this.#client.waitForTransaction(record.txHash, { confirmations: 1 });
    }
    record = await this.#reconcileAgentRecord(record);
    return record;
  }

  /** The token id of an earlier registration by this signer with this URI, if any. */
  async #findRegistration(
    identity: IdentityRegistryContract,
    uri: string,
  ): Promise<bigint | undefined> {
    const owner = this.#signer?.address;
    if (owner === undefined) return undefined;
    const events = await identity.queryEvents("Registered", { args: { owner } });
    const match = events.find((e) => e.args.agentURI === uri);
    return match === undefined ? undefined : (match.args.agentId as bigint);
  }

  #findSentCard(record: AgentAnchorRecord): Promise<SentCardState> {
    if (this.#identity === undefined) return Promise.resolve({ kind: "absent" });
    return findSentCard({
      client: this.#client,
      identity: this.#identity,
      owner: this.#signer?.address,
      uri: this.#cardUri(record.agentId),
      cardHash: record.cardHash,
      tokenId: record.tokenId,
    });
  }

  async #reconcileAgentRecord(record: AgentAnchorRecord): Promise<AgentAnchorRecord> {
    if (record.status === "final" || record.status === "dropped") return record;
    if (record.txHash === null) {
      if (record.status !== "pending") return await this.#agentRecord(record.id);
      // Sent before a crash or a lost answer? Ask the chain before dropping: registering
      // again would create a second identity for the agent.
      const sent = await this.#findSentCard(record);
      if (sent.kind === "in-flight") return record;
      if (sent.kind === "absent" || sent.event === undefined) {
        await this.#updateAgent(record.id, {
          status: "dropped",
          last_error: record.lastError ?? "no transaction was sent",
        });
        return await this.#agentRecord(record.id);
      }
      await this.#updateAgent(record.id, {
        token_id: sent.tokenId.toString(),
        chain_version: Number(sent.version),
        tx_hash: sent.event.log.transactionHash,
      });
      record = await this.#agentRecord(record.id);
    }
    const txHash = record.txHash;
    if (txHash === null) return record;
    const receipt = await this.#client.getTransactionReceipt(txHash);
    const state = await this.#receiptState(receipt, txHash);
    if (state.kind === "in-pool") return record;
    if (state.kind === "gone" || state.kind === "reverted") {
      this.#client.resetNonce?.(this.#signer?.address);
      await this.#updateAgent(record.id, {
        status: "dropped",
        last_error: state.kind === "gone" ? "the transaction vanished (reorg)" : "reverted",
      });
      return await this.#agentRecord(record.id);
    }
    if (state.kind !== "mined") return record;
    const r = state.receipt;
    const identity = this.#identity;
    const registered = identity?.registeredEvents(r)[0];
    const head = await this.#client.getBlockNumber();
    await this.#updateAgent(record.id, {
      ...(registered === undefined ? {} : { token_id: registered.agentId.toString() }),
      block_number: Number(r.blockNumber),
      block_hash: r.blockHash,
      status: head - r.blockNumber + 1n >= BigInt(this.confirmations) ? "final" : "mined",
    });
    return await this.#agentRecord(record.id);
  }

  async #updateAgent(id: number, fields: Record<string, unknown>): Promise<void> {
    await updateRow(this.#db, "agent_anchors", id, fields, this.#now());
  }

  async #agentRecord(id: number): Promise<AgentAnchorRecord> {
    const [row] = await this.#db.query<AgentAnchorRow>(
      `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors WHERE id = $1`,
      [id],
    );
    return toAgentRecord(row as AgentAnchorRow);
  }

  async #liveAgentRecords(): Promise<AgentAnchorRecord[]> {
    if (this.#identity === undefined) return [];
    const rows = await this.#db.query<AgentAnchorRow>(
      `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors
       WHERE chain_id = $1 AND contract = $2 AND status IN ${LIVE} ORDER BY id`,
      [this.chainId, this.#identity.address.toLowerCase()],
    );
    return rows.map(toAgentRecord);
  }

  // ---- internals -------------------------------------------------------------------------------

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
      if (expected !== undefined && expected !== this.#client.chainId) {
        throw new ChaosCoreError(
          "CHAIN_WRONG_CHAIN",
          `the anchoring client is on chain ${this.#client.chainId}, not the expected chain ${expected}`,
          { details: { expected: expected.toString(), actual: this.#client.chainId.toString() } },
        );
      }
      await this.#anchor.assertDeployed();
      await this.#identity?.assertDeployed();
    })().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
  }

  async #anchorCurrent(): Promise<AnchorRecord | null> {
    // Anchors still in the pool: follow them first; never race a second transaction past them.
    for (const live of await this.#liveRecords()) {
      const after = await this.#reconcileRecord(live);
      if (after.status === "pending" && after.txHash !== null) return after;
    }
    const cp = await this.#log.checkpoint();
    if (cp.size === 0) return null;
    const root = bytesToHex(cp.rootHash);
    const existing = await this.#liveRecord(cp.size);
    if (existing !== undefined && existing.txHash !== null) return existing;

    // The chain is the truth: the checkpoint may be there already (a crash after sending).
    const latest = await this.#anchor.latest(this.#log.origin);
    const there = await this.#findOnChain(cp.size, root, latest);
    const id = existing?.id ?? (await this.#insertRecord(cp.size, root));
    if (existing !== undefined) {
      await this.#update(id, { attempts: existing.attempts + 1, status: "pending" });
    }
    if (there !== undefined) return await this.#recordFromChain(id, there);

    let proof: Uint8Array[] = [];
    let index = 0n;
    if (latest !== undefined) {
      await this.#assertExtends(latest);
      if (latest.size > BigInt(cp.size)) {
        throw this.#mismatch(
          `the chain holds a checkpoint of size ${latest.size} of this log, beyond the local log's size ${cp.size}`,
          latest,
        );
      }
      proof = await this.#log.consistencyProof(Number(latest.size), cp.size);
      index = latest.index + 1n;
    }
    try {
      const sent = await this.#anchor.anchor({
        origin: this.#log.origin,
        index,
        size: cp.size,
        root,
        proof,
      });
      await this.#update(id, { tx_hash: sent.hash, anchor_index: Number(index), last_error: null });
    } catch (error) {
      if (isChaosCoreError(error, "CHAIN_REVERTED") && error.details?.error === "AlreadyAnchored") {
        const again = await this.#findOnChain(cp.size, root);
        if (again !== undefined) return await this.#recordFromChain(id, again);
      }
      // Nothing is on chain after a revert, a refusal or missing funds; after an
      // unreachable node the transaction may be out there: reconcile decides.
      const unknown = isChaosCoreError(error, "CHAIN_RPC_UNREACHABLE");
      if (!unknown) this.#client.resetNonce?.(this.#signer?.address);
      await this.#update(id, {
        status: unknown ? "pending" : "dropped",
        last_error: describe(error),
      });
      throw error;
    }
    return await this.#reconcileRecord(await this.#record(id));
  }

  /** Checks that the chain's latest checkpoint of this log is a checkpoint of the local log. */
  async #assertExtends(latest: AnchoredCheckpoint): Promise<void> {
    const size = await this.#log.size();
    if (latest.size > BigInt(size)) {
      throw this.#mismatch(
        `the chain holds a checkpoint of size ${latest.size} of this log, beyond the local log's size ${size}`,
        latest,
      );
    }
    const ours = bytesToHex(await this.#log.rootAt(Number(latest.size)));
    if (ours !== latest.root.toLowerCase()) {
      throw this.#mismatch(
        `the root anchored on chain at size ${latest.size} is not the local log's root at that size`,
        latest,
      );
    }
  }

  #mismatch(message: string, latest: AnchoredCheckpoint): ChaosCoreError {
    return new ChaosCoreError("ANCHOR_LOG_MISMATCH", message, {
      details: {
        origin: this.#log.origin,
        logId: latest.logId,
        index: latest.index.toString(),
        size: latest.size.toString(),
        root: latest.root,
        chainId: this.chainId,
        contract: this.contract,
      },
    });
  }

  /**
   * The anchored checkpoint of this log with this size, if the contract holds one
   * (binary search: sizes strictly increase with the index).
   * @throws ChaosCoreError ANCHOR_LOG_MISMATCH when it holds that size with another root.
   */
  async #findOnChain(
    size: number,
    root: Hex,
    latestKnown?: AnchoredCheckpoint,
  ): Promise<AnchoredCheckpoint | undefined> {
    const origin = this.#log.origin;
    const latest = latestKnown ?? (await this.#anchor.latest(origin));
    if (latest === undefined) return undefined;
    const target = BigInt(size);
    let found: AnchoredCheckpoint | undefined;
    if (latest.size === target) found = latest;
    else if (latest.size > target) {
      let lo = 0n;
      let hi = latest.index - 1n;
      while (lo <= hi) {
        const mid = (lo + hi) / 2n;
        const cp = await this.#anchor.checkpointAt(origin, mid);
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
      throw this.#mismatch(
        `the chain holds a checkpoint of size ${size} of this log with another root`,
        found,
      );
    }
    return found;
  }

  /** Records an anchor found on chain: its transaction and block from the `Anchored` event. */
  async #recordFromChain(id: number, cp: AnchoredCheckpoint): Promise<AnchorRecord> {
    const events = await this.#anchor.queryEvents("Anchored", {
      topics: [cp.logId],
      fromBlock: cp.blockNumber,
      toBlock: cp.blockNumber,
    });
    const event = this.#anchor
      .anchoredEvents(events.map((e) => e.log))
      .find((e) => e.index === cp.index && e.size === cp.size);
    const head = await this.#client.getBlockNumber();
    await this.#update(id, {
      anchor_index: Number(cp.index),
      tx_hash: event?.log.transactionHash ?? null,
      block_number: Number(cp.blockNumber),
      block_hash: event?.log.blockHash ?? null,
      status: head - cp.blockNumber + 1n >= BigInt(this.confirmations) ? "final" : "mined",
      last_error: null,
    });
    return await this.#record(id);
  }

  async #reconcileRecord(record: AnchorRecord): Promise<AnchorRecord> {
    if (record.status === "final" || record.status === "dropped") return record;
    if (record.txHash === null) {
      // Sent or not before a crash: the chain says.
      const there = await this.#findOnChain(record.size, record.root);
      if (there !== undefined) return await this.#recordFromChain(record.id, there);
      await this.#update(record.id, {
        status: "dropped",
        last_error: record.lastError ?? "no transaction was sent",
      });
      return await this.#record(record.id);
    }
    const receipt = await this.#client.getTransactionReceipt(record.txHash);
    const state = await this.#receiptState(receipt, record.txHash);
    if (state.kind === "in-pool") {
      if (record.status === "mined") {
        // Reorged out and back in the pool.
        await this.#update(record.id, { status: "pending", block_number: null, block_hash: null });
        return await this.#record(record.id);
      }
      return record;
    }
    if (state.kind === "gone" || state.kind === "reverted") {
      const there = await this.#findOnChain(record.size, record.root);
      if (there !== undefined) return await this.#recordFromChain(record.id, there);
      this.#client.resetNonce?.(this.#signer?.address);
      await this.#update(record.id, {
        status: "dropped",
        last_error:
          state.kind === "gone"
            ? "the transaction vanished from the chain (reorg) or the pool"
            : "the transaction reverted",
      });
      return await this.#record(record.id);
    }
    if (state.kind !== "mined") return record;
    const r = state.receipt;
    const event = this.#anchor.anchoredEvents(r)[0];
    const head = await this.#client.getBlockNumber();
    await this.#update(record.id, {
      ...(event === undefined ? {} : { anchor_index: Number(event.index) }),
      block_number: Number(r.blockNumber),
      block_hash: r.blockHash,
      status: head - r.blockNumber + 1n >= BigInt(this.confirmations) ? "final" : "mined",
      last_error: null,
    });
    return await this.#record(record.id);
  }

  /** What the chain says about a sent transaction. */
  async #receiptState(
    receipt: TransactionReceipt | undefined,
    hash: Hex,
  ): Promise<
    | { kind: "in-pool" | "gone" | "reverted" | "stale" }
    | { kind: "mined"; receipt: TransactionReceipt }
  > {
    if (receipt === undefined) {
      const tx = await this.#client.request<unknown>("eth_getTransactionByHash", [hash]);
      return { kind: tx === null || tx === undefined ? "gone" : "in-pool" };
    }
    if (receipt.status === "reverted") return { kind: "reverted" };
    const block = await this.#client.getBlock(receipt.blockNumber);
    // A receipt whose block is no longer the canonical one at its height: a reorg in progress.
    if (block === undefined || block.hash !== receipt.blockHash) return { kind: "stale" };
    return { kind: "mined", receipt };
  }

  async #waitFinal(record: AnchorRecord, timeoutMs: number): Promise<AnchorRecord> {
    const deadline = Date.now() + timeoutMs;
    let current = record;
    for (;;) {
      if (current.status === "final" || current.status === "dropped") return current;
      if (current.txHash !== null) {
        await this.#client.waitForTransaction(current.txHash, {
          confirmations: this.confirmations,
          timeoutMs: Math.max(1, deadline - Date.now()),
        });
      }
      current = await this.#reconcileRecord(await this.#record(current.id));
      if (current.status !== "final" && Date.now() >= deadline) {
        throw new ChaosCoreError(
          "CHAIN_TIMEOUT",
          `the anchor of size ${current.size} is not final after ${timeoutMs} ms`,
          { details: { txHash: current.txHash, status: current.status } },
        );
      }
      if (current.status !== "final") await sleep(100);
    }
  }

  async #insertRecord(size: number, root: Hex): Promise<number> {
    const now = this.#now().toISOString();
    const [row] = await this.#db.query<{ id: number }>(
      `INSERT INTO anchors (log_id, size, root, chain_id, contract, status, attempts, created_at,
         updated_at)
       VALUES ($1, $2, decode($3, 'hex'), $4, $5, 'pending', 1, $6, $6) RETURNING id`,
      [this.#log.id, size, root.slice(2), this.chainId, this.contract, now],
    );
    return Number(row?.id);
  }

  async #update(id: number, fields: Record<string, unknown>): Promise<void> {
    await updateRow(this.#db, "anchors", id, fields, this.#now());
  }

  async #record(id: number): Promise<AnchorRecord> {
    const [row] = await this.#db.query<AnchorRow>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE id = $1`,
      [id],
    );
    return toRecord(row as AnchorRow);
  }

  async #liveRecord(size: number): Promise<AnchorRecord | undefined> {
    const [row] = await this.#db.query<AnchorRow>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors
       WHERE log_id = $1 AND chain_id = $2 AND contract = $3 AND size = $4 AND status <> 'dropped'`,
      [this.#log.id, this.chainId, this.contract, size],
    );
    return row === undefined ? undefined : toRecord(row);
  }

  async #recentFinalRecords(limit: number): Promise<AnchorRecord[]> {
    const rows = await this.#db.query<AnchorRow>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors
       WHERE log_id = $1 AND chain_id = $2 AND contract = $3 AND status = 'final'
       ORDER BY size DESC LIMIT $4`,
      [this.#log.id, this.chainId, this.contract, limit],
    );
    return rows.map(toRecord);
  }

  async #liveRecords(): Promise<AnchorRecord[]> {
    const rows = await this.#db.query<AnchorRow>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors
       WHERE log_id = $1 AND chain_id = $2 AND contract = $3 AND status IN ${LIVE} ORDER BY size`,
      [this.#log.id, this.chainId, this.contract],
    );
    return rows.map(toRecord);
  }

  async #counts(): Promise<Record<AnchorStatus, number>> {
    const counts: Record<AnchorStatus, number> = { pending: 0, mined: 0, final: 0, dropped: 0 };
    const rows = await this.#db.query<{ status: AnchorStatus; n: number }>(
      `SELECT status, count(*)::int AS n FROM anchors
       WHERE log_id = $1 AND chain_id = $2 AND contract = $3 GROUP BY status`,
      [this.#log.id, this.chainId, this.contract],
    );
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }
}

/**
 * The {@link AnchorDirectory} of the anchors recorded in the database: needs
 * no chain connection (receipts of a process that does not anchor itself).
 */
export class StoredAnchorDirectory implements AnchorDirectory {
  readonly #db: Db;
  readonly #log: TransparencyLog;
  readonly #chainId: string | undefined;
  readonly #contract: string | undefined;

  /** Without `chainId` / `contract`, final anchors on any chain and contract count. */
  constructor(options: { db: Db; log: TransparencyLog; chainId?: string; contract?: string }) {
    this.#db = options.db;
    this.#log = options.log;
    this.#chainId = options.chainId;
    this.#contract = options.contract?.toLowerCase();
  }

  /** Every anchor record of the log (any status) on this chain and contract, newest first. */
  async list(limit = 100): Promise<AnchorRecord[]> {
    const params: unknown[] = [this.#log.id];
    const where = this.#filter(params, "");
    params.push(limit);
    const rows = await this.#db.query<AnchorRow>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE log_id = $1 ${where}
       ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  /** `AND chain_id = … AND contract = …` for the configured filter (pushing to `params`). */
  #filter(params: unknown[], alias: string): string {
    const where: string[] = [];
    if (this.#chainId !== undefined) {
      params.push(this.#chainId);
      where.push(`AND ${alias}chain_id = $${params.length}`);
    }
    if (this.#contract !== undefined) {
      params.push(this.#contract);
      where.push(`AND ${alias}contract = $${params.length}`);
    }
    return where.join(" ");
  }

  /** The latest FINAL anchor of `logId` whose stored checkpoint covers leaf `leafIndex`, or null. */
  async anchorCovering(
    logId: string,
    leafIndex: number,
  ): Promise<{ size: number; anchor: ReceiptAnchor } | null> {
    if (logId !== this.#log.id) return null;
    const params: unknown[] = [logId, leafIndex];
    const where = [this.#filter(params, "a.")];
    const [row] = await this.#db.query<AnchorRow>(
      `SELECT ${anchorColumns("a")} FROM anchors a
       JOIN log_checkpoints c ON c.log_id = a.log_id AND c.size = a.size
       WHERE a.log_id = $1 AND a.status = 'final' AND a.size > $2 ${where.join(" ")}
         AND a.anchor_index IS NOT NULL AND a.tx_hash IS NOT NULL AND a.block_number IS NOT NULL
       ORDER BY a.size DESC, a.id DESC LIMIT 1`,
      params,
    );
    if (row === undefined) return null;
    const r = toRecord(row);
    return {
      size: r.size,
      anchor: {
        chainId: r.chainId,
        contract: r.contract,
        logId: logIdOf(this.#log.origin),
        index: r.index as number,
        txHash: r.txHash as Hex,
        blockNumber: r.blockNumber as number,
      },
    };
  }
}

// ---- helpers ------------------------------------------------------------------------------------

const UPDATABLE = new Set([
  "anchor_index",
  "tx_hash",
  "block_number",
  "block_hash",
  "status",
  "attempts",
  "last_error",
  "token_id",
  "chain_version",
]);

async function updateRow(
  db: Db,
  table: "anchors" | "agent_anchors",
  id: number,
  fields: Record<string, unknown>,
  now: Date,
): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [id, now.toISOString()];
  for (const [column, value] of Object.entries(fields)) {
    if (!UPDATABLE.has(column)) throw new Error(`not an updatable column: ${column}`);
    params.push(value);
    sets.push(`${column} = $${params.length}${column === "token_id" ? "::numeric" : ""}`);
  }
  await db.query(
    `UPDATE ${table} SET ${[...sets, "updated_at = $2"].join(", ")} WHERE id = $1`,
    params,
  );
}

function toRecord(r: AnchorRow): AnchorRecord {
  return {
    id: Number(r.id),
    logId: r.log_id,
    size: Number(r.size),
    root: `0x${r.root}`,
    chainId: r.chain_id,
    contract: r.contract as Address,
    index: r.anchor_index === null ? null : Number(r.anchor_index),
    txHash: r.tx_hash as Hex | null,
    blockNumber: r.block_number === null ? null : Number(r.block_number),
    blockHash: r.block_hash as Hex | null,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

function toAgentRecord(r: AgentAnchorRow): AgentAnchorRecord {
  return {
    id: Number(r.id),
    agentId: r.agent_id,
    cardVersion: Number(r.card_version),
    cardHash: `0x${r.card_hash}`,
    chainId: r.chain_id,
    contract: r.contract as Address,
    tokenId: r.token_id === null ? null : BigInt(r.token_id),
    chainVersion: r.chain_version === null ? null : Number(r.chain_version),
    txHash: r.tx_hash as Hex | null,
    blockNumber: r.block_number === null ? null : Number(r.block_number),
    blockHash: r.block_hash as Hex | null,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
  };
}

function describe(error: unknown): string {
  if (isChaosCoreError(error)) return `${error.code}: ${error.message}`.slice(0, 1000);
  return String(error instanceof Error ? error.message : error).slice(0, 1000);
}
