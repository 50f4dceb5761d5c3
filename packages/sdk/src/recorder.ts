/**
 * The agent-side recorder: signs actions and outcomes locally and sends them
 * to a log in call order (see {@link AgentRecorder}). Its types are in
 * recorder-types.ts and action-sink.ts, the retry rules in send-errors.ts,
 * payload normalisation in json-safe.ts.
 * @module
 */
import {
  type ActionEntry,
  type Address,
  attestationHash,
  bytesToHex,
  ChaosCoreError,
  entryDigest,
  type Hex,
  isChaosCoreError,
  type JsonValue,
  type OutcomeEntry,
  privateKeyToAddress,
  signAction,
  signOutcome,
} from "@chaoscore/core";
import type { SinkResult } from "./action-sink.js";
import { toJsonSafe } from "./json-safe.js";
import type {
  ActionRef,
  AgentRecorderOptions,
  FlushReport,
  OutcomeOptions,
  RecordedAction,
  RecordedOutcome,
  RecordFailure,
  RecordOptions,
} from "./recorder-types.js";
import { isRefusal, isRetryableSendError } from "./send-errors.js";

export type { ActionSink, SinkResult } from "./action-sink.js";
export { type JsonSafeOptions, TRUNCATED_FORMAT, toJsonSafe } from "./json-safe.js";
export type * from "./recorder-types.js";
export { isRefusal, isRetryableSendError } from "./send-errors.js";

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * The agent-side recorder: signs actions and outcomes locally (EIP-712; the
 * key never leaves the process) and sends them to a log, one at a time, in
 * the order the calls were made.
 *
 * Ordering: `record` and `outcome` calls join one queue. Each entry takes its
 * nonce when its turn comes, so nonces follow call order however many calls
 * are in flight, and an entry is sent only after the previous one settled
 * (the log requires strictly increasing nonces, so a later entry must never
 * overtake an earlier one).
 *
 * Failures never stop the queue and never pass silently: the call's promise
 * rejects (the recorder marks it handled, so ignoring it does not crash the
 * process), `onError` is called, and the next {@link flush} reports it.
 * - Retryable failures ({@link isRetryableSendError}) are retried with the
 *   same signed entry, which the log records at most once.
 * - A refusal ({@link isRefusal}, e.g. `AGENCY_PAYLOAD_TOO_LARGE`) wrote
 *   nothing, so its nonce is given to the next entry: the agent's sequence
 *   stays gap-free.
 * - When retries run out the entry may or may not be in the log; its nonce
 *   is not reused (the next nonce is re-fetched when `nextNonce` is a
 *   function, else it is the failed one + 1, which the log accepts either way).
 * - `AGENCY_NONCE_NOT_INCREASING` (another writer used the key, or the
 *   starting nonce was stale) re-syncs the nonce (from `nextNonce` when it is
 *   a function, else from the error's `details.last`) and re-signs once.
 * - An action whose parent was not recorded fails with
 *   `AGENCY_PARENT_NOT_FOUND` without being signed.
 *
 * @example
 * const recorder = new AgentRecorder({ privateKey, chainId: 31337n, sink: engine.agency, nextNonce: 1n })
 * const call = recorder.record("tool.call", { tool: "search", input: { q: "eip-712" } })
 * recorder.record("tool.result", { output: ["…"] }, { parents: [call] })
 * const { failures } = await recorder.flush()
 */
export class AgentRecorder {
  /** The agent id the entries are signed for. */
  readonly agent: Address;
  private readonly options: AgentRecorderOptions;
  private readonly chainId: bigint;
  private readonly deployment: { verifyingContract?: Address };
  private next: bigint | null;
  private tail: Promise<unknown> = Promise.resolve();
  private settled: { recorded: number; failures: RecordFailure[] } = { recorded: 0, failures: [] };

  /** @throws ChaosCoreError INVALID_INPUT when the key, chain id or nonce is malformed. */
  constructor(options: AgentRecorderOptions) {
    let address: Address;
    try {
      address = privateKeyToAddress(options.privateKey);
    } catch (cause) {
      throw new ChaosCoreError("INVALID_INPUT", "privateKey is not a secp256k1 private key", {
        cause,
      });
    }
    const chainId = BigInt(options.chainId);
    if (chainId <= 0n) throw new ChaosCoreError("INVALID_INPUT", "chainId must be positive");
    if (typeof options.nextNonce === "bigint" && options.nextNonce < 0n) {
      throw new ChaosCoreError("INVALID_INPUT", "nextNonce must not be negative");
    }
    this.options = options;
    this.chainId = chainId;
    this.deployment =
      options.verifyingContract === undefined
        ? {}
        : { verifyingContract: options.verifyingContract };
    this.agent = options.agent ?? address;
    this.next = typeof options.nextNonce === "bigint" ? options.nextNonce : null;
  }

  /**
   * Signs an action and queues it for the log.
   * @param actionType e.g. `tool.call` (1–128 characters).
   * @param payload any value; normalised by {@link toJsonSafe} and capped at `maxPayloadBytes`.
   * @returns the recorded action (its promise rejects with the failure's error).
   * @throws ChaosCoreError (rejects) with the log's code, `AGENCY_PARENT_NOT_FOUND`
   * when a parent was not recorded, or what the sink threw when retries ran out.
   */
  record(
    actionType: string,
    payload: unknown,
    options: RecordOptions = {},
  ): Promise<RecordedAction> {
    const json = toJsonSafe(payload, { maxBytes: this.options.maxPayloadBytes ?? 64 * 1024 });
    return this.enqueue("action", actionType, async (failure) => {
      const parents = await resolveRefs(options.parents ?? [], "AGENCY_PARENT_NOT_FOUND");
      const studio = options.studio ?? this.options.studio;
      const task = options.task ?? this.options.task;
      const attestation = options.attestation;
      const attested = attestation === undefined ? undefined : attestationHash(attestation);
      const sign = (nonce: bigint) =>
        signAction({
          privateKey: this.options.privateKey,
          chainId: this.chainId,
          ...this.deployment,
          agent: this.agent,
          actionType,
          nonce,
          payload: json,
          parents,
          ...(studio === undefined ? {} : { studio }),
          ...(task === undefined ? {} : { task }),
          ...(attested === undefined ? {} : { attestationHash: attested }),
          ...(this.options.ttlSeconds === undefined ? {} : { ttlSeconds: this.options.ttlSeconds }),
        }).entry;
      const { entry, nonce, result } = await this.sendInOrder(failure, sign, (e) =>
        this.options.sink.recordAction({
          entry: e,
          payload: json,
          ...(attestation === undefined ? {} : { attestation }),
        }),
      );
      return { ...pickResult(result), kind: "action", nonce, entry, payload: json };
    });
  }

  /**
   * Signs an outcome of an action (this agent acting as its evaluator) and
   * queues it. Outcomes share the agent's nonce sequence with actions.
   * @throws ChaosCoreError (rejects) as {@link record}, plus `AGENCY_ACTION_NOT_FOUND`
   * (from the log, or unsigned when a pending `action` failed) and `AGENCY_OUTCOME_EXISTS`.
   */
  outcome(
    action: ActionRef,
    status: "success" | "failure" | "partial",
    options: OutcomeOptions = {},
  ): Promise<RecordedOutcome> {
    const result =
      options.result === undefined ? undefined : toJsonSafe(options.result, { maxBytes: Infinity });
    let metrics = toJsonSafe(options.metrics ?? {}, {
      maxBytes: this.options.maxMetricsBytes ?? 16 * 1024,
    });
    if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
      metrics = toJsonSafe(
        { value: metrics },
        { maxBytes: this.options.maxMetricsBytes ?? 16 * 1024 },
      );
    }
    const object = metrics as { [key: string]: JsonValue };
    const subject = typeof action === "string" ? action : "(pending action)";
    return this.enqueue("outcome", subject, async (failure) => {
      const [actionId] = await resolveRefs([action], "AGENCY_ACTION_NOT_FOUND");
      failure.subject = actionId as Hex;
      const sign = (nonce: bigint) =>
        signOutcome({
          privateKey: this.options.privateKey,
          chainId: this.chainId,
          ...this.deployment,
          agent: this.agent,
          action: actionId as Hex,
          status,
          nonce,
          metrics: object,
          ...(result === undefined ? {} : { result }),
          ...(this.options.ttlSeconds === undefined ? {} : { ttlSeconds: this.options.ttlSeconds }),
        }).entry;
      const sent = await this.sendInOrder(failure, sign, (e) =>
        this.options.sink.recordOutcome({ entry: e, metrics: object }),
      );
      return {
        ...pickResult(sent.result),
        kind: "outcome",
        nonce: sent.nonce,
        entry: sent.entry,
        metrics: object,
      };
    });
  }

  /**
   * Waits until every entry queued so far (and any queued meanwhile) is
   * recorded or has failed. Never rejects: failures are in the report.
   * @returns how many entries were recorded, and the failures, since the previous flush.
   */
  async flush(): Promise<FlushReport> {
    let seen: Promise<unknown>;
    do {
      seen = this.tail;
      await seen;
    } while (seen !== this.tail);
    const report = this.settled;
    this.settled = { recorded: 0, failures: [] };
    return report;
  }

  /** The nonce the next entry will take, or null when it will be fetched first. */
  get pendingNonce(): bigint | null {
    return this.next;
  }

  private enqueue<T>(
    kind: "action" | "outcome",
    subject: string,
    job: (failure: RecordFailure) => Promise<T>,
  ): Promise<T> {
    const failure: RecordFailure = {
      kind,
      subject,
      nonce: null,
      id: null,
      state: "not-sent",
      error: undefined,
      entry: null,
    };
    const run = async () => {
      try {
        const value = await job(failure);
        this.settled.recorded++;
        return value;
      } catch (error) {
        failure.error = error;
        this.settled.failures.push(failure);
        try {
          this.options.onError?.(failure);
        } catch {
          // A throwing onError must not break the queue.
        }
        throw error;
      }
    };
    const promise = this.tail.then(run);
    this.tail = promise.catch(() => undefined);
    return promise;
  }

  private async takeNonce(): Promise<bigint> {
    if (this.next === null) {
      const fetch = this.options.nextNonce;
      const value = typeof fetch === "function" ? await fetch() : fetch;
      if (typeof value !== "bigint" || value < 0n) {
        throw new ChaosCoreError("INVALID_INPUT", "nextNonce() must return a non-negative bigint");
      }
      this.next = value;
    }
    const nonce = this.next;
    this.next = nonce + 1n;
    return nonce;
  }

  /** Where the sequence continues after `AGENCY_NONCE_NOT_INCREASING`, or null when unknown. */
  private async resync(error: ChaosCoreError): Promise<boolean> {
    if (typeof this.options.nextNonce === "function") {
      this.next = null;
      return true;
    }
    const last = error.details?.last;
    if (typeof last === "string" && /^[0-9]{1,20}$/.test(last)) {
      this.next = BigInt(last) + 1n;
      return true;
    }
    return false;
  }

  /** Signs with the next nonce and sends, retrying and re-syncing as the class documents. */
  private async sendInOrder<E extends ActionEntry | OutcomeEntry>(
    failure: RecordFailure,
    sign: (nonce: bigint) => E,
    send: (entry: E) => Promise<SinkResult>,
  ): Promise<{ entry: E; nonce: bigint; result: SinkResult }> {
    let resynced = false;
    for (;;) {
      const nonce = await this.takeNonce();
      let entry: E;
      try {
        entry = sign(nonce);
      } catch (error) {
        this.next = nonce; // never signed: the nonce is still free
        throw error;
      }
      failure.nonce = nonce;
      failure.entry = entry;
      failure.id = bytesToHex(entryDigest(entry));
      try {
        const result = await this.sendWithRetries(() => send(entry));
        return { entry, nonce, result };
      } catch (error) {
        if (isChaosCoreError(error, "AGENCY_NONCE_NOT_INCREASING") && !resynced) {
          failure.state = "rejected";
          resynced = await this.resync(error);
          if (resynced) continue;
          throw error;
        }
        if (isChaosCoreError(error, "AGENCY_NONCE_NOT_INCREASING")) {
          failure.state = "rejected";
        } else if (isRefusal(error)) {
          failure.state = "rejected";
          // Nothing was written: the next entry takes this nonce.
          if (this.next === nonce + 1n) this.next = nonce;
        } else {
          failure.state = "unknown";
          // It may be in the log: never reuse its nonce; re-fetch when we can.
          if (typeof this.options.nextNonce === "function") this.next = null;
        }
        throw error;
      }
    }
  }

  private async sendWithRetries(send: () => Promise<SinkResult>): Promise<SinkResult> {
    const retries = this.options.retries ?? 3;
    const delay = this.options.retryDelayMs ?? 250;
    const retryable = this.options.isRetryable ?? isRetryableSendError;
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        if (attempt >= retries || !retryable(error)) throw error;
        if (delay > 0) await sleep(delay * 2 ** attempt);
      }
    }
  }
}

function pickResult(result: SinkResult): SinkResult {
  return {
    id: result.id,
    ...(result.log === undefined ? {} : { log: result.log }),
    leafIndex: result.leafIndex,
    duplicate: result.duplicate,
  };
}

/** Resolves action refs; a ref whose record failed becomes `code` (nothing is signed). */
async function resolveRefs(
  refs: readonly ActionRef[],
  code: "AGENCY_PARENT_NOT_FOUND" | "AGENCY_ACTION_NOT_FOUND",
): Promise<Hex[]> {
  const ids: Hex[] = [];
  for (const ref of refs) {
    if (typeof ref === "string") {
      ids.push(ref);
      continue;
    }
    try {
      ids.push((await ref).id);
    } catch (cause) {
      const failed = isChaosCoreError(cause) ? cause.code : "an unknown error";
      throw new ChaosCoreError(code, `the referenced action was not recorded (${failed})`, {
        details: { actionError: failed },
        cause,
      });
    }
  }
  return ids;
}
