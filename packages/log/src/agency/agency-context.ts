/**
 * What the parts of Proof of Agency share: the ports it is given (the agent
 * directory, the anchor directory), its limits, the configured context every
 * part reads, and the shape of an entry on its way to the log.
 * @module
 */
import type {
  Address,
  ChaosCoreError,
  Hex,
  KeyRotation,
  LogEntry,
  ReceiptAnchor,
} from "@chaoscore/core";
import type { Db } from "../store/db.js";
import type { AttestationRecordingPolicy } from "./attestation-check.js";
import { DEFAULT_QUEUE_LIMITS, type IngestQueueLimits } from "./ingest-budget.js";
import type { LogFamily } from "./log-family.js";
import type { OutcomePolicy } from "./outcome-authorization.js";
import type { SignatureVerifier } from "./signature-verifier.js";
import type { TransparencyLog } from "./transparency-log.js";

/** An agent's signing state as the writer reads it, locked, in its transaction. */
export type SigningState = { signer: Address; status: string; actionNonce: bigint | null };

/** What Proof of Agency needs to know about agents (implemented by the registry). */
export interface AgentDirectory {
  /** Current signer, status and last accepted action nonce of each agent, read in `tx`. */
  signingState(ids: readonly string[], tx?: Db): Promise<Map<string, SigningState>>;
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

/** The default {@link AgencyLimits}. */
export const DEFAULT_LIMITS: AgencyLimits = {
  maxEntryBytes: 64 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxMetricsBytes: 16 * 1024,
  ...DEFAULT_QUEUE_LIMITS,
};

/** The result of recording an action or outcome. */
export type RecordResult = {
  id: Hex;
  kind: "action" | "outcome";
  /** The shard (log id) whose leaf it is (docs/spec/shards.md). */
  log: string;
  leafIndex: number;
  /** True when this exact signed message was recorded before (its first record is returned). */
  duplicate: boolean;
};

/** The configuration every part of Proof of Agency reads (built by {@link ProofOfAgency}). */
export type AgencyContext = {
  readonly db: Db;
  /** Shard 0 of the family (the configured log). */
  readonly log: TransparencyLog;
  /** The family: the active shard takes the appends (log-family.ts). */
  readonly logs: LogFamily;
  readonly agents: AgentDirectory;
  readonly verifier: SignatureVerifier;
  readonly chainId: bigint;
  readonly verifyingContract: Address;
  readonly outcomePolicy: OutcomePolicy;
  readonly limits: AgencyLimits;
  readonly attestation: AttestationRecordingPolicy;
  /** Largest accepted distance between a message's timestamp and the server clock (s). */
  readonly clockSkewSeconds: number;
  readonly now: () => Date;
  /** On-chain anchors, when a chain is configured (set later by the anchoring service). */
  anchors: AnchorDirectory | undefined;
};

/** A checked entry on its way to the log, with its caller's promise. */
export type PendingEntry = {
  kind: "action" | "outcome";
  entry: LogEntry;
  bytes: Uint8Array;
  /** RFC 9162 leaf hash of `bytes`, where a signature worker computed it beside them; else the log computes it. */
  leafHash?: Uint8Array;
  digest: Uint8Array;
  id: Hex;
  agent: Address;
  nonce: bigint;
  /** The shard the writer named (`?log=`), if any: refused unless it is the active one. */
  log?: string;
  /** The payload (actions) or metrics (outcomes), canonical JSON. */
  extra: Uint8Array | null;
  /** The quote or TEE evidence of an attested action, canonical JSON. */
  attestation: Uint8Array | null;
  signer: Promise<Address | ChaosCoreError>;
  /** Set once `signer` has settled: the group-commit writer takes the recovered head of its queue. */
  recovered?: boolean;
  resolve: (r: RecordResult) => void;
  reject: (e: unknown) => void;
};
