/**
 * The attestation a receipt carries (docs/spec/receipt.md §4 step 6): a mock
 * TEE quote (`chaoscore.attestation/v1`) or real evidence
 * (`chaoscore.tee-evidence/v1`, receipts `chaoscore.receipt/v3`), its binding
 * to the action (`attestationHash`) and to the acting agent (the nonce), and
 * its judgement under the trust policy's `attestation` member.
 * @module
 */

import type { AttestationQuote } from "./attestation-formats.js";
import { type AttestationPolicy, verifyQuote } from "./attestation-verify.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { ChaosCoreError } from "./errors.js";
import { sha256Hex } from "./hash.js";
import { type Address, type Hex, hexToBytes } from "./hex.js";
import { isAgentBoundNonce } from "./tee/binding.js";
import type { EcdsaVerifier } from "./tee/ecdsa.js";
import {
  type AttestationTrustPolicy,
  TEE_EVIDENCE_FORMAT,
  type TeeEvidence,
  type verifyTeeEvidence,
} from "./tee/evidence.js";

/**
 * Verifies carried TEE evidence: `verifyTeeEvidence` of this package. Given
 * to the receipt verifier rather than imported by it, so that a browser
 * bundle of `verifyReceipt` carries the X.509, CBOR and P-256/P-384 code only
 * when it is given (`verifyReceiptWithPolicy` and the SDK give it by default).
 */
export type TeeEvidenceVerifier = typeof verifyTeeEvidence;

/** What a receipt's `attestation` member holds when it is not null. */
export type ReceiptAttestation = AttestationQuote | TeeEvidence;

/** Default oldest accepted mock quote, seconds before the action's timestamp. */
export const DEFAULT_RECEIPT_ATTESTATION_MAX_AGE = 3600;

/**
 * What a judged attestation established: which platform, which measurements,
 * which TCB status, which root, and whether it names the acting agent.
 */
export type AttestationSummary = {
  platform: string;
  /**
   * mock-tee: `measurement`; aws-nitro: PCR index → value; intel-tdx: `mrTd`,
   * `rtmr0`–`rtmr3`; amd-sev-snp: `measurement`, `hostData`.
   */
  measurements: Readonly<Record<string, Hex>>;
  /** intel-tdx: Intel's TCB status of the platform; otherwise "n/a". */
  tcbStatus: string;
  /** intel-tdx: the quoting enclave's status. */
  qeStatus?: string;
  /** amd-sev-snp: the reported TCB's security patch levels (bootLoader, tee, snp, microcode). */
  tcb?: Readonly<Record<string, number>>;
  /** Unix seconds the evidence names (mock quote, Nitro), or null (TDX carries no time). */
  timestamp: number | null;
  /** The trusted root: the mock root's Ed25519 key, or SHA-256 of a vendor root certificate. */
  root: string;
  /** True when the evidence's nonce starts with the acting agent's address (attestation.md §9). */
  agentBound: boolean;
};

/** Options of {@link judgeReceiptAttestation}. */
export type ReceiptAttestationOptions = {
  /** The mock TEE's policy (trusted Ed25519 roots …), as `verifyReceipt`'s `attestation` option. */
  mock?: Omit<AttestationPolicy, "now" | "maxAgeSeconds"> & { maxAgeSeconds?: number };
  /** The trust policy's `attestation` member (real evidence, and mock roots in `mock`). */
  policy?: AttestationTrustPolicy;
  ecdsa?: EcdsaVerifier;
  /** Needed for real evidence: `verifyTeeEvidence`. */
  evidenceVerifier?: TeeEvidenceVerifier;
};

/** True when the value is carried TEE evidence (its format tag), not a mock quote. */
export function isTeeEvidence(value: ReceiptAttestation): value is TeeEvidence {
  return value.format === TEE_EVIDENCE_FORMAT;
}

/**
 * SHA-256(JCS(attestation)): what the action signs as `attestationHash`, for
 * a mock quote and for carried evidence alike.
 * @throws ChaosCoreError INVALID_JSON when the value is not JSON.
 */
export function receiptAttestationHash(attestation: ReceiptAttestation): Hex {
  return sha256Hex(canonicalJsonBytes(attestation));
}

function agentMismatch(platform: string): never {
  throw new ChaosCoreError(
    "ATTESTATION_AGENT_MISMATCH",
    `the ${platform} evidence's nonce does not start with the acting agent's address: it was made for another agent or run`,
  );
}

/**
 * Judges a receipt's attestation (already bound to the action by its hash)
 * at the action's time: a mock quote under the mock roots (`options.mock`, or
 * `options.policy.mock`), real evidence with `verifyTeeEvidence` under
 * `options.policy` (default `{}`: the pinned vendor roots, TCB UpToDate), then
 * the agent binding — the nonce starts with the agent's address; for TDX and
 * SEV-SNP the evidence carries that nonce and REPORTDATA / REPORT_DATA ends
 * with its SHA-256. An
 * unbound attestation fails unless the policy says `requireAgentBinding: false`.
 *
 * @throws ChaosCoreError the ATTESTATION_* code of the failing check
 * (ATTESTATION_MEASUREMENT_NOT_ALLOWED for a platform the policy does not
 * accept, ATTESTATION_CHAIN_INVALID for a mock quote without mock roots,
 * ATTESTATION_AGENT_MISMATCH when unbound, ATTESTATION_VERIFIER_MISSING for
 * real evidence without `options.evidenceVerifier`).
 */
export function judgeReceiptAttestation(
  attestation: ReceiptAttestation,
  action: { agent: Address; timestamp: string },
  options: ReceiptAttestationOptions,
): AttestationSummary {
  const now = Number(action.timestamp);
  const policy = options.policy ?? {};
  const requireBinding = policy.requireAgentBinding !== false;
  if (!isTeeEvidence(attestation)) {
    if (policy.platforms !== undefined && !policy.platforms.includes("mock-tee")) {
      throw new ChaosCoreError(
        "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
        "platform mock-tee is not accepted",
      );
    }
    const mock = options.mock ?? policy.mock;
    if (mock === undefined) {
      throw new ChaosCoreError(
        "ATTESTATION_CHAIN_INVALID",
        "the policy names no mock-tee roots: a mock quote cannot be judged",
      );
    }
    const maxAge =
      ("maxAgeSeconds" in mock ? mock.maxAgeSeconds : undefined) ??
      policy.maxAgeSeconds ??
      DEFAULT_RECEIPT_ATTESTATION_MAX_AGE;
    const verified = verifyQuote(attestation, {
      ...mock,
      maxAgeSeconds: maxAge,
      now: BigInt(action.timestamp),
    });
    const agentBound = isAgentBoundNonce(attestation.nonce, action.agent);
    if (!agentBound && requireBinding) agentMismatch("mock-tee");
    return {
      platform: "mock-tee",
      measurements: { measurement: attestation.measurement },
      tcbStatus: "n/a",
      timestamp: Number(attestation.timestamp),
      root: verified.root,
      agentBound,
    };
  }
  if (options.evidenceVerifier === undefined) {
    throw new ChaosCoreError(
      "ATTESTATION_VERIFIER_MISSING",
      `no TEE evidence verifier was given to judge ${attestation.platform} evidence (pass evidenceVerifier: verifyTeeEvidence)`,
    );
  }
  const verified = options.evidenceVerifier(attestation, policy, {
    now,
    ...(options.ecdsa === undefined ? {} : { ecdsa: options.ecdsa }),
  });
  let agentBound: boolean;
  if (attestation.platform === "aws-nitro") {
    agentBound = isAgentBoundNonce(verified.nonce, action.agent);
  } else {
    const nonce = attestation.nonce;
    agentBound =
      nonce !== undefined &&
      isAgentBoundNonce(nonce, action.agent) &&
      verified.reportData !== null &&
      verified.reportData.slice(66) === sha256Hex(hexToBytes(nonce)).slice(2);
  }
  if (!agentBound && requireBinding) agentMismatch(attestation.platform);
  return {
    platform: verified.platform,
    measurements: verified.measurements,
    tcbStatus: verified.tcbStatus,
    ...(verified.qeStatus === undefined ? {} : { qeStatus: verified.qeStatus }),
    ...(verified.tcb === undefined ? {} : { tcb: verified.tcb }),
    timestamp: verified.timestamp,
    root: verified.rootFingerprint,
    agentBound,
  };
}
