/**
 * Receipt verification for SDK users: under the log's key alone, or under a
 * trust policy (log key, witness quorum, trusted anchor contracts).
 * @module
 */
import {
  type TrustPolicy,
  type VerifiedReceipt,
  type VerifiedReceiptWithPolicy,
  type VerifyReceiptOptions,
  verifyReceiptWithPolicy,
  verifyTeeEvidence,
  verifyReceipt as verifyUnderKey,
} from "@chaoscore/core";

/**
 * Verifies a receipt offline. With a log verifier key (a string) it is
 * `verifyReceipt` of `@chaoscore/core`; with a trust policy (parsed by
 * `parseTrustPolicy`, or its JSON as an object) it is
 * `verifyReceiptWithPolicy`: the log's key from the policy, then a quorum of
 * witness cosignatures, then the trusted anchor contracts. A receipt's
 * attestation is judged under `options.attestation` / `attestationPolicy` or
 * the policy's `attestation` member, real TEE evidence with `verifyTeeEvidence`.
 * @throws ChaosCoreError the RECEIPT_* codes of docs/errors.md; with a
 * policy also TRUST_POLICY_*, RECEIPT_WITNESS_QUORUM, RECEIPT_ANCHOR_UNTRUSTED.
 * @example
 * ```ts
 * const policy = parseTrustPolicy(await readFile("policy.json", "utf8"));
 * const { actionId, witnesses } = verifyReceipt(receipt, policy);
 * ```
 */
export function verifyReceipt(
  receipt: unknown,
  logKey: string,
  options?: VerifyReceiptOptions,
): VerifiedReceipt;
export function verifyReceipt(
  receipt: unknown,
  policy: TrustPolicy | Record<string, unknown>,
  options?: VerifyReceiptOptions,
): VerifiedReceiptWithPolicy;
export function verifyReceipt(
  receipt: unknown,
  trust: string | TrustPolicy | Record<string, unknown>,
  options: VerifyReceiptOptions = {},
): VerifiedReceipt | VerifiedReceiptWithPolicy {
  // real TEE evidence (chaoscore.receipt/v3) is judged with core's verifyTeeEvidence
  const withEvidence = { evidenceVerifier: verifyTeeEvidence, ...options };
  return typeof trust === "string"
    ? verifyUnderKey(receipt, trust, withEvidence)
    : verifyReceiptWithPolicy(receipt, trust, withEvidence);
}
