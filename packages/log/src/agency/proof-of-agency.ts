import {
  type ActionEntry,
  type Address,
  type AttestationQuote,
  type AttestationTrustPolicy,
  attestationHash,
  bytesToBase64,
  bytesToHex,
  ChaosCoreError,
  canonicalJsonBytes,
  type ErrorCode,
  encodeEntry,
  entryDigest,
  type Hex,
  isAgentBoundNonce,
  isChaosCoreError,
  isHex,
  isTeeEvidence,
  type JsonValue,
  type KeyRotation,
  type LogEntry,
  type OutcomeEntry,
  parseEntry,
  parseQuote,
  RECEIPT_FORMAT,
  RECEIPT_FORMAT_V3,
  type Receipt,
  type ReceiptAnchor,
  type ReceiptAttestation,
  sha256Hex,
  TEE_EVIDENCE_FORMAT,
  type VerifiedReceipt,
  verifyQuote,
  verifyReceipt,
  ZERO_HASH,
} from "@chaoscore/core";
import { fromDbHex, toDbHex } from "../store/bytes.js";
import type { Db } from "../store/db.js";
import { DEFAULT_QUEUE_LIMITS, IngestBudget, type IngestQueueLimits } from "./ingest-budget.js";
import {
  checkOutcomeAuthority,
  type JudgedAction,
  type OutcomePolicy,
  readJudgedActions,
  readStudioJudges,
} from "./outcome-authorization.js";
import { InlineSignatureVerifier, type SignatureVerifier } from "./signature-verifier.js";
import { checkTeeEvidence } from "./tee-evidence-check.js";
import type { TransparencyLog } from "./transparency-log.js";

/** What Proof of Agency needs to know about agents (implemented by the registry). */
export interface AgentDirectory {
  /** Current signer, status and last accepted action nonce of each agent, read in `tx`. */
  signingState(
    ids: readonly string[],
    tx?: Db,
  ): Promise<Map<string, { signer: Address; status: string; actionNonce: bigint | null }>>;
  /** Signed key rotations from the agent's registration key to `upToSigner`. */
  keyRotations(id: string, upToSigner?: Address): Promise<KeyRotation[]>;
  /** Every key the agent has signed with, oldest first. */
  keyHistory(id: string): Promise<{ seq: number; signer: Address }[]>;
}

/**
 * Where checkpoints are anchored on chain (implemented by the anchoring
 * service). Receipts prefer an anchored checkpoint that covers their entries.
 */
export interface AnchorDirectory {
  /**
   * The latest final anchor of the log whose checkpoint covers leaf
   * `leafIndex` (its size is larger), or null.
   */
  anchorCovering(
    logId: string,
    leafIndex: number,
  ): Promise<{ size: number; anchor: ReceiptAnchor } | null>;
}

/** Size limits (bytes). */
export type AgencyLimits = {
  /** Largest signed log entry (canonical JSON); default 64 KiB. */
  maxEntryBytes: number;
  /** Largest off-log payload (canonical JSON); default 1 MiB. */
  maxPayloadBytes: number;
  /** Largest outcome metrics object (canonical JSON); default 16 KiB. */
  maxMetricsBytes: number;
} & IngestQueueLimits;

/**
 * The largest step between an agent's last accepted nonce and the next one
 * (`AGENCY_NONCE_GAP_TOO_LARGE` above it): gaps stay allowed (lost or
 * abandoned entries), but no entry can push the counter out of reach.
 */
export const MAX_NONCE_GAP = 1000n;

export const DEFAULT_LIMITS: AgencyLimits = {
  maxEntryBytes: 64 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxMetricsBytes: 16 * 1024,
  ...DEFAULT_QUEUE_LIMITS,
};

export type ProofOfAgencyOptions = {
  db: Db;
  log: TransparencyLog;
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

/**
 * The attestation rule of a log. An action whose `attestationHash` is not zero
 * must come with its quote; the quote must hash to it and verify under the
 * trusted roots (and the measurement allow-list, if any), and be at most
 * `maxAgeSeconds` older than the action's timestamp. With `required`, every
 * action must carry one.
 */
export type AttestationRecordingPolicy = {
  mode: "optional" | "required";
  /** Ed25519 public keys of the trusted attestation roots. */
  trustedRoots: readonly Hex[];
  allowedMeasurements?: readonly Hex[];
  /** Default 3600. */
  maxAgeSeconds?: number;
  /**
   * How real TEE evidence (`chaoscore.tee-evidence/v1`: AWS Nitro, Intel TDX,
   * AMD SEV-SNP) is judged: the trust policy's `attestation` member
   * (docs/spec/attestation.md §10). Without it the log refuses real evidence.
   */
  evidence?: AttestationTrustPolicy;
};

/** The result of recording an action or outcome. */
export type RecordResult = {
  id: Hex;
  kind: "action" | "outcome";
  leafIndex: number;
  /** True when this exact signed message was recorded before (its first record is returned). */
  duplicate: boolean;
};

/** A recorded action as stored. */
export type ActionRecord = {
  id: Hex;
  leafIndex: number;
  agent: Address;
  studio: string;
  task: string;
  actionType: string;
  nonce: string;
  timestamp: string;
  payloadHash: Hex;
  hasPayload: boolean;
  outcomeId: Hex | null;
  recordedAt: string;
};

/** Filters of {@link ProofOfAgency.query}; results are ordered by leaf index. */
export type ActionQuery = {
  agent?: string;
  studio?: string;
  task?: string;
  actionType?: string;
  /** ISO time or unix seconds: actions with timestamp ≥ from. */
  from?: string;
  /** ISO time or unix seconds: actions with timestamp < to. */
  to?: string;
  limit?: number;
  cursor?: string;
};

/** Proof of Agency: record, verify, query and prove agents' actions and outcomes. */
export interface ProofOfAgencyInterface {
  recordAction(input: {
    entry: unknown;
    payload?: unknown;
    attestation?: unknown;
  }): Promise<RecordResult>;
  recordOutcome(input: { entry: unknown; metrics: unknown }): Promise<RecordResult>;
  getAction(id: string): Promise<ActionRecord>;
  query(q: ActionQuery): Promise<{ items: ActionRecord[]; nextCursor: string | null }>;
  getReceipt(id: string, options?: { includePayload?: boolean }): Promise<Receipt>;
  verify(id: string): Promise<VerifiedReceipt>;
}

type Pending = {
  kind: "action" | "outcome";
  entry: LogEntry;
  bytes: Uint8Array;
  digest: Uint8Array;
  id: Hex;
  agent: Address;
  nonce: bigint;
  extra: Uint8Array | null; // payload (actions) or metrics (outcomes), canonical JSON
  attestation: Uint8Array | null; // the quote of an attested action, canonical JSON
  signer: Promise<Address | ChaosCoreError>;
  resolve: (r: RecordResult) => void;
  reject: (e: unknown) => void;
};

function reject(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new ChaosCoreError(code, message, details === undefined ? {} : { details });
}

const UNIX_RE = /^[0-9]{1,12}$/;

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
  private readonly db: Db;
  private readonly log: TransparencyLog;
  private readonly agents: AgentDirectory;
  private readonly verifier: SignatureVerifier;
  private readonly skew: number;
  private readonly now: () => Date;
  private readonly maxBatch: number;
  private anchors: AnchorDirectory | undefined;
  private readonly attestationPolicy: AttestationRecordingPolicy;
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private readonly budget: IngestBudget;

  constructor(options: ProofOfAgencyOptions) {
    this.db = options.db;
    this.log = options.log;
    this.agents = options.agents;
    this.chainId = options.chainId;
    this.verifyingContract = options.verifyingContract;
    this.outcomePolicy = options.outcomePolicy ?? "open";
    this.verifier = options.verifier ?? new InlineSignatureVerifier();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.budget = new IngestBudget(this.limits);
    this.skew = options.clockSkewSeconds ?? 300;
    this.now = options.now ?? (() => new Date());
    this.maxBatch = options.maxBatch ?? 1000;
    this.anchors = options.anchors;
    this.attestationPolicy = options.attestation ?? { mode: "optional", trustedRoots: [] };
  }

  /** Sets (or removes) where receipts look up on-chain anchors. */
  setAnchorDirectory(anchors: AnchorDirectory | undefined): void {
    this.anchors = anchors;
  }

  /**
   * Records a signed action (and its optional off-log payload).
   * @throws ChaosCoreError AGENCY_MALFORMED, AGENCY_WRONG_CHAIN, AGENCY_EXPIRED,
   * AGENCY_CLOCK_SKEW, AGENCY_ENTRY_TOO_LARGE, AGENCY_PAYLOAD_TOO_LARGE,
   * AGENCY_PAYLOAD_MISMATCH, AGENCY_BAD_SIGNATURE, AGENT_NOT_FOUND,
   * AGENT_NOT_ACTIVE, AGENCY_NONCE_NOT_INCREASING, AGENCY_NONCE_GAP_TOO_LARGE, AGENCY_PARENT_NOT_FOUND,
   * STORE_UNAVAILABLE, AGENCY_QUEUE_FULL, AGENCY_VERIFIER_UNAVAILABLE (the last three retryable).
   */
  recordAction(input: {
    entry: unknown;
    payload?: unknown;
    attestation?: unknown;
  }): Promise<RecordResult> {
    try {
      return this.enqueue("action", ...this.prepareAction(input));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The checks of an action before the writer's: its entry, payload and attestation. */
  private prepareAction(input: {
    entry: unknown;
    payload?: unknown;
    attestation?: unknown;
  }): [ActionEntry, Uint8Array | null, Uint8Array | null] {
    {
      const entry = this.parse(input?.entry, "action") as ActionEntry;
      const attestation = this.checkAttestation(entry, input.attestation);
      let extra: Uint8Array | null = null;
      if (input.payload !== undefined) {
        extra = this.canonical(input.payload, "payload");
        if (extra.length > this.limits.maxPayloadBytes) {
          reject(
            "AGENCY_PAYLOAD_TOO_LARGE",
            `payload exceeds ${this.limits.maxPayloadBytes} bytes`,
            {
              size: extra.length,
              limit: this.limits.maxPayloadBytes,
            },
          );
        }
        if (sha256Hex(extra) !== entry.message.payloadHash) {
          reject("AGENCY_PAYLOAD_MISMATCH", "payload does not hash to the signed payloadHash");
        }
      }
      return [entry, extra, attestation];
    }
  }

  /**
   * Records a signed outcome of a recorded action, with its metrics.
   * @throws ChaosCoreError as {@link recordAction}, plus AGENCY_ACTION_NOT_FOUND
   * and AGENCY_OUTCOME_EXISTS.
   */
  recordOutcome(input: { entry: unknown; metrics: unknown }): Promise<RecordResult> {
    try {
      return this.enqueue("outcome", ...this.prepareOutcome(input));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The checks of an outcome before the writer's: its entry and metrics. */
  private prepareOutcome(input: { entry: unknown; metrics: unknown }): [OutcomeEntry, Uint8Array] {
    {
      const entry = this.parse(input?.entry, "outcome") as OutcomeEntry;
      const metrics = input.metrics;
      if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
        reject("AGENCY_MALFORMED", "metrics must be a JSON object");
      }
      const extra = this.canonical(metrics, "metrics");
      if (extra.length > this.limits.maxMetricsBytes) {
        reject("AGENCY_PAYLOAD_TOO_LARGE", `metrics exceed ${this.limits.maxMetricsBytes} bytes`);
      }
      if (sha256Hex(extra) !== entry.message.metricsHash) {
        reject("AGENCY_PAYLOAD_MISMATCH", "metrics do not hash to the signed metricsHash");
      }
      return [entry, extra];
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
  async recordInTransaction(
    tx: Db,
    items: readonly (
      | { kind: "action"; entry: unknown; payload?: unknown; attestation?: unknown }
      | { kind: "outcome"; entry: unknown; metrics: unknown }
    )[],
  ): Promise<{ results: RecordResult[]; commit: () => void }> {
    const pending: Pending[] = items.map((item) => {
      const [entry, extra, attestation] =
        item.kind === "action"
          ? this.prepareAction(item)
          : [...this.prepareOutcome(item), null as Uint8Array | null];
      const bytes = encodeEntry(entry);
      if (bytes.length > this.limits.maxEntryBytes) {
        reject("AGENCY_ENTRY_TOO_LARGE", `entry exceeds ${this.limits.maxEntryBytes} bytes`);
      }
      const digest = entryDigest(entry);
      const noop = () => undefined;
      return {
        kind: item.kind,
        entry,
        bytes,
        digest,
        id: bytesToHex(digest),
        agent: entry.message.agent,
        nonce: BigInt(entry.message.nonce),
        extra,
        attestation,
        signer: this.verifier
          .recover(digest, entry.signature)
          .catch(
            () =>
              new ChaosCoreError(
                "AGENCY_BAD_SIGNATURE",
                "signature is malformed or does not recover",
              ),
          ),
        resolve: noop,
        reject: noop,
      };
    });
    const signers = await Promise.all(pending.map((p) => p.signer));
    const state = await this.agents.signingState([...new Set(pending.map((p) => p.agent))], tx);
    const results: RecordResult[] = [];
    const fresh: Pending[] = [];
    for (const p of pending) {
      const [row] = await tx.query<{ leaf_index: number }>(
        `SELECT leaf_index FROM ${p.kind === "action" ? "actions" : "outcomes"} WHERE id = decode($1, 'hex')`,
        [p.id.slice(2)],
      );
      if (row !== undefined) {
        results.push({
          id: p.id,
          kind: p.kind,
          leafIndex: Number(row.leaf_index),
          duplicate: true,
        });
      } else fresh.push(p);
    }
    const refs = fresh.flatMap((p) =>
      p.entry.kind === "action" ? p.entry.message.parents : [p.entry.message.action],
    );
    const known = await readJudgedActions(tx, refs);
    const judges = await readStudioJudges(tx, [
      ...[...known.values()].map((a) => a.studio),
      ...fresh.flatMap((p) => (p.entry.kind === "action" ? [p.entry.message.studio] : [])),
    ]);
    for (const p of fresh) {
      const problem = this.check(
        p,
        signers[pending.indexOf(p)] as Address | ChaosCoreError,
        state,
        known,
        judges,
      );
      if (problem !== null) throw problem;
    }
    if (fresh.length === 0) return { results, commit: () => undefined };
    const appended = await this.log.appendInTransaction(
      tx,
      fresh.map((p) => p.bytes),
    );
    await this.insertRows(tx, fresh, appended.firstIndex);
    const last = new Map<string, bigint>();
    for (const p of fresh) last.set(p.agent, p.nonce);
    await tx.query(
      `UPDATE agents SET action_nonce = u.nonce::numeric
       FROM unnest($1::text[], $2::text[]) AS u(id, nonce) WHERE agents.id = u.id`,
      [[...last.keys()], [...last.values()].map(String)],
    );
    fresh.forEach((p, i) => {
      results.push({
        id: p.id,
        kind: p.kind,
        leafIndex: appended.firstIndex + i,
        duplicate: false,
      });
    });
    // in the order of `items`
    results.sort(
      (a, b) => pending.findIndex((p) => p.id === a.id) - pending.findIndex((p) => p.id === b.id),
    );
    return { results, commit: appended.commit };
  }

  /**
   * Checks the quote an action carries against the log's attestation policy.
   * @returns the quote's canonical JSON, or null when the action has none.
   */
  private checkAttestation(entry: ActionEntry, value: unknown): Uint8Array | null {
    const hash = entry.message.attestationHash;
    const policy = this.attestationPolicy;
    if (hash === ZERO_HASH) {
      if (value !== undefined && value !== null) {
        reject("AGENCY_ATTESTATION_MISMATCH", "an attestation was sent but the action signs none");
      }
      if (policy.mode === "required") {
        reject("AGENCY_ATTESTATION_REQUIRED", "this log requires every action to be attested");
      }
      return null;
    }
    if (value === undefined || value === null) {
      reject("AGENCY_ATTESTATION_REQUIRED", "the action signs an attestationHash: send its quote");
    }
    if (
      typeof value === "object" &&
      (value as { format?: unknown }).format === TEE_EVIDENCE_FORMAT
    ) {
      return checkTeeEvidence(entry, value, policy.evidence);
    }
    let quote: AttestationQuote;
    try {
      quote = parseQuote(value);
    } catch (error) {
      return reject("AGENCY_ATTESTATION_INVALID", (error as Error).message, {
        cause: (error as ChaosCoreError).code,
      });
    }
    if (attestationHash(quote) !== hash) {
      reject(
        "AGENCY_ATTESTATION_MISMATCH",
        "the quote does not hash to the signed attestationHash",
      );
    }
    // the quote must be the acting agent's: its nonce starts with the agent's address
    // (docs/spec/attestation.md §9); a public quote of another agent is refused
    if (!isAgentBoundNonce(quote.nonce, entry.message.agent)) {
      reject(
        "AGENCY_ATTESTATION_MISMATCH",
        "the quote's nonce does not bind the acting agent (nonce = agent address ‖ salt)",
        { cause: "ATTESTATION_AGENT_MISMATCH" },
      );
    }
    if (policy.trustedRoots.length === 0) {
      reject("AGENCY_ATTESTATION_INVALID", "no trusted attestation roots are configured");
    }
    try {
      verifyQuote(quote, {
        trustedRoots: policy.trustedRoots,
        ...(policy.allowedMeasurements === undefined
          ? {}
          : { allowedMeasurements: policy.allowedMeasurements }),
        maxAgeSeconds: policy.maxAgeSeconds ?? 3600,
        now: BigInt(entry.message.timestamp),
      });
    } catch (error) {
      const code = (error as ChaosCoreError).code;
      return reject("AGENCY_ATTESTATION_INVALID", `the attestation does not verify (${code})`, {
        cause: code,
      });
    }
    return canonicalJsonBytes(quote);
  }

  private canonical(value: unknown, what: string): Uint8Array {
    try {
      return canonicalJsonBytes(value);
    } catch {
      return reject("AGENCY_MALFORMED", `${what} is not JSON`);
    }
  }

  private parse(value: unknown, kind: "action" | "outcome"): LogEntry {
    let entry: LogEntry;
    try {
      entry = parseEntry(value);
    } catch (error) {
      const e = error as ChaosCoreError;
      return reject("AGENCY_MALFORMED", e.message, e.details as Record<string, unknown>);
    }
    if (entry.kind !== kind)
      reject("AGENCY_MALFORMED", `expected an ${kind} entry, got ${entry.kind}`);
    if (BigInt(entry.chainId) !== this.chainId) {
      reject(
        "AGENCY_WRONG_CHAIN",
        `signed for chain ${entry.chainId}, this log is on ${this.chainId}`,
        {
          chainId: entry.chainId,
          expected: this.chainId.toString(),
        },
      );
    }
    if (entry.verifyingContract !== this.verifyingContract) {
      reject(
        "AGENCY_WRONG_DEPLOYMENT",
        `signed for deployment ${entry.verifyingContract}, this log is ${this.verifyingContract}`,
        { verifyingContract: entry.verifyingContract, expected: this.verifyingContract },
      );
    }
    return entry;
  }

  private enqueue(
    kind: "action" | "outcome",
    entry: LogEntry,
    extra: Uint8Array | null,
    attestation: Uint8Array | null = null,
  ) {
    const bytes = encodeEntry(entry);
    if (bytes.length > this.limits.maxEntryBytes) {
      reject("AGENCY_ENTRY_TOO_LARGE", `entry exceeds ${this.limits.maxEntryBytes} bytes`, {
        size: bytes.length,
        limit: this.limits.maxEntryBytes,
      });
    }
    const release = this.budget.admit(
      bytes.length + (extra?.length ?? 0) + (attestation?.length ?? 0),
    );
    const digest = entryDigest(entry);
    const signer = this.verifier.recover(digest, entry.signature).catch((error) =>
      isChaosCoreError(error, "AGENCY_VERIFIER_UNAVAILABLE")
        ? error
        : new ChaosCoreError("AGENCY_BAD_SIGNATURE", "signature is malformed or does not recover", {
            cause: error,
          }),
    );
    const answered = new Promise<RecordResult>((resolve, rejectPromise) => {
      this.queue.push({
        kind,
        entry,
        bytes,
        digest,
        id: bytesToHex(digest),
        agent: entry.message.agent,
        nonce: BigInt(entry.message.nonce),
        extra,
        attestation,
        signer,
        resolve,
        reject: rejectPromise,
      });
      this.kick();
    });
    // The entry's room in the queue is given back once it is answered.
    answered.then(release, release);
    return answered;
  }

  /** Entries and bytes the ingest queue holds now (for metrics and the flood test). */
  get queued(): { entries: number; bytes: number } {
    return { entries: this.budget.entries, bytes: this.budget.bytes };
  }

  private kick(): void {
    if (this.writing !== null || this.queue.length === 0) return;
    this.writing = (async () => {
      while (this.queue.length > 0) {
        // Let the I/O that is ready (requests of a gateway) queue its entries
        // first: the database may block this thread while a batch commits
        // (PGlite runs on it), and one-entry batches would cap the throughput.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.queue.splice(0, this.maxBatch);
        await this.writeBatch(batch);
      }
    })().finally(() => {
      this.writing = null;
      this.kick();
    });
  }

  /** Resolves when every queued write has committed or failed. */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const signers = await Promise.all(batch.map((p) => p.signer));
    const accepted: Pending[] = [];
    const duplicates: { p: Pending; of: Pending | RecordResult }[] = [];
    let commit: (() => void) | undefined;
    let firstIndex = 0;
    try {
      await this.db.transaction(async (tx) => {
        accepted.length = 0;
        duplicates.length = 0;
        // Lock the agents' rows first: a concurrent writer of the same agent has
        // then committed, so its entries show up in the duplicate check below.
        const state = await this.agents.signingState([...new Set(batch.map((p) => p.agent))], tx);
        const ids = batch.map((p) => p.digest);
        const existing = new Map<string, RecordResult>();
        for (const r of await tx.query<{ id: string; leaf_index: number; kind: string }>(
          `WITH wanted AS (SELECT decode(w, 'hex') AS id FROM unnest($1::text[]) AS w)
           SELECT encode(id, 'hex') AS id, leaf_index, 'action' AS kind FROM actions
             WHERE id IN (SELECT id FROM wanted)
           UNION ALL SELECT encode(id, 'hex'), leaf_index, 'outcome' FROM outcomes
             WHERE id IN (SELECT id FROM wanted)`,
          [ids.map(toDbHex)],
        )) {
          const id: Hex = `0x${r.id}`;
          existing.set(id, {
            id,
            kind: r.kind as "action" | "outcome",
            leafIndex: Number(r.leaf_index),
            duplicate: true,
          });
        }
        const refs = new Set<string>();
        for (const p of batch) {
          if (p.entry.kind === "action")
            for (const parent of p.entry.message.parents) refs.add(parent);
          else refs.add(p.entry.message.action);
        }
        // The referenced actions, with who judged them; and, when the batch has
        // outcomes, who may judge the actions of each studio (outcome-authorization.ts).
        const known = await readJudgedActions(tx, [...refs] as Hex[]);
        const judges = batch.some((p) => p.entry.kind === "outcome")
          ? await readStudioJudges(tx, [
              ...[...known.values()].map((a) => a.studio),
              ...batch.flatMap((p) => (p.entry.kind === "action" ? [p.entry.message.studio] : [])),
            ])
          : new Map<string, Set<string>>();
        const inBatch = new Map<string, Pending>();
        batch.forEach((p, i) => {
          const prior = existing.get(p.id) ?? inBatch.get(p.id);
          if (prior !== undefined) {
            duplicates.push({ p, of: prior });
            return;
          }
          const problem = this.check(
            p,
            signers[i] as Address | ChaosCoreError,
            state,
            known,
            judges,
          );
          if (problem !== null) {
            p.reject(problem);
            return;
          }
          inBatch.set(p.id, p);
          accepted.push(p);
        });
        if (accepted.length === 0) return;
        const appended = await this.log.appendInTransaction(
          tx,
          accepted.map((p) => p.bytes),
        );
        commit = appended.commit;
        firstIndex = appended.firstIndex;
        await this.insertRows(tx, accepted, firstIndex);
        const last = new Map<string, bigint>();
        for (const p of accepted) last.set(p.agent, p.nonce);
        await tx.query(
          `UPDATE agents SET action_nonce = u.nonce::numeric
           FROM unnest($1::text[], $2::text[]) AS u(id, nonce) WHERE agents.id = u.id`,
          [[...last.keys()], [...last.values()].map(String)],
        );
      });
    } catch (error) {
      const failure = isChaosCoreError(error)
        ? error
        : new ChaosCoreError("STORE_UNAVAILABLE", "the write failed; retry", { cause: error });
      // Every entry of the batch not already refused by its own check fails with
      // the batch (also when the transaction failed before sorting the batch:
      // a connection refused at BEGIN must not leave callers waiting forever).
      for (const p of batch) p.reject(failure);
      return;
    }
    commit?.();
    accepted.forEach((p, i) => {
      p.resolve({ id: p.id, kind: p.kind, leafIndex: firstIndex + i, duplicate: false });
    });
    for (const { p, of } of duplicates) {
      const index = "leafIndex" in of ? of.leafIndex : firstIndex + accepted.indexOf(of);
      p.resolve({ id: p.id, kind: p.kind, leafIndex: index, duplicate: true });
    }
  }

  /**
   * Expiry and clock skew, checked at write time after the duplicate check,
   * so that the retry of an accepted entry returns its first record even
   * when the signature has since expired.
   */
  private checkTime(entry: LogEntry): ChaosCoreError | null {
    const now = BigInt(Math.floor(this.now().getTime() / 1000));
    if (BigInt(entry.message.expiry) <= now) {
      return new ChaosCoreError("AGENCY_EXPIRED", "the message has expired", {
        details: { expiry: entry.message.expiry },
      });
    }
    const ts = BigInt(entry.message.timestamp);
    const skew = BigInt(this.skew);
    if (ts > now + skew || ts < now - skew) {
      return new ChaosCoreError(
        "AGENCY_CLOCK_SKEW",
        `timestamp is more than ${this.skew}s from the server clock`,
        { details: { timestamp: entry.message.timestamp, now: now.toString() } },
      );
    }
    return null;
  }

  /** Checks one entry against the agent's state, updating `state` and `known` on success. */
  private check(
    p: Pending,
    signer: Address | ChaosCoreError,
    state: Map<string, { signer: Address; status: string; actionNonce: bigint | null }>,
    known: Map<Hex, JudgedAction>,
    judges: Map<string, Set<string>>,
  ): ChaosCoreError | null {
    if (signer instanceof ChaosCoreError) return signer;
    const late = this.checkTime(p.entry);
    if (late !== null) return late;
    const agent = state.get(p.agent);
    if (agent === undefined) {
      return new ChaosCoreError("AGENT_NOT_FOUND", `agent ${p.agent} is not registered`);
    }
    if (agent.status !== "active") {
      return new ChaosCoreError("AGENT_NOT_ACTIVE", `agent ${p.agent} is ${agent.status}`);
    }
    if (signer !== agent.signer) {
      return new ChaosCoreError(
        "AGENCY_BAD_SIGNATURE",
        "signature is not by the agent's registered key",
        { details: { agent: p.agent, signer } },
      );
    }
    if (agent.actionNonce !== null && p.nonce <= agent.actionNonce) {
      return new ChaosCoreError(
        "AGENCY_NONCE_NOT_INCREASING",
        `nonce ${p.nonce} is not larger than the last accepted nonce ${agent.actionNonce}`,
        { details: { nonce: p.nonce.toString(), last: agent.actionNonce.toString() } },
      );
    }
    // A bounded jump (issue 19 item 12): one entry with nonce 2^64 − 1 would stop the agent for ever.
    const last = agent.actionNonce ?? 0n;
    if (p.nonce - last > MAX_NONCE_GAP) {
      return new ChaosCoreError(
        "AGENCY_NONCE_GAP_TOO_LARGE",
        `nonce ${p.nonce} is more than ${MAX_NONCE_GAP} above the last accepted nonce ${last}`,
        {
          details: {
            nonce: p.nonce.toString(),
            last: last.toString(),
            maxGap: MAX_NONCE_GAP.toString(),
          },
        },
      );
    }
    if (p.entry.kind === "action") {
      const missing = p.entry.message.parents.find((parent) => !known.has(parent));
      if (missing !== undefined) {
        return new ChaosCoreError("AGENCY_PARENT_NOT_FOUND", `parent ${missing} is not recorded`);
      }
      known.set(p.id, { agent: p.agent, studio: p.entry.message.studio, evaluators: new Set() });
    } else {
      const action = p.entry.message.action;
      const judged = known.get(action);
      if (judged === undefined) {
        return new ChaosCoreError("AGENCY_ACTION_NOT_FOUND", `action ${action} is not recorded`);
      }
      const refusal = checkOutcomeAuthority(p.agent, action, judged, judges, this.outcomePolicy);
      if (refusal !== null) return refusal;
      judged.evaluators.add(p.agent);
    }
    agent.actionNonce = p.nonce;
    return null;
  }

  private async insertRows(tx: Db, accepted: Pending[], firstIndex: number): Promise<void> {
    const actions = accepted.flatMap((p, i) =>
      p.entry.kind === "action" ? [{ p, m: p.entry.message, i }] : [],
    );
    const outcomes = accepted.flatMap((p, i) =>
      p.entry.kind === "outcome" ? [{ p, m: p.entry.message, i }] : [],
    );
    if (actions.length > 0) {
      await tx.query(
        `INSERT INTO actions (id, log_id, leaf_index, agent_id, studio, task, action_type, nonce, ts,
                              payload, payload_hash, attestation)
         SELECT decode(u.id, 'hex'), $1, u.leaf_index, u.agent_id, u.studio, u.task, u.action_type,
                u.nonce::numeric, to_timestamp(u.ts), decode(u.payload, 'hex'),
                decode(u.payload_hash, 'hex'), decode(u.attestation, 'hex')
         FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::float8[], $10::text[], $11::text[], $12::text[])
           AS u(id, leaf_index, agent_id, studio, task, action_type, nonce, ts, payload, payload_hash,
                attestation)`,
        [
          this.log.id,
          actions.map((a) => a.p.id.slice(2)),
          actions.map((a) => firstIndex + a.i),
          actions.map((a) => a.m.agent),
          actions.map((a) => a.m.studio),
          actions.map((a) => a.m.task),
          actions.map((a) => a.m.actionType),
          actions.map((a) => a.m.nonce),
          actions.map((a) => Number(a.m.timestamp)),
          actions.map((a) => (a.p.extra === null ? null : toDbHex(a.p.extra))),
          actions.map((a) => a.m.payloadHash.slice(2)),
          actions.map((a) => (a.p.attestation === null ? null : toDbHex(a.p.attestation))),
        ],
      );
    }
    if (outcomes.length > 0) {
      await tx.query(
        `INSERT INTO outcomes (id, action_id, log_id, leaf_index, evaluator, status, result_hash, metrics, ts)
         SELECT decode(u.id, 'hex'), decode(u.action_id, 'hex'), $1, u.leaf_index, u.evaluator,
                u.status, decode(u.result_hash, 'hex'), decode(u.metrics, 'hex'), to_timestamp(u.ts)
         FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::float8[])
           AS u(id, action_id, leaf_index, evaluator, status, result_hash, metrics, ts)`,
        [
          this.log.id,
          outcomes.map((o) => o.p.id.slice(2)),
          outcomes.map((o) => o.m.action.slice(2)),
          outcomes.map((o) => firstIndex + o.i),
          outcomes.map((o) => o.m.agent),
          outcomes.map((o) => o.m.status),
          outcomes.map((o) => o.m.resultHash.slice(2)),
          outcomes.map((o) => toDbHex(o.p.extra as Uint8Array)),
          outcomes.map((o) => Number(o.m.timestamp)),
        ],
      );
    }
  }

  /**
   * A recorded action.
   * @throws ChaosCoreError AGENCY_ACTION_NOT_FOUND.
   */
  async getAction(id: string): Promise<ActionRecord> {
    if (!isHex(id, 32))
      reject("AGENCY_ACTION_NOT_FOUND", "action ids are 32-byte lowercase 0x-hex");
    const { items } = await this.select("a.id = decode($1, 'hex')", [id.slice(2)], 1);
    const item = items[0];
    if (item === undefined) reject("AGENCY_ACTION_NOT_FOUND", `no action ${id}`);
    return item;
  }

  /**
   * Actions matching every given filter, in log order, a page at a time.
   * @throws ChaosCoreError INVALID_INPUT on a malformed cursor, time or limit.
   */
  async query(q: ActionQuery): Promise<{ items: ActionRecord[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace("?", `$${params.length}`));
    };
    if (q.agent !== undefined) add("a.agent_id = ?", q.agent.toLowerCase());
    if (q.studio !== undefined) add("a.studio = ?", q.studio);
    if (q.task !== undefined) add("a.task = ?", q.task);
    if (q.actionType !== undefined) add("a.action_type = ?", q.actionType);
    if (q.from !== undefined) add("a.ts >= ?", toTime(q.from));
    if (q.to !== undefined) add("a.ts < ?", toTime(q.to));
    if (q.cursor !== undefined) {
      if (!/^[0-9]{1,15}$/.test(q.cursor)) reject("INVALID_INPUT", "malformed cursor");
      add("a.leaf_index > ?", Number(q.cursor));
    }
    const limit = q.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      reject("INVALID_INPUT", "limit must be an integer in [1, 1000]");
    }
    const { items } = await this.select(where.join(" AND ") || "true", params, limit + 1);
    const more = items.length > limit;
    const page = items.slice(0, limit);
    return { items: page, nextCursor: more ? String(page[page.length - 1]?.leafIndex) : null };
  }

  private async select(where: string, params: unknown[], limit: number) {
    const rows = await this.db.query<{
      id: string;
      leaf_index: number;
      agent_id: string;
      studio: string;
      task: string;
      action_type: string;
      nonce: string;
      ts: number;
      payload_hash: string;
      has_payload: boolean;
      outcome_id: string | null;
      recorded_at: Date | string;
    }>(
      `SELECT encode(a.id, 'hex') AS id, a.leaf_index, a.agent_id, a.studio, a.task, a.action_type,
              a.nonce::text AS nonce, extract(epoch FROM a.ts)::float8 AS ts,
              encode(a.payload_hash, 'hex') AS payload_hash, a.payload IS NOT NULL AS has_payload,
              (SELECT encode(o.id, 'hex') FROM outcomes o WHERE o.action_id = a.id
                ORDER BY o.leaf_index LIMIT 1) AS outcome_id, a.recorded_at
       FROM actions a
       WHERE a.log_id = $${params.length + 1} AND ${where}
       ORDER BY a.leaf_index LIMIT ${limit}`,
      [...params, this.log.id],
    );
    return {
      items: rows.map(
        (r): ActionRecord => ({
          id: `0x${r.id}`,
          leafIndex: Number(r.leaf_index),
          agent: r.agent_id as Address,
          studio: r.studio,
          task: r.task,
          actionType: r.action_type,
          nonce: r.nonce,
          timestamp: String(Math.round(Number(r.ts))),
          payloadHash: `0x${r.payload_hash}`,
          hasPayload: r.has_payload,
          outcomeId: r.outcome_id === null ? null : `0x${r.outcome_id}`,
          recordedAt: new Date(r.recorded_at).toISOString(),
        }),
      ),
    };
  }

  /**
   * A self-contained receipt (`chaoscore.receipt/v2`) for an action, with its
   * first outcome (by leaf index); or, for an outcome id, for its action with
   * that outcome: the signed entries, their inclusion proofs and a signed
   * checkpoint covering both.
   * @throws ChaosCoreError AGENCY_ACTION_NOT_FOUND.
   */
  async getReceipt(id: string, options: { includePayload?: boolean } = {}): Promise<Receipt> {
    if (!isHex(id, 32)) reject("AGENCY_ACTION_NOT_FOUND", "ids are 32-byte lowercase 0x-hex");
    const [row] = await this.db.query<{
      leaf_index: number;
      payload: string | null;
      attestation: string | null;
      outcome_index: number | null;
    }>(
      // The outcome: the one named by an outcome id, else the action's first (receipt.md §3.1).
      `SELECT a.leaf_index, encode(a.payload, 'hex') AS payload,
              encode(a.attestation, 'hex') AS attestation,
              COALESCE(
                (SELECT o.leaf_index FROM outcomes o WHERE o.id = decode($1, 'hex') AND o.action_id = a.id),
                (SELECT min(o.leaf_index) FROM outcomes o WHERE o.action_id = a.id)) AS outcome_index
       FROM actions a
       WHERE a.log_id = $2
         AND (a.id = decode($1, 'hex') OR a.id = (SELECT action_id FROM outcomes WHERE id = decode($1, 'hex')))`,
      [id.slice(2), this.log.id],
    );
    if (row === undefined) reject("AGENCY_ACTION_NOT_FOUND", `no action or outcome ${id}`);
    const actionIndex = Number(row.leaf_index);
    const outcomeIndex = row.outcome_index === null ? null : Number(row.outcome_index);
    const lastIndex = Math.max(actionIndex, outcomeIndex ?? -1);
    // Prefer the latest anchored checkpoint that covers the entries: the
    // receipt then carries its anchor. Otherwise, the latest signed one.
    const anchored = (await this.anchors?.anchorCovering(this.log.id, lastIndex)) ?? null;
    const anchoredCheckpoint =
      anchored === null ? undefined : await this.log.checkpointAt(anchored.size);
    const checkpoint = anchoredCheckpoint ?? (await this.log.checkpointCovering(lastIndex));
    const prove = async (index: number) => {
      const [stored] = await this.log.entries(index, index + 1);
      if (stored === undefined) reject("LOG_AUDIT_FAILED", `leaf ${index} is missing from the log`);
      const entry = parseEntry(JSON.parse(new TextDecoder().decode(stored.entry)));
      const proof = await this.log.inclusionProof(index, checkpoint.size);
      const signer = await this.verifier.recover(entryDigest(entry), entry.signature);
      const keyRotations =
        signer === entry.message.agent
          ? []
          : await this.agents.keyRotations(entry.message.agent, signer);
      return { entry, leafIndex: index, inclusionProof: proof.map(bytesToBase64), keyRotations };
    };
    const action = await prove(actionIndex);
    const outcome = outcomeIndex === null ? null : await prove(outcomeIndex);
    const attestation =
      row.attestation === null
        ? null
        : (JSON.parse(new TextDecoder().decode(fromDbHex(row.attestation))) as ReceiptAttestation);
    const receipt: Receipt = {
      // v3 exactly when the attestation is real TEE evidence (docs/spec/receipt.md)
      format:
        attestation !== null && isTeeEvidence(attestation) ? RECEIPT_FORMAT_V3 : RECEIPT_FORMAT,
      action: action as Receipt["action"],
      outcome: outcome as Receipt["outcome"],
      checkpoint: checkpoint.note,
      anchor: anchoredCheckpoint === undefined || anchored === null ? null : anchored.anchor,
      attestation,
    };
    if (options.includePayload !== false && row.payload !== null) {
      receipt.payload = JSON.parse(new TextDecoder().decode(fromDbHex(row.payload))) as JsonValue;
    }
    return receipt;
  }

  /** Builds the receipt of `id` and verifies it as an offline verifier would. */
  async verify(id: string): Promise<VerifiedReceipt> {
    return verifyReceipt(await this.getReceipt(id), this.log.verifierKey);
  }

  /**
   * Checks the whole log: the tree against stored nodes and signed
   * checkpoints, and every entry's signature and table row.
   */
  async audit(onProgress?: (done: number, total: number) => void) {
    const histories = new Map<string, Set<string>>();
    const keysOf = async (agent: string) => {
      let keys = histories.get(agent);
      if (keys === undefined) {
        keys = new Set((await this.agents.keyHistory(agent)).map((k) => k.signer));
        histories.set(agent, keys);
      }
      return keys;
    };
    const rowsByIndex = await this.rowDigests();
    const report = await this.log.audit(async (index, bytes) => {
      const row = rowsByIndex.get(index);
      rowsByIndex.delete(index);
      let entry: LogEntry;
      try {
        entry = parseEntry(JSON.parse(new TextDecoder().decode(bytes)));
      } catch {
        return "entry is not a valid chaoscore.entry/v1";
      }
      const digest = entryDigest(entry);
      let signer: Address;
      try {
        signer = await this.verifier.recover(digest, entry.signature);
      } catch {
        return "signature does not recover";
      }
      if (!(await keysOf(entry.message.agent)).has(signer)) {
        return `signature is not by a key of agent ${entry.message.agent}`;
      }
      if (row === undefined) return `no ${entry.kind} row points at this leaf`;
      if (row.digest !== rowDigest(entry, bytesToHex(digest), row.extra)) {
        return `the ${entry.kind} row differs from the signed entry (edited in the database)`;
      }
      return null;
    }, onProgress);
    for (const index of rowsByIndex.keys()) {
      report.findings.push({
        index,
        kind: "entry-invalid",
        message: `a table row points at leaf ${index}, which does not hold it`,
      });
    }
    report.findings.sort((a, b) => a.index - b.index);
    return report;
  }

  private async rowDigests(): Promise<Map<number, { digest: string; extra: string | null }>> {
    const rows = await this.db.query<{ leaf_index: number; digest: string; extra: string | null }>(
      `SELECT leaf_index, concat_ws('|', encode(id, 'hex'), agent_id, studio, task, action_type,
                nonce::text, extract(epoch FROM ts)::bigint::text, encode(payload_hash, 'hex')) AS digest,
              encode(sha256(payload), 'hex') AS extra
       FROM actions WHERE log_id = $1
       UNION ALL
       SELECT leaf_index, concat_ws('|', encode(id, 'hex'), encode(action_id, 'hex'), evaluator, status,
                extract(epoch FROM ts)::bigint::text, encode(result_hash, 'hex')) AS digest,
              encode(sha256(metrics), 'hex') AS extra
       FROM outcomes WHERE log_id = $1`,
      [this.log.id],
    );
    return new Map(rows.map((r) => [Number(r.leaf_index), { digest: r.digest, extra: r.extra }]));
  }

  /** Stops background work (the signature pool). */
  async close(): Promise<void> {
    await this.flush();
    await this.verifier.close();
  }
}

/** The text `rowDigests` builds from a row, rebuilt from the signed entry (so edits show). */
function rowDigest(entry: LogEntry, id: Hex, extra: string | null): string {
  const m = entry.message;
  if (entry.kind === "action") {
    const a = entry.message;
    const payloadOk = extra === null || `0x${extra}` === a.payloadHash;
    return [
      id.slice(2),
      a.agent,
      a.studio,
      a.task,
      a.actionType,
      a.nonce,
      a.timestamp,
      payloadOk ? a.payloadHash.slice(2) : "payload-edited",
    ].join("|");
  }
  const o = entry.message;
  const metricsOk = extra !== null && `0x${extra}` === o.metricsHash;
  return [
    id.slice(2),
    o.action.slice(2),
    o.agent,
    o.status,
    m.timestamp,
    metricsOk ? o.resultHash.slice(2) : "metrics-edited",
  ].join("|");
}

function toTime(value: string): Date {
  if (UNIX_RE.test(value)) return new Date(Number(value) * 1000);
  const t = Date.parse(value);
  if (Number.isNaN(t)) reject("INVALID_INPUT", `not a time: ${value}`);
  return new Date(t);
}
