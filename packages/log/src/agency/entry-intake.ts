/**
 * Intake: the checks an action or outcome passes before it is queued — a
 * well-formed `chaoscore.entry/v1` of the right kind, signed for this chain
 * and deployment, within the size limits, its payload or metrics hashing to
 * what it signs, its attestation valid — and the start of its signature
 * recovery. Anything refused here throws and writes nothing.
 * @module
 */
import {
  type ActionEntry,
  type Address,
  bytesToHex,
  ChaosCoreError,
  canonicalEntryText,
  canonicalJsonBytes,
  entryDigest,
  fail,
  isChaosCoreError,
  type LogEntry,
  type OutcomeEntry,
  parseEntry,
  sha256Hex,
  utf8,
} from "@chaoscore/core";
import type { AgencyContext, PendingEntry } from "./agency-context.js";
import { checkAttestation } from "./attestation-check.js";

/**
 * An action as callers send it: the signed entry, its payload and attestation;
 * `log` names the shard the caller means to write to (refused with
 * LOG_SHARD_FROZEN unless it is the active one; absent: the active one).
 */
export type ActionInput = {
  entry: unknown;
  payload?: unknown;
  attestation?: unknown;
  log?: string;
};

/** An outcome as callers send it: the signed entry and its metrics (and `log`, as for actions). */
export type OutcomeInput = { entry: unknown; metrics: unknown; log?: string };

/**
 * The checks of an action before the writer's: its entry, payload and attestation.
 * @returns the entry, its payload and its attestation as canonical JSON.
 */
export function prepareAction(
  ctx: AgencyContext,
  input: ActionInput,
): [ActionEntry, Uint8Array | null, Uint8Array | null] {
  const entry = parseSignedEntry(ctx, input?.entry, "action") as ActionEntry;
  const attestation = checkAttestation(entry, input.attestation, ctx.attestation);
  let extra: Uint8Array | null = null;
  if (input.payload !== undefined) {
    extra = canonical(input.payload, "payload");
    if (extra.length > ctx.limits.maxPayloadBytes) {
      fail("AGENCY_PAYLOAD_TOO_LARGE", `payload exceeds ${ctx.limits.maxPayloadBytes} bytes`, {
        size: extra.length,
        limit: ctx.limits.maxPayloadBytes,
      });
    }
    if (sha256Hex(extra) !== entry.message.payloadHash) {
      fail("AGENCY_PAYLOAD_MISMATCH", "payload does not hash to the signed payloadHash");
    }
  }
  return [entry, extra, attestation];
}

/** The checks of an outcome before the writer's: its entry and metrics. */
export function prepareOutcome(
  ctx: AgencyContext,
  input: OutcomeInput,
): [OutcomeEntry, Uint8Array] {
  const entry = parseSignedEntry(ctx, input?.entry, "outcome") as OutcomeEntry;
  const metrics = input.metrics;
  if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
    fail("AGENCY_MALFORMED", "metrics must be a JSON object");
  }
  const extra = canonical(metrics, "metrics");
  if (extra.length > ctx.limits.maxMetricsBytes) {
    fail("AGENCY_PAYLOAD_TOO_LARGE", `metrics exceed ${ctx.limits.maxMetricsBytes} bytes`);
  }
  if (sha256Hex(extra) !== entry.message.metricsHash) {
    fail("AGENCY_PAYLOAD_MISMATCH", "metrics do not hash to the signed metricsHash");
  }
  return [entry, extra];
}

/**
 * The canonical bytes of an entry that passed intake, refused above `maxEntryBytes`.
 * @throws ChaosCoreError AGENCY_ENTRY_TOO_LARGE.
 */
export function encodeWithinLimit(ctx: AgencyContext, entry: LogEntry): Uint8Array {
  const bytes = utf8(canonicalEntryText(entry));
  checkEntrySize(ctx, bytes.length);
  return bytes;
}

/** @throws ChaosCoreError AGENCY_ENTRY_TOO_LARGE when `size` bytes exceed `maxEntryBytes`. */
function checkEntrySize(ctx: AgencyContext, size: number): void {
  if (size > ctx.limits.maxEntryBytes) {
    fail("AGENCY_ENTRY_TOO_LARGE", `entry exceeds ${ctx.limits.maxEntryBytes} bytes`, {
      size,
      limit: ctx.limits.maxEntryBytes,
    });
  }
}

/**
 * An entry's canonical JSON text for {@link deferredPendingEntry} (the
 * workers take its UTF-8 bytes as the leaf data) and its size in bytes (the
 * worker's bytes are checked against it).
 * @throws ChaosCoreError AGENCY_ENTRY_TOO_LARGE.
 */
export function entryTextWithinLimit(
  ctx: AgencyContext,
  entry: LogEntry,
): { text: string; size: number } {
  const text = canonicalEntryText(entry);
  const size = Buffer.byteLength(text);
  checkEntrySize(ctx, size);
  return { text, size };
}

/**
 * An entry ready for the writer: its digest, and its signer's recovery
 * started (a malformed signature answers AGENCY_BAD_SIGNATURE there; a
 * verifier that is unavailable, AGENCY_VERIFIER_UNAVAILABLE).
 */
export function pendingEntry(
  ctx: AgencyContext,
  kind: "action" | "outcome",
  entry: LogEntry,
  bytes: Uint8Array,
  extra: Uint8Array | null,
  attestation: Uint8Array | null,
  answer: Pick<PendingEntry, "resolve" | "reject">,
): PendingEntry {
  const digest = entryDigest(entry);
  const signer = recoverSigner(ctx, digest, entry);
  return {
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
    ...answer,
  };
}

/** The signer of `entry`, or the refusal its signature gets. */
function recoverSigner(
  ctx: AgencyContext,
  digest: Uint8Array,
  entry: LogEntry,
): Promise<Address | ChaosCoreError> {
  return ctx.verifier.recover(digest, entry.signature).catch((error) =>
    isChaosCoreError(error, "AGENCY_VERIFIER_UNAVAILABLE")
      ? error
      : new ChaosCoreError("AGENCY_BAD_SIGNATURE", "signature is malformed or does not recover", {
          cause: error,
        }),
  );
}

/**
 * As {@link pendingEntry}, for a verifier that prepares entries on its own
 * threads (`SignatureVerifier.prepareEntry`): the canonical bytes, digest
 * and id are filled in when `signer` settles, from the worker — or, where it
 * did not prepare the entry, on this thread as {@link pendingEntry} does; an
 * entry whose digest or bytes cannot be computed there settles `signer` with
 * that error and keeps an empty `digest` (the writer refuses it before its
 * transaction).
 */
export function deferredPendingEntry(
  ctx: AgencyContext,
  kind: "action" | "outcome",
  entry: LogEntry,
  text: { text: string; size: number },
  extra: Uint8Array | null,
  attestation: Uint8Array | null,
  answer: Pick<PendingEntry, "resolve" | "reject">,
): PendingEntry {
  const p: PendingEntry = {
    kind,
    entry,
    bytes: NOT_YET,
    digest: NOT_YET,
    id: "0x",
    agent: entry.message.agent,
    nonce: BigInt(entry.message.nonce),
    extra,
    attestation,
    signer: (ctx.verifier.prepareEntry?.(text.text) ?? Promise.resolve(null)).then(
      (prepared) => {
        if (prepared !== null && prepared.bytes.length === text.size) {
          p.bytes = prepared.bytes;
          p.leafHash = prepared.leafHash;
          p.digest = prepared.digest;
          p.id = bytesToHex(prepared.digest);
          return prepared.signer;
        }
        try {
          const bytes = utf8(text.text); // already the canonical text
          const digest = entryDigest(entry);
          [p.bytes, p.digest, p.id] = [bytes, digest, bytesToHex(digest)];
          return recoverSigner(ctx, digest, entry);
        } catch (error) {
          return error as ChaosCoreError;
        }
      },
      (error: unknown) => error as ChaosCoreError,
    ),
    ...answer,
  };
  return p;
}

const NOT_YET = new Uint8Array(0);

function canonical(value: unknown, what: string): Uint8Array {
  try {
    return canonicalJsonBytes(value);
  } catch {
    return fail("AGENCY_MALFORMED", `${what} is not JSON`);
  }
}

/** Parses a signed entry of `kind` and checks it is signed for this chain and deployment. */
function parseSignedEntry(
  ctx: AgencyContext,
  value: unknown,
  kind: "action" | "outcome",
): LogEntry {
  let entry: LogEntry;
  try {
    entry = parseEntry(value);
  } catch (error) {
    const e = error as ChaosCoreError;
    return fail("AGENCY_MALFORMED", e.message, e.details as Record<string, unknown>);
  }
  if (entry.kind !== kind) fail("AGENCY_MALFORMED", `expected an ${kind} entry, got ${entry.kind}`);
  if (BigInt(entry.chainId) !== ctx.chainId) {
    fail("AGENCY_WRONG_CHAIN", `signed for chain ${entry.chainId}, this log is on ${ctx.chainId}`, {
      chainId: entry.chainId,
      expected: ctx.chainId.toString(),
    });
  }
  if (entry.verifyingContract !== ctx.verifyingContract) {
    fail(
      "AGENCY_WRONG_DEPLOYMENT",
      `signed for deployment ${entry.verifyingContract}, this log is ${ctx.verifyingContract}`,
      { verifyingContract: entry.verifyingContract, expected: ctx.verifyingContract },
    );
  }
  return entry;
}
