/**
 * The attestation rule at ingest: an action whose `attestationHash` is not
 * zero must come with its quote (or real TEE evidence, tee-evidence-check.ts)
 * that hashes to it, binds the acting agent and verifies under the log's
 * policy; with `required`, every action must carry one.
 * @module
 */
import {
  type ActionEntry,
  type AttestationQuote,
  type AttestationTrustPolicy,
  attestationHash,
  type ChaosCoreError,
  canonicalJsonBytes,
  fail,
  type Hex,
  isAgentBoundNonce,
  parseQuote,
  TEE_EVIDENCE_FORMAT,
  verifyQuote,
  ZERO_HASH,
} from "@chaoscore/core";
import { checkTeeEvidence } from "./tee-evidence-check.js";

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

/**
 * Checks the quote an action carries against the log's attestation policy.
 * @returns the quote's canonical JSON, or null when the action has none.
 * @throws ChaosCoreError AGENCY_ATTESTATION_REQUIRED, AGENCY_ATTESTATION_MISMATCH,
 * AGENCY_ATTESTATION_INVALID.
 */
export function checkAttestation(
  entry: ActionEntry,
  value: unknown,
  policy: AttestationRecordingPolicy,
): Uint8Array | null {
  const hash = entry.message.attestationHash;
  if (hash === ZERO_HASH) {
    if (value !== undefined && value !== null) {
      fail("AGENCY_ATTESTATION_MISMATCH", "an attestation was sent but the action signs none");
    }
    if (policy.mode === "required") {
      fail("AGENCY_ATTESTATION_REQUIRED", "this log requires every action to be attested");
    }
    return null;
  }
  if (value === undefined || value === null) {
    fail("AGENCY_ATTESTATION_REQUIRED", "the action signs an attestationHash: send its quote");
  }
  if (typeof value === "object" && (value as { format?: unknown }).format === TEE_EVIDENCE_FORMAT) {
    return checkTeeEvidence(entry, value, policy.evidence);
  }
  let quote: AttestationQuote;
  try {
    quote = parseQuote(value);
  } catch (error) {
    return fail("AGENCY_ATTESTATION_INVALID", (error as Error).message, {
      cause: (error as ChaosCoreError).code,
    });
  }
  if (attestationHash(quote) !== hash) {
    fail("AGENCY_ATTESTATION_MISMATCH", "the quote does not hash to the signed attestationHash");
  }
  // the quote must be the acting agent's: its nonce starts with the agent's address
  // (docs/spec/attestation.md §9); a public quote of another agent is refused
  if (!isAgentBoundNonce(quote.nonce, entry.message.agent)) {
    fail(
      "AGENCY_ATTESTATION_MISMATCH",
      "the quote's nonce does not bind the acting agent (nonce = agent address ‖ salt)",
      { cause: "ATTESTATION_AGENT_MISMATCH" },
    );
  }
  if (policy.trustedRoots.length === 0) {
    fail("AGENCY_ATTESTATION_INVALID", "no trusted attestation roots are configured");
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
    return fail("AGENCY_ATTESTATION_INVALID", `the attestation does not verify (${code})`, {
      cause: code,
    });
  }
  return canonicalJsonBytes(quote);
}
