/**
 * The inputs and results of an {@link AgentRecorder}: its options, the options
 * of each call, what it recorded, and what it could not record.
 * @module
 */
import type { ActionEntry, Address, Hex, JsonValue, OutcomeEntry } from "@chaoscore/core";
import type { ActionSink, SinkResult } from "./action-sink.js";

/** A parent (or the action of an outcome): an action id, or a pending {@link AgentRecorder.record}. */
export type ActionRef = Hex | PromiseLike<{ id: Hex }>;

/** Inputs of {@link AgentRecorder}. */
export type AgentRecorderOptions = {
  /** The agent's secp256k1 key; it signs locally and is never sent. */
  privateKey: Uint8Array;
  chainId: bigint | number;
  /** The deployment signed for (EIP-712 `verifyingContract`; `client.domain()` gives both). */
  verifyingContract?: Address;
  sink: ActionSink;
  /** The agent id when the key is a rotated key (default: the key's address). */
  agent?: Address;
  /** Default studio and task of every action (each call can override them). */
  studio?: string;
  task?: string;
  /**
   * The nonce of the next entry (the agent's last accepted nonce + 1), or a
   * function that fetches it (e.g. from `GET /v1/agents/{id}/signing-state`).
   * A function is called before the first entry and again whenever the
   * recorder lost track of the sequence (see {@link AgentRecorder}).
   */
  nextNonce: bigint | (() => Promise<bigint>);
  /** Seconds each signature stays valid; default 3600. */
  ttlSeconds?: number;
  /** Payload cap in bytes of canonical JSON (see {@link toJsonSafe}); default 64 KiB. */
  maxPayloadBytes?: number;
  /** Outcome metrics cap in bytes of canonical JSON; default 16 KiB (the log's default limit). */
  maxMetricsBytes?: number;
  /** Times a send is retried after a retryable failure; default 3. */
  retries?: number;
  /** Delay before the first retry (ms), doubled for each next one; default 250. */
  retryDelayMs?: number;
  /** Which failures are worth a retry; default {@link isRetryableSendError}. */
  isRetryable?: (error: unknown) => boolean;
  /** Called once for every entry that could not be recorded. */
  onError?: (failure: RecordFailure) => void;
};

/** An action the log holds. */
export type RecordedAction = SinkResult & {
  kind: "action";
  nonce: bigint;
  entry: ActionEntry;
  /** The payload as sent (normalised by {@link toJsonSafe}); its hash is the signed `payloadHash`. */
  payload: JsonValue;
};

/** An outcome the log holds. */
export type RecordedOutcome = SinkResult & {
  kind: "outcome";
  nonce: bigint;
  entry: OutcomeEntry;
  metrics: { [key: string]: JsonValue };
};

/** An entry that could not be recorded. */
export type RecordFailure = {
  kind: "action" | "outcome";
  /** The action type (actions) or the action id (outcomes, when known). */
  subject: string;
  /** The nonce it was signed with, or null when it was never signed. */
  nonce: bigint | null;
  /** The id of the signed entry, or null when it was never signed. */
  id: Hex | null;
  /**
   * `rejected`: the log refused it (nothing was written; the nonce is reused).
   * `unknown`: the send kept failing, so it may or may not have been recorded
   * (its nonce is not reused; a retry of `entry` tells).
   * `not-sent`: it failed before signing (a parent was not recorded, the
   * nonce could not be fetched).
   */
  state: "rejected" | "unknown" | "not-sent";
  error: unknown;
  entry: ActionEntry | OutcomeEntry | null;
};

/** What {@link AgentRecorder.flush} reports about the entries settled since the previous flush. */
export type FlushReport = { recorded: number; failures: RecordFailure[] };

/** Options of one {@link AgentRecorder.record} call. */
export type RecordOptions = {
  /** Actions this one follows from: ids, or pending records of this recorder. */
  parents?: readonly ActionRef[];
  studio?: string;
  task?: string;
  /** An execution attestation quote (`chaoscore.attestation/v1`) the action carries. */
  attestation?: unknown;
};

/** Options of one {@link AgentRecorder.outcome} call. */
export type OutcomeOptions = {
  /** The result; only its hash is signed and logged. Normalised by {@link toJsonSafe}. */
  result?: unknown;
  /** Metrics stored with the outcome; normalised, and wrapped as `{ value }` when not an object. */
  metrics?: unknown;
};
