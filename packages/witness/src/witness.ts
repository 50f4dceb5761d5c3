/**
 * A C2SP tlog-witness (https://c2sp.org/tlog-witness): it follows the logs it
 * is configured with, keeps the latest checkpoint it cosigned for each, and
 * cosigns a new checkpoint only when a consistency proof links it to that one.
 * See docs/spec/witness.md.
 * @module
 */
import {
  ChaosCoreError,
  type Checkpoint,
  cosignCheckpoint,
  type ErrorCode,
  equalBytes,
  isChaosCoreError,
  openCheckpoint,
  parseAddCheckpointRequest,
  parseVerifierKey,
  parseWitnessSignerKey,
  shardNumberOfOrigin,
  TLOG_SIZE_MEDIA_TYPE,
  verifyConsistency,
  verifyShardCertificate,
  witnessVerifierKeyFromSignerKey,
} from "@chaoscore/core";
import type { WitnessedCheckpoint, WitnessStore } from "./witness-store.js";

/**
 * A log the witness follows: its origin line and its note verifier key. The
 * key is also a log FAMILY key: the witness follows the family's shards
 * `<key name>/s<n>` too, under the shard key a shard certificate signed by
 * this key names (docs/spec/witness.md §3.1).
 */
export type WitnessedLog = { readonly origin: string; readonly verifierKey: string };

/**
 * The request header that carries a shard certificate to the witness: the
 * certificate note's UTF-8 bytes in standard base64 (docs/spec/witness.md §3.1).
 */
export const SHARD_CERTIFICATE_HEADER = "ChaosCore-Shard-Certificate";

/** Extra inputs of an `add-checkpoint` request beyond its body. */
export type AddCheckpointContext = {
  /** The shard certificate sent with the request (the note text), for a shard's checkpoint. */
  readonly shardCertificate?: string;
};

/** Options of a {@link Witness}. */
export type WitnessOptions = {
  /** The witness's signer key (`PRIVATE+KEY+<name>+<id>+<base64(0x04 ‖ seed)>`). */
  signerKey: string;
  /** The logs it follows. */
  logs: readonly WitnessedLog[];
  /** Where it keeps the latest checkpoint per origin. */
  store: WitnessStore;
  /** The clock, in POSIX seconds (default: the system clock). */
  now?: () => number;
};

/** An HTTP answer of the witness: status, media type and body. */
export type WitnessAnswer = {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** The error code, for answers other than 200. */
  readonly code?: ErrorCode;
};

/** The HTTP status the spec gives each refusal. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  WITNESS_REQUEST_MALFORMED: 400,
  WITNESS_UNKNOWN_LOG: 404,
  WITNESS_SIGNATURE_INVALID: 403,
  WITNESS_SIZE_CONFLICT: 409,
  WITNESS_PROOF_INVALID: 422,
};

/**
 * Parses a `--log` value: `"<origin> <verifier key>"`, or a verifier key alone
 * (the origin is then the key's name, ChaosCore's convention).
 * @throws ChaosCoreError NOTE_MALFORMED when the key does not parse.
 * @example
 * ```ts
 * parseWitnessedLog("chaoscore.local/log/default+1a2b3c4d+AQ…").origin; // "chaoscore.local/log/default"
 * ```
 */
export function parseWitnessedLog(value: string): WitnessedLog {
  const trimmed = value.trim();
  const space = trimmed.indexOf(" ");
  const origin = space < 0 ? undefined : trimmed.slice(0, space);
  const verifierKey = space < 0 ? trimmed : trimmed.slice(space + 1).trim();
  const key = parseVerifierKey(verifierKey);
  return { origin: origin ?? key.name, verifierKey };
}

/** A witness: `addCheckpoint` implements the `add-checkpoint` endpoint. */
export class Witness {
  /** The witness's name (its key's name). */
  readonly name: string;
  /** The witness's verifier key (cosignature/v1), to publish. */
  readonly verifierKey: string;
  readonly #signerKey: string;
  readonly #logs: Map<string, string>;
  /** Family keys by family origin (their key names), for shard origins `<family>/s<n>`. */
  readonly #families: Map<string, string>;
  /** Shard keys certified so far, by shard origin (a hint: a certificate sent again is re-checked). */
  readonly #shardKeys = new Map<string, string>();
  readonly #store: WitnessStore;
  readonly #now: () => number;
  /** One request at a time per origin in this process (the store's CAS guards across processes). */
  readonly #queues = new Map<string, Promise<unknown>>();
  /**
   * The last checkpoint read or committed per origin. Only a hint: a stale
   * entry (another process on the same Postgres moved on) makes the
   * compare-and-swap fail, and the witness reads the store again.
   */
  readonly #held = new Map<string, WitnessedCheckpoint | undefined>();

  /**
   * @throws ChaosCoreError COSIGNATURE_MALFORMED when the signer key is malformed.
   * @throws ChaosCoreError NOTE_MALFORMED when a log's verifier key is malformed.
   */
  constructor(options: WitnessOptions) {
    this.name = parseWitnessSignerKey(options.signerKey).name;
    this.verifierKey = witnessVerifierKeyFromSignerKey(options.signerKey);
    this.#signerKey = options.signerKey;
    this.#logs = new Map();
    this.#families = new Map();
    for (const log of options.logs) {
      const { name } = parseVerifierKey(log.verifierKey);
      this.#logs.set(log.origin, log.verifierKey);
      this.#families.set(name, log.verifierKey);
    }
    this.#store = options.store;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The origins the witness follows. */
  get origins(): string[] {
    return [...this.#logs.keys()];
  }

  /**
   * Handles an `add-checkpoint` request body and returns the answer the spec
   * requires: 200 with the cosignature line; 400 malformed; 403 no signature
   * by the log's key; 404 unknown origin; 409 (`text/x.tlog.size`, the size
   * it holds) when the old size is not the size it holds, or the same size
   * comes with another root; 422 when the proof does not verify. The new
   * checkpoint is stored (compare-and-swap) before the cosignature is made;
   * a refused request stores nothing.
   */
  async addCheckpoint(
    body: string | Uint8Array,
    context: AddCheckpointContext = {},
  ): Promise<WitnessAnswer> {
    try {
      const request = parseAddCheckpointRequest(body);
      const origin = request.checkpoint.slice(0, Math.max(0, request.checkpoint.indexOf("\n")));
      const key = this.#logs.get(origin) ?? this.#shardKey(origin, context.shardCertificate);
      const checkpoint = openLogCheckpoint(request.checkpoint, key, origin);
      if (request.oldSize > checkpoint.size) {
        throw new ChaosCoreError(
          "WITNESS_REQUEST_MALFORMED",
          "the old size exceeds the checkpoint's size",
        );
      }
      if (request.oldSize === 0 && request.proof.length > 0) {
        throw new ChaosCoreError("WITNESS_REQUEST_MALFORMED", "a proof from size 0 is empty");
      }
      const line = await this.#serialize(origin, () => this.#advance(origin, request, checkpoint));
      return { status: 200, contentType: "text/plain; charset=utf-8", body: line };
    } catch (error) {
      return refusal(error);
    }
  }

  /**
   * The key of a shard origin `<family>/s<n>` of a followed family: the one
   * the request's certificate names (verified under the family key, for this
   * origin), else one certified by an earlier request.
   * @throws ChaosCoreError WITNESS_UNKNOWN_LOG (no such family, or no
   * certificate yet); WITNESS_SIGNATURE_INVALID (a certificate that does not
   * verify under the family key or is for another origin).
   */
  #shardKey(origin: string, certificate: string | undefined): string {
    const slash = origin.lastIndexOf("/s");
    const familyOrigin = slash < 0 ? undefined : origin.slice(0, slash);
    const familyKey = familyOrigin === undefined ? undefined : this.#families.get(familyOrigin);
    if (
      familyOrigin === undefined ||
      familyKey === undefined ||
      (shardNumberOfOrigin(familyOrigin, origin) ?? 0) < 1
    ) {
      throw new ChaosCoreError("WITNESS_UNKNOWN_LOG", "the witness does not follow this log", {
        details: { origin: origin.slice(0, 200) },
      });
    }
    if (certificate === undefined) {
      const known = this.#shardKeys.get(origin);
      if (known !== undefined) return known;
      throw new ChaosCoreError(
        "WITNESS_UNKNOWN_LOG",
        `a shard of ${familyOrigin}: send its certificate (header ${SHARD_CERTIFICATE_HEADER})`,
        { details: { origin: origin.slice(0, 200) } },
      );
    }
    let certified: { shardOrigin: string; shardVerifierKey: string };
    try {
      certified = verifyShardCertificate(certificate, familyKey);
    } catch (cause) {
      throw new ChaosCoreError(
        "WITNESS_SIGNATURE_INVALID",
        `the shard certificate does not verify under the family key (${isChaosCoreError(cause) ? cause.code : "unknown"})`,
        { cause },
      );
    }
    if (certified.shardOrigin !== origin) {
      throw new ChaosCoreError(
        "WITNESS_SIGNATURE_INVALID",
        "the shard certificate is for another origin than the checkpoint's",
        { details: { origin: origin.slice(0, 200), certified: certified.shardOrigin } },
      );
    }
    this.#shardKeys.set(origin, certified.shardVerifierKey);
    return certified.shardVerifierKey;
  }

  async #advance(
    origin: string,
    request: { oldSize: number; proof: readonly Uint8Array[]; checkpoint: string },
    checkpoint: Checkpoint,
  ): Promise<string> {
    let held = this.#held.has(origin) ? this.#held.get(origin) : await this.#read(origin);
    if (request.oldSize !== (held?.size ?? 0)) held = await this.#read(origin); // not from a stale hint
    const heldSize = held?.size ?? 0;
    if (request.oldSize !== heldSize) {
      throw conflict(heldSize, "the old size is not the size the witness holds");
    }
    if (held !== undefined) {
      if (checkpoint.size === held.size) {
        if (!equalBytes(checkpoint.rootHash, held.rootHash)) {
          throw conflict(heldSize, "the witness holds another root for this size");
        }
        if (request.proof.length > 0) {
          throw new ChaosCoreError("WITNESS_PROOF_INVALID", "equal sizes take an empty proof");
        }
      } else if (held.size > 0) {
        try {
          verifyConsistency(
            held.size,
            checkpoint.size,
            request.proof,
            held.rootHash,
            checkpoint.rootHash,
          );
        } catch (cause) {
          throw new ChaosCoreError(
            "WITNESS_PROOF_INVALID",
            "the consistency proof does not link the witness's checkpoint to this one",
            { cause, details: { from: held.size, to: checkpoint.size } },
          );
        }
      }
    }
    const next = {
      origin,
      size: checkpoint.size,
      rootHash: checkpoint.rootHash,
      note: request.checkpoint,
    };
    let stored: boolean;
    try {
      stored = await this.#store.update(heldSize, held?.rootHash, next);
    } catch (error) {
      this.#held.delete(origin); // the commit's outcome is unknown: read it next time
      throw error;
    }
    if (!stored) {
      const now = await this.#read(origin);
      throw conflict(now?.size ?? 0, "another request changed the witness's checkpoint first");
    }
    this.#held.set(origin, next);
    return cosignCheckpoint(request.checkpoint, this.#signerKey, this.#now());
  }

  async #read(origin: string): Promise<WitnessedCheckpoint | undefined> {
    this.#held.delete(origin);
    const held = await this.#store.latest(origin);
    this.#held.set(origin, held);
    return held;
  }

  #serialize<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(origin) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    this.#queues.set(origin, tail);
    void tail.then(() => {
      if (this.#queues.get(origin) === tail) this.#queues.delete(origin);
    });
    return run;
  }
}

function openLogCheckpoint(note: string, key: string, origin: string): Checkpoint {
  try {
    return openCheckpoint(note, key, { origin });
  } catch (cause) {
    if (isChaosCoreError(cause, "NOTE_SIGNATURE_INVALID")) {
      throw new ChaosCoreError(
        "WITNESS_SIGNATURE_INVALID",
        "no signature on the checkpoint verifies under the log's key",
        { cause },
      );
    }
    throw new ChaosCoreError(
      "WITNESS_REQUEST_MALFORMED",
      `the checkpoint is not a signed checkpoint note: ${(cause as Error).message}`,
      { cause },
    );
  }
}

function conflict(size: number, message: string): ChaosCoreError {
  return new ChaosCoreError("WITNESS_SIZE_CONFLICT", message, { details: { size } });
}

function refusal(error: unknown): WitnessAnswer {
  if (isChaosCoreError(error)) {
    const status = STATUS[error.code];
    if (error.code === "WITNESS_SIZE_CONFLICT") {
      return {
        status: 409,
        contentType: TLOG_SIZE_MEDIA_TYPE,
        body: `${Number(error.details?.size ?? 0)}\n`,
        code: error.code,
      };
    }
    if (status !== undefined) {
      return {
        status,
        contentType: "text/plain; charset=utf-8",
        body: `${error.code}: ${error.message}\n`,
        code: error.code,
      };
    }
    if (error.code === "STORE_UNAVAILABLE" || error.code === "STORE_CONFLICT") {
      return {
        status: 503,
        contentType: "text/plain; charset=utf-8",
        body: `${error.code}: ${error.message}\n`,
        code: error.code,
      };
    }
  }
  return {
    status: 500,
    contentType: "text/plain; charset=utf-8",
    body: "internal error\n",
    code: "STORE_QUERY_FAILED",
  };
}
