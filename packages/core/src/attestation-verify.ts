/**
 * Verification of mock TEE quotes (`verifyQuote`) and of recorded executions
 * (`verifyRecordedExecution`), docs/spec/attestation.md §2.1 and §3.
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  type AttestationCertificate,
  type AttestationQuote,
  MAX_TRUSTED_ROOTS,
  parseQuote,
  parseRecordedExecution,
} from "./attestation-formats.js";
import {
  computeMeasurement,
  computeReportData,
  hashExecutionCode,
  hashExecutionInput,
  hashExecutionOutput,
} from "./attestation-hashes.js";
import { certificateSigningInput, quoteSigningInput } from "./attestation-signing.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { ChaosCoreError, type ErrorCode } from "./errors.js";
import { sha256Hex } from "./hash.js";
import { type Hex, hexToBytes, isHex } from "./hex.js";

function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new ChaosCoreError(code, message, details === undefined ? {} : { details });
}

/** What a verifier accepts. */
export type AttestationPolicy = {
  /** Ed25519 public keys of the trusted roots (1 to 64). */
  trustedRoots: readonly Hex[];
  /** When given, the quote's measurement must be one of these. */
  allowedMeasurements?: readonly Hex[];
  /** Oldest acceptable quote, in seconds before `now`. */
  maxAgeSeconds: number;
  /** Verification time, unix seconds. */
  now: number | bigint;
  /** Largest acceptable clock skew into the future, seconds (default 60). */
  maxFutureSkewSeconds?: number;
  /** When given, the quote's reportData must equal it. */
  expectedReportData?: Hex;
  /** When given, the quote's nonce must equal it. */
  expectedNonce?: Hex;
  /** When given, the quote's provider must be one of these. */
  allowedProviders?: readonly string[];
};

/** A quote that passed verification, and what it established. */
export type VerifiedQuote = {
  quote: AttestationQuote;
  /** SHA-256(JCS(quote)). */
  attestationHash: Hex;
  /** The trusted root that certified the chain. */
  root: Hex;
};

function verifyEd25519(signature: Hex, message: Uint8Array, publicKey: Hex): boolean {
  try {
    return ed25519.verify(hexToBytes(signature, 64), message, hexToBytes(publicKey, 32), {
      zip215: false,
    });
  } catch {
    return false;
  }
}

function checkPolicy(policy: AttestationPolicy): void {
  const bad = (what: string): never => fail("INVALID_INPUT", `attestation policy: ${what}`);
  if (typeof policy !== "object" || policy === null) bad("not an object");
  if (
    !Array.isArray(policy.trustedRoots) ||
    policy.trustedRoots.length === 0 ||
    policy.trustedRoots.length > MAX_TRUSTED_ROOTS ||
    !policy.trustedRoots.every((k) => isHex(k, 32))
  ) {
    bad(`trustedRoots must be 1 to ${MAX_TRUSTED_ROOTS} Ed25519 public keys (32-byte hex)`);
  }
  if (!Number.isSafeInteger(policy.maxAgeSeconds) || policy.maxAgeSeconds < 0) {
    bad("maxAgeSeconds must be a non-negative integer");
  }
  const skew = policy.maxFutureSkewSeconds ?? 60;
  if (!Number.isSafeInteger(skew) || skew < 0) bad("maxFutureSkewSeconds must be >= 0");
  if (typeof policy.now !== "bigint" && !Number.isSafeInteger(policy.now)) {
    bad("now must be integer unix seconds");
  }
  if (
    policy.allowedMeasurements !== undefined &&
    (!Array.isArray(policy.allowedMeasurements) ||
      !policy.allowedMeasurements.every((m) => isHex(m, 32)))
  ) {
    bad("allowedMeasurements must be 32-byte hex values");
  }
}

/**
 * Verifies a quote against a policy, in this order (the first failure wins):
 *
 * 1. shape (`chaoscore.attestation/v1`)                 → ATTESTATION_MALFORMED
 * 2. chain: chain[0] certifies `enclaveKey`; each certificate is signed by the
 *    next one's key and the last by a trusted root; every certificate is
 *    valid at the quote's timestamp                     → ATTESTATION_CHAIN_INVALID
 * 3. the enclave key's signature over the quote        → ATTESTATION_SIGNATURE_INVALID
 * 4. provider and measurement allow-lists              → ATTESTATION_MEASUREMENT_NOT_ALLOWED
 * 5. freshness: now − maxAge ≤ timestamp ≤ now + skew  → ATTESTATION_STALE
 * 6. expected report data and nonce                    → ATTESTATION_REPORT_DATA_MISMATCH
 *
 * @throws ChaosCoreError the codes above; INVALID_INPUT for a malformed policy.
 * @example
 * ```ts
 * const { attestationHash } = verifyQuote(quote, {
 *   trustedRoots: [rootPublicKey], allowedMeasurements: [measurement],
 *   maxAgeSeconds: 300, now: Math.floor(Date.now() / 1000),
 * });
 * ```
 */
export function verifyQuote(input: unknown, policy: AttestationPolicy): VerifiedQuote {
  checkPolicy(policy);
  const quote = parseQuote(input);
  const timestamp = BigInt(quote.timestamp);

  // 2. certificate chain
  const chain = quote.certificateChain;
  const first = chain[0] as AttestationCertificate;
  if (first.publicKey !== quote.enclaveKey) {
    fail("ATTESTATION_CHAIN_INVALID", "the first certificate does not certify the enclave key", {
      enclaveKey: quote.enclaveKey,
      certified: first.publicKey,
    });
  }
  for (const [i, cert] of chain.entries()) {
    if (timestamp < BigInt(cert.notBefore) || timestamp > BigInt(cert.notAfter)) {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i} is not valid at the quote's time`, {
        index: i,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        timestamp: quote.timestamp,
      });
    }
    const issuer = chain[i + 1];
    if (issuer !== undefined) {
      if (!verifyEd25519(cert.signature, certificateSigningInput(cert), issuer.publicKey)) {
        fail(
          "ATTESTATION_CHAIN_INVALID",
          `certificate ${i} is not signed by certificate ${i + 1}`,
          {
            index: i,
          },
        );
      }
    }
  }
  const last = chain[chain.length - 1] as AttestationCertificate;
  const root = policy.trustedRoots.find((key) =>
    verifyEd25519(last.signature, certificateSigningInput(last), key),
  );
  if (root === undefined) {
    fail("ATTESTATION_CHAIN_INVALID", "the certificate chain does not lead to a trusted root", {
      issuer: last.issuer,
    });
  }

  // 3. the quote's own signature
  if (!verifyEd25519(quote.signature, quoteSigningInput(quote), quote.enclaveKey)) {
    fail("ATTESTATION_SIGNATURE_INVALID", "the quote's signature does not verify");
  }

  // 4. allow-lists
  if (policy.allowedProviders !== undefined && !policy.allowedProviders.includes(quote.provider)) {
    fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", `provider ${quote.provider} is not allowed`, {
      provider: quote.provider,
    });
  }
  if (
    policy.allowedMeasurements !== undefined &&
    !policy.allowedMeasurements.includes(quote.measurement)
  ) {
    fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "the measurement is not in the allow-list", {
      measurement: quote.measurement,
    });
  }

  // 5. freshness
  const now = BigInt(policy.now);
  const skew = BigInt(policy.maxFutureSkewSeconds ?? 60);
  if (timestamp < now - BigInt(policy.maxAgeSeconds) || timestamp > now + skew) {
    fail("ATTESTATION_STALE", "the quote's timestamp is outside the accepted window", {
      timestamp: quote.timestamp,
      now: now.toString(),
      maxAgeSeconds: policy.maxAgeSeconds,
    });
  }

  // 6. binding
  if (policy.expectedNonce !== undefined && policy.expectedNonce !== quote.nonce) {
    fail("ATTESTATION_REPORT_DATA_MISMATCH", "the quote's nonce is not the expected nonce", {
      nonce: quote.nonce,
      expected: policy.expectedNonce,
    });
  }
  if (policy.expectedReportData !== undefined && policy.expectedReportData !== quote.reportData) {
    fail("ATTESTATION_REPORT_DATA_MISMATCH", "the quote's report data is not the expected value", {
      reportData: quote.reportData,
      expected: policy.expectedReportData,
    });
  }
  return {
    quote,
    attestationHash: sha256Hex(canonicalJsonBytes(quote)),
    root: root as Hex,
  };
}

/** What a verified recorded execution establishes. */
export type VerifiedExecution = VerifiedQuote & {
  measurement: Hex;
  codeHash: Hex;
  inputHash: Hex;
  outputHash: Hex;
};

/**
 * Verifies a recorded execution offline (without running it): recomputes the
 * code hash, measurement, input hash, output hash and report data from the
 * record, checks the quote under `policy` with that report data and nonce,
 * and that the quote's measurement is the record's. Re-execution
 * (`replay` in @chaoscore/engine) is the independent second check.
 * @throws ChaosCoreError EXECUTION_RECORD_MALFORMED (also when `quote` is null),
 * ATTESTATION_MEASUREMENT_MISMATCH, and every code of {@link verifyQuote}.
 * @example verifyRecordedExecution(recorded, { trustedRoots: [root], maxAgeSeconds: 300, now })
 */
export function verifyRecordedExecution(
  input: unknown,
  policy: AttestationPolicy,
): VerifiedExecution {
  const recorded = parseRecordedExecution(input);
  if (recorded.quote === null) {
    fail("EXECUTION_RECORD_MALFORMED", "the recorded execution carries no quote");
  }
  const codeHash = hashExecutionCode(recorded.code);
  const measurement = computeMeasurement({
    codeHash,
    runtime: recorded.runtime,
    limits: recorded.limits,
  });
  const inputHash = hashExecutionInput(recorded);
  const outputHash = hashExecutionOutput(recorded.output);
  const reportData = computeReportData(inputHash, outputHash, recorded.nonce);
  const verified = verifyQuote(recorded.quote, {
    ...policy,
    expectedReportData: reportData,
    expectedNonce: recorded.nonce,
  });
  if (verified.quote.measurement !== measurement) {
    fail("ATTESTATION_MEASUREMENT_MISMATCH", "the quote does not measure the recorded code", {
      measurement: verified.quote.measurement,
      expected: measurement,
    });
  }
  return { ...verified, measurement, codeHash, inputHash, outputHash };
}
