/**
 * Receipts verified in the browser with @chaoscore/core's own
 * `verifyReceipt` (docs/spec/receipt.md), against the log key and TEE roots
 * the gateway publishes at GET /v1 — or, when the reader pinned a trust
 * policy (docs/spec/trust-policy.md), with `verifyReceiptWithPolicy` against
 * the policy's log key and witnesses (and its `attestation` member, which
 * judges real TEE evidence in chaoscore.receipt/v3): then nothing at all is
 * taken from the server. The key used is shown next to the result.
 * @module
 */
import {
  type Hex,
  isChaosCoreError,
  openCheckpoint,
  parseVerifierKey,
  shardNumberOfOrigin,
  type TrustPolicy,
  type VerifiedReceipt,
  type VerifiedReceiptWithPolicy,
  verifyReceipt,
  verifyReceiptWithPolicy,
  verifyShardCertificate,
  verifyTeeEvidence,
} from "@chaoscore/core";

/** The outcome of a verification: what the receipt proves, or the failing step's code. */
export type Verdict =
  | {
      ok: true;
      result: VerifiedReceipt | VerifiedReceiptWithPolicy;
      attestationPolicy: boolean;
      pinned?: true;
    }
  | { ok: false; code: string; message: string; details?: Readonly<Record<string, unknown>> };

/**
 * The trust anchors a receipt is verified against: the log key (and TEE
 * roots), or a pinned trust policy, whose log key then replaces `verifierKey`.
 */
export type TrustAnchors = {
  verifierKey: string;
  trustedTeeRoots: readonly string[];
  policy?: TrustPolicy | null;
};

/**
 * Verifies a receipt (JSON text or value). Never throws: an error becomes
 * `{ ok: false, code }` with the spec's code (RECEIPT_*, TRUST_POLICY_*).
 */
export function verify(receipt: unknown, anchors: TrustAnchors): Verdict {
  const roots = anchors.trustedTeeRoots;
  // real TEE evidence (chaoscore.receipt/v3) is judged with core's verifyTeeEvidence
  const options = {
    evidenceVerifier: verifyTeeEvidence,
    ...(roots.length === 0 ? {} : { attestation: { trustedRoots: roots as readonly Hex[] } }),
  };
  try {
    if (anchors.policy !== undefined && anchors.policy !== null) {
      // the pinned policy's attestation member judges real TEE evidence (and mock quotes)
      const result = verifyReceiptWithPolicy(receipt, anchors.policy, options);
      const judged = roots.length > 0 || anchors.policy.attestation !== undefined;
      return { ok: true, result, attestationPolicy: judged, pinned: true };
    }
    const result = verifyReceipt(receipt, anchors.verifierKey, options);
    return { ok: true, result, attestationPolicy: roots.length > 0 };
  } catch (error) {
    if (isChaosCoreError(error)) {
      return {
        ok: false,
        code: error.code,
        message: error.message,
        ...(error.details === undefined ? {} : { details: error.details }),
      };
    }
    return { ok: false, code: "UNEXPECTED", message: String(error) };
  }
}

/**
 * Checks a checkpoint's signed note under the log key: its size, or the error
 * code. A checkpoint of a shard `<family>/s<n>` of the key's family verifies
 * under the shard key that one of `certificates` (as `GET /v1/logs` lists
 * them; each is checked under the key here) certifies for its origin
 * (docs/spec/receipt.md §7) — `shard` then names the shard.
 */
export function verifyCheckpointNote(
  note: string,
  verifierKey: string,
  certificates: readonly string[] = [],
): { ok: true; size: number; shard?: number } | { ok: false; code: string } {
  try {
    const origin = note.slice(0, Math.max(0, note.indexOf("\n")));
    const shard = shardNumberOfOrigin(parseVerifierKey(verifierKey).name, origin) ?? 0;
    if (shard === 0) return { ok: true, size: openCheckpoint(note, verifierKey).size };
    for (const certificate of certificates) {
      let key: string;
      try {
        const certified = verifyShardCertificate(certificate, verifierKey);
        if (certified.shardOrigin !== origin) continue;
        key = certified.shardVerifierKey;
      } catch {
        continue; // not a certificate of this family: the server listed something else
      }
      return { ok: true, size: openCheckpoint(note, key).size, shard };
    }
    return { ok: false, code: "RECEIPT_SHARD_UNCERTIFIED" };
  } catch (error) {
    return { ok: false, code: isChaosCoreError(error) ? error.code : "UNEXPECTED" };
  }
}
