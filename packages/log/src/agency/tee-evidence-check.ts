/**
 * Real TEE evidence at ingest (`chaoscore.tee-evidence/v1`: AWS Nitro, Intel
 * TDX, AMD SEV-SNP): an action that signs the evidence's hash is recorded
 * only when the evidence verifies under the log's evidence policy (the trust
 * policy's `attestation` member, docs/spec/attestation.md §10) at the
 * action's time and names the acting agent (§9). Its receipt is then a
 * `chaoscore.receipt/v3` carrying the evidence unchanged.
 *
 * Verification uses OpenSSL's ECDSA and a {@link SignatureCache}: every
 * document of one enclave repeats its certificate chain (and every TDX quote
 * of a platform its collateral), so only the evidence's own signature is
 * checked per action (docs/benchmarks.md, attestation).
 * @module
 */
import {
  type ActionEntry,
  type AttestationTrustPolicy,
  ChaosCoreError,
  cachingEcdsaVerifier,
  canonicalJsonBytes,
  isChaosCoreError,
  judgeReceiptAttestation,
  parseTeeEvidence,
  SignatureCache,
  type TeeEvidence,
  teeEvidenceHash,
  verifyTeeEvidence,
} from "@chaoscore/core";
import { nodeEcdsaVerifier } from "@chaoscore/core/tee/node-ecdsa";

/** The signature checks of every log in this process that succeeded (bounded). */
const cache = new SignatureCache(4096);
const ecdsa = cachingEcdsaVerifier(nodeEcdsaVerifier, cache);

/**
 * Checks carried TEE evidence for `entry` under `policy` (undefined: this log
 * accepts none).
 * @returns the evidence's canonical JSON (what the log stores and the receipt carries).
 * @throws ChaosCoreError AGENCY_ATTESTATION_INVALID (no evidence policy,
 * malformed, or it does not verify: `details.cause` is the ATTESTATION_* code),
 * AGENCY_ATTESTATION_MISMATCH (another hash than the signed attestationHash, or
 * it does not name the acting agent: cause ATTESTATION_AGENT_MISMATCH).
 */
export function checkTeeEvidence(
  entry: ActionEntry,
  value: unknown,
  policy: AttestationTrustPolicy | undefined,
): Uint8Array {
  if (policy === undefined) {
    throw new ChaosCoreError(
      "AGENCY_ATTESTATION_INVALID",
      "this log accepts no real TEE evidence (no evidence policy is configured)",
    );
  }
  let evidence: TeeEvidence;
  try {
    evidence = parseTeeEvidence(value);
  } catch (error) {
    throw new ChaosCoreError("AGENCY_ATTESTATION_INVALID", (error as Error).message, {
      details: { cause: isChaosCoreError(error) ? error.code : "unknown" },
    });
  }
  if (teeEvidenceHash(evidence) !== entry.message.attestationHash) {
    throw new ChaosCoreError(
      "AGENCY_ATTESTATION_MISMATCH",
      "the evidence does not hash to the signed attestationHash",
    );
  }
  try {
    judgeReceiptAttestation(evidence, entry.message, {
      policy,
      ecdsa,
      evidenceVerifier: verifyTeeEvidence,
    });
  } catch (error) {
    const code = isChaosCoreError(error) ? error.code : "unknown";
    throw new ChaosCoreError(
      code === "ATTESTATION_AGENT_MISMATCH"
        ? "AGENCY_ATTESTATION_MISMATCH"
        : "AGENCY_ATTESTATION_INVALID",
      `the evidence does not verify (${code})`,
      { details: { cause: code } },
    );
  }
  return canonicalJsonBytes(evidence);
}
