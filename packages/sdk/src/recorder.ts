import {
  type ActionEntry,
  type Address,
  attestationHash,
  bytesToHex,
  ChaosCoreError,
  canonicalJson,
  entryDigest,
  type Hex,
  isChaosCoreError,
  type JsonValue,
  type OutcomeEntry,
  privateKeyToAddress,
  sha256Hex,
  signAction,
  signOutcome,
  utf8,
} from "@chaoscore/core";

/** What a log answers when it records an entry (or finds it already recorded). */
export type SinkResult = {
  id: Hex;
  leafIndex: number;
  /** True when this exact signed entry was recorded before (its first record is returned). */
  duplicate: boolean;
};

/**
 * Where an {@link AgentRecorder} sends signed entries: the in-process
 * `ProofOfAgency` of `@chaoscore/engine` and the SDK's HTTP client both
 * satisfy it. A sink must be idempotent (sending the same signed entry twice
 * records it once) and must reject with a `ChaosCoreError` whose code says
 * why when it refuses an entry.
 */
export interface ActionSink {
  recordAction(input: {
    entry: ActionEntry;
    payload?: unknown;
    attestation?: unknown;
  }): Promise<SinkResult>;
  recordOutcome(input: { entry: OutcomeEntry; metrics: unknown }): Promise<SinkResult>;
}

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

const RETRYABLE_CODES = new Set<string>([
  "STORE_UNAVAILABLE",
  "GATEWAY_RATE_LIMITED",
  "GATEWAY_NOT_READY",
  "GATEWAY_INTERNAL",
  "SDK_GATEWAY_UNREACHABLE",
]);

/** Refusals that are not AGENCY_* or AGENT_* codes: the request was turned away unprocessed. */
const REFUSAL_CODES = new Set<string>([
  "INVALID_INPUT",
  "INVALID_JSON",
  "GATEWAY_REQUEST_INVALID",
  "GATEWAY_MALFORMED_JSON",
  "GATEWAY_UNSUPPORTED_MEDIA_TYPE",
  "GATEWAY_PAYLOAD_TOO_LARGE",
  "GATEWAY_ROUTE_NOT_FOUND",
  "GATEWAY_UNAUTHENTICATED",
  "GATEWAY_API_KEY_INVALID",
  "GATEWAY_FORBIDDEN",
  "GATEWAY_REQUEST_SIGNATURE_INVALID",
  "GATEWAY_REQUEST_EXPIRED",
  "GATEWAY_IDEMPOTENCY_KEY_REUSED",
  "GATEWAY_FEATURE_DISABLED",
  "GATEWAY_RATE_LIMITED",
  "GATEWAY_NOT_READY",
]);

/**
 * The default retry rule: `STORE_UNAVAILABLE`, `GATEWAY_RATE_LIMITED`,
 * `GATEWAY_NOT_READY`, `GATEWAY_INTERNAL`, `SDK_GATEWAY_UNREACHABLE`, and any
 * error that is not a `ChaosCoreError` (a network failure: the request may
 * or may not have arrived). Retrying is safe because a retry sends the same
 * signed entry, which the log records at most once.
 */
export function isRetryableSendError(error: unknown): boolean {
  return !isChaosCoreError(error) || RETRYABLE_CODES.has(error.code);
}

/**
 * True when an error proves the log did not record the entry: a refusal by
 * Proof of Agency or the registry (`AGENCY_*`, `AGENT_*`) or a request the
 * gateway turned away unprocessed (malformed, unauthenticated, rate limited…).
 * Anything else (network failures, `STORE_UNAVAILABLE`, `GATEWAY_INTERNAL`,
 * `SDK_*`) leaves it unknown whether the entry was recorded.
 */
export function isRefusal(error: unknown): boolean {
  if (!isChaosCoreError(error)) return false;
  const component = error.code.slice(0, error.code.indexOf("_"));
  return component === "AGENCY" || component === "AGENT" || REFUSAL_CODES.has(error.code);
}

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
  return { id: result.id, leafIndex: result.leafIndex, duplicate: result.duplicate };
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

/** The format tag of the value that replaces a payload over the size cap. */
export const TRUNCATED_FORMAT = "chaoscore.truncated/v1";

/** Options of {@link toJsonSafe}. */
export type JsonSafeOptions = {
  /** Largest canonical JSON (UTF-8 bytes) kept as is; default 64 KiB. */
  maxBytes?: number;
  /** Deepest nesting kept; deeper values become `"[MaxDepth]"`. Default 64. */
  maxDepth?: number;
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Turns any value into JSON that canonicalises (RFC 8785) the same way on
 * every side, so the payload hash an agent signs is the hash the log checks:
 * - `undefined`, functions and symbols: dropped from objects, `null` in arrays
 *   and at the top level (as `JSON.stringify` does);
 * - `bigint`: its decimal string; `NaN`, `Infinity`, `-Infinity`: those strings; `-0`: `0`;
 * - strings: lone UTF-16 surrogates become U+FFFD;
 * - `Error`: `{ name, message, ...its own enumerable fields, cause? }` (no stack);
 * - `Date`: its ISO string (`null` if invalid); bytes (typed arrays,
 *   `ArrayBuffer`, `Buffer`): `0x`-hex; `Map`: `[key, value]` pairs; `Set`: an array;
 * - other objects: `toJSON()` when they have one, else their own enumerable
 *   string-keyed properties; a property whose getter throws, and an object
 *   that cannot be read at all (a revoked proxy, a throwing `toJSON`), become `"[Unreadable]"`;
 * - a reference to an enclosing object (a cycle): `"[Circular]"`; nesting
 *   deeper than `maxDepth`: `"[MaxDepth]"`.
 *
 * When the canonical JSON of the result exceeds `maxBytes`, the value is
 * replaced by `{ format: "chaoscore.truncated/v1", bytes, sha256, preview }`:
 * its size, the SHA-256 of its full canonical JSON (so whoever holds the
 * original can show it is the one the agent meant) and the first characters.
 *
 * @example toJsonSafe({ n: 10n, e: new Error("boom"), u: undefined }) // { n: "10", e: { name: "Error", message: "boom" } }
 */
export function toJsonSafe(value: unknown, options: JsonSafeOptions = {}): JsonValue {
  const maxDepth = options.maxDepth ?? 64;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const json = normalise(value, 0, new Set(), maxDepth) ?? null;
  if (maxBytes === Infinity) return json;
  const text = canonicalJson(json);
  const bytes = utf8(text);
  if (bytes.length <= maxBytes) return json;
  const marker = (preview: string): JsonValue => ({
    format: TRUNCATED_FORMAT,
    bytes: bytes.length,
    sha256: sha256Hex(bytes),
    preview,
  });
  // The marker without a preview is about 190 bytes; give the preview what is left (up to 1 KiB).
  const room = Math.min(1024, maxBytes - utf8(canonicalJson(marker(""))).length);
  let preview = room > 0 ? text.slice(0, room) : "";
  while (preview.length > 0 && utf8(canonicalJson(marker(preview))).length > maxBytes) {
    preview = preview.slice(0, Math.floor(preview.length / 2));
  }
  return marker(toWellFormed(preview));
}

function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/** `undefined` means "omit" (from an object) / `null` (elsewhere). */
function normalise(
  value: unknown,
  depth: number,
  ancestors: Set<object>,
  maxDepth: number,
): JsonValue | undefined {
  switch (typeof value) {
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    case "boolean":
      return value;
    case "string":
      return toWellFormed(value);
    case "bigint":
      return value.toString();
    case "number":
      if (Number.isFinite(value)) return Object.is(value, -0) ? 0 : value;
      return String(value);
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return "[Circular]";
  if (depth >= maxDepth) return "[MaxDepth]";
  ancestors.add(object);
  try {
    return normaliseObject(object, (v) => normalise(v, depth + 1, ancestors, maxDepth));
  } catch {
    // A revoked proxy, a throwing toJSON or iterator: keep what we can say.
    return "[Unreadable]";
  } finally {
    ancestors.delete(object);
  }
}

function normaliseObject(
  object: object,
  child: (value: unknown) => JsonValue | undefined,
): JsonValue | undefined {
  if (object instanceof Date) {
    return Number.isNaN(object.getTime()) ? null : object.toISOString();
  }
  if (ArrayBuffer.isView(object)) {
    return bytesToHex(new Uint8Array(object.buffer, object.byteOffset, object.byteLength));
  }
  if (object instanceof ArrayBuffer) return bytesToHex(new Uint8Array(object));
  if (Array.isArray(object)) return object.map((item) => child(item) ?? null);
  if (object instanceof Map) {
    return [...object.entries()].map(([k, v]) => [child(k) ?? null, child(v) ?? null]);
  }
  if (object instanceof Set) return [...object.values()].map((v) => child(v) ?? null);
  const out: { [key: string]: JsonValue } = {};
  const isError = object instanceof Error;
  if (isError) {
    out.name = toWellFormed(String(object.name));
    out.message = toWellFormed(String(object.message));
  } else if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
    const converted = (object as { toJSON: () => unknown }).toJSON();
    // A toJSON that returns its own object would loop: read its fields instead.
    if (converted !== object) return child(converted);
  }
  for (const key of Object.keys(object)) {
    if (isError && (key === "stack" || key === "cause")) continue;
    let field: unknown;
    try {
      field = (object as Record<string, unknown>)[key];
    } catch {
      field = "[Unreadable]";
    }
    const json = child(field);
    if (json !== undefined) out[toWellFormed(key)] = json;
  }
  if (isError && object.cause !== undefined) {
    const cause = child(object.cause);
    if (cause !== undefined) out.cause = cause;
  }
  return out;
}
