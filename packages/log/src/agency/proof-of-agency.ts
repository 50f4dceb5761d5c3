/**
 * Proof of Agency: the service that records agents' signed actions and
 * outcomes in the transparency log, and answers for them. Its parts:
 * intake (entry-intake.ts, attestation-check.ts), the group-commit writer
 * (group-commit.ts, entry-checks.ts, entry-rows.ts), recording in a caller's
 * transaction (record-in-transaction.ts), queries (action-queries.ts),
 * receipts (receipts.ts) and the audit (entry-audit.ts); what they share is
 * in agency-context.ts.
 * @module
 */
import { type Address, type Receipt, type VerifiedReceipt, verifyReceipt } from "@chaoscore/core";
import type { Db } from "../store/db.js";
import { type ActionQuery, type ActionRecord, getAction, queryActions } from "./action-queries.js";
import {
  type AgencyContext,
  type AgencyLimits,
  type AgentDirectory,
  type AnchorDirectory,
  DEFAULT_LIMITS,
  type RecordResult,
} from "./agency-context.js";
import type { AttestationRecordingPolicy } from "./attestation-check.js";
import { auditEntries } from "./entry-audit.js";
import {
  type ActionInput,
  type OutcomeInput,
  prepareAction,
  prepareOutcome,
} from "./entry-intake.js";
import { GroupCommitWriter } from "./group-commit.js";
import { LogFamily } from "./log-family.js";
import type { OutcomePolicy } from "./outcome-authorization.js";
import { buildReceipt } from "./receipts.js";
import { recordInTransaction, type TransactionItem } from "./record-in-transaction.js";
import { InlineSignatureVerifier, type SignatureVerifier } from "./signature-verifier.js";
import type { TransparencyLog } from "./transparency-log.js";

export type ProofOfAgencyOptions = {
  db: Db;
  /** Shard 0 of the family (the configured log). */
  log: TransparencyLog;
  /** The family of `log` (default: `log` alone, never rotated). */
  logs?: LogFamily;
  agents: AgentDirectory;
  chainId: bigint;
  /** The deployment entries must be signed for (EIP-712 `verifyingContract`). */
  verifyingContract: Address;
  /**
   * Who may judge actions outside this deployment's studios: `open` (default,
   * any registered agent) or `self` (the acting agent). Studio actions are
   * judged by the studio's operator and evaluators only (outcome-authorization.ts).
   */
  outcomePolicy?: OutcomePolicy;
  verifier?: SignatureVerifier;
  limits?: Partial<AgencyLimits>;
  /** Largest accepted distance between a message's timestamp and the server clock (s); default 300. */
  clockSkewSeconds?: number;
  now?: () => Date;
  /** Most entries committed in one transaction (group commit); default 1000. */
  maxBatch?: number;
  /** On-chain anchors, when a chain is configured. */
  anchors?: AnchorDirectory;
  /** How actions that carry an execution attestation are judged. */
  attestation?: AttestationRecordingPolicy;
};

/** Proof of Agency: record, verify, query and prove agents' actions and outcomes. */
export interface ProofOfAgencyInterface {
  recordAction(input: ActionInput): Promise<RecordResult>;
  recordOutcome(input: OutcomeInput): Promise<RecordResult>;
  getAction(id: string): Promise<ActionRecord>;
  query(q: ActionQuery): Promise<{ items: ActionRecord[]; nextCursor: string | null }>;
  getReceipt(id: string, options?: { includePayload?: boolean }): Promise<Receipt>;
  verify(id: string): Promise<VerifiedReceipt>;
}

/**
 * The Proof of Agency service. Writes go through a group-commit queue: each
 * transaction appends a batch of entries to the log and stores their rows,
 * so throughput grows with load while every accepted entry is durable when
 * its promise resolves. A rejected entry writes nothing.
 */
export class ProofOfAgency implements ProofOfAgencyInterface {
  readonly chainId: bigint;
  readonly verifyingContract: Address;
  readonly outcomePolicy: OutcomePolicy;
  readonly limits: AgencyLimits;
  private readonly ctx: AgencyContext;
  private readonly writer: GroupCommitWriter;

  /** The signature verifier (inline, or the worker pool): for metrics and fault injection. */
  get verifier(): SignatureVerifier {
    return this.ctx.verifier;
  }

  constructor(options: ProofOfAgencyOptions) {
    this.chainId = options.chainId;
    this.verifyingContract = options.verifyingContract;
    this.outcomePolicy = options.outcomePolicy ?? "open";
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.ctx = {
      db: options.db,
      log: options.log,
      logs: options.logs ?? new LogFamily(options.db, options.log, {}),
      agents: options.agents,
      verifier: options.verifier ?? new InlineSignatureVerifier(),
      chainId: this.chainId,
      verifyingContract: this.verifyingContract,
      outcomePolicy: this.outcomePolicy,
      limits: this.limits,
      attestation: options.attestation ?? { mode: "optional", trustedRoots: [] },
      clockSkewSeconds: options.clockSkewSeconds ?? 300,
      now: options.now ?? (() => new Date()),
      anchors: options.anchors,
    };
    this.writer = new GroupCommitWriter(this.ctx, options.maxBatch ?? 1000);
  }

  /** Sets (or removes) where receipts look up on-chain anchors. */
  setAnchorDirectory(anchors: AnchorDirectory | undefined): void {
    this.ctx.anchors = anchors;
  }

  /**
   * Records a signed action (and its optional off-log payload).
   * @throws ChaosCoreError AGENCY_MALFORMED, AGENCY_WRONG_CHAIN, AGENCY_EXPIRED,
   * AGENCY_CLOCK_SKEW, AGENCY_ENTRY_TOO_LARGE, AGENCY_PAYLOAD_TOO_LARGE,
   * AGENCY_PAYLOAD_MISMATCH, AGENCY_BAD_SIGNATURE, AGENT_NOT_FOUND,
   * AGENT_NOT_ACTIVE, AGENCY_NONCE_NOT_INCREASING, AGENCY_NONCE_GAP_TOO_LARGE, AGENCY_PARENT_NOT_FOUND,
   * STORE_UNAVAILABLE, AGENCY_QUEUE_FULL, AGENCY_VERIFIER_UNAVAILABLE (the last three retryable).
   */
  recordAction(input: ActionInput): Promise<RecordResult> {
    try {
      return this.writer.enqueue("action", ...prepareAction(this.ctx, input), input.log);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Records a signed outcome of a recorded action, with its metrics.
   * @throws ChaosCoreError as {@link recordAction}, plus AGENCY_ACTION_NOT_FOUND
   * and AGENCY_OUTCOME_EXISTS.
   */
  recordOutcome(input: OutcomeInput): Promise<RecordResult> {
    try {
      return this.writer.enqueue("outcome", ...prepareOutcome(this.ctx, input), null, input.log);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Records entries inside the caller's transaction `tx`, with the checks of
   * {@link recordAction} and {@link recordOutcome}: they commit or roll back
   * with the caller's own writes (a studio transition writes its outcome, its
   * action and the task in one transaction). The first refused entry throws
   * (the caller's transaction then rolls back); an entry already recorded
   * answers its first record (`duplicate`). Call `commit()` once `tx` has
   * committed. Bypasses the ingest queue; the log's row lock orders it with
   * the group-commit writer.
   * @throws ChaosCoreError as {@link recordAction} / {@link recordOutcome}.
   */
  recordInTransaction(
    tx: Db,
    items: readonly TransactionItem[],
  ): Promise<{ results: RecordResult[]; commit: () => void }> {
    return recordInTransaction(this.ctx, tx, items);
  }

  /** Entries and bytes the ingest queue holds now (for metrics and the flood test). */
  get queued(): { entries: number; bytes: number } {
    return this.writer.queued;
  }

  /** Resolves when every queued write has committed or failed. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * A recorded action.
   * @throws ChaosCoreError AGENCY_ACTION_NOT_FOUND.
   */
  getAction(id: string): Promise<ActionRecord> {
    return getAction(this.ctx.db, this.ctx.logs.id, id);
  }

  /**
   * Actions matching every given filter, in log order, a page at a time.
   * @throws ChaosCoreError INVALID_INPUT on a malformed cursor, time or limit.
   */
  query(q: ActionQuery): Promise<{ items: ActionRecord[]; nextCursor: string | null }> {
    return queryActions(this.ctx.db, this.ctx.logs.id, q);
  }

  /**
   * A self-contained receipt (`chaoscore.receipt/v2`) for an action, with its
   * first outcome (by leaf index); or, for an outcome id, for its action with
   * that outcome: the signed entries, their inclusion proofs and a signed
   * checkpoint covering both.
   * @throws ChaosCoreError AGENCY_ACTION_NOT_FOUND.
   */
  getReceipt(id: string, options: { includePayload?: boolean } = {}): Promise<Receipt> {
    return buildReceipt(this.ctx, id, options);
  }

  /** Builds the receipt of `id` and verifies it as an offline verifier would. */
  async verify(id: string): Promise<VerifiedReceipt> {
    // Under the family key: a receipt of shard n ≥ 1 carries its shard certificate (shards.md).
    return verifyReceipt(await this.getReceipt(id), this.ctx.logs.verifierKey);
  }

  /**
   * Checks the whole log: the tree against stored nodes and signed
   * checkpoints, and every entry's signature and table row.
   */
  audit(onProgress?: (done: number, total: number) => void) {
    return auditEntries(this.ctx, onProgress);
  }

  /** Stops background work (the signature pool). */
  async close(): Promise<void> {
    await this.flush();
    await this.ctx.verifier.close();
  }
}
