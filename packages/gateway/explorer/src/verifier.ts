/**
 * Receipts verified in the browser with @chaoscore/core's own
 * `verifyReceipt` (docs/spec/receipt.md), against the log key and TEE roots
 * the gateway publishes at GET /v1. Nothing is trusted from the page: a
 * reader who distrusts this gateway can compare the key with one obtained out
 * of band (it is shown next to the result).
 * @module
 */
import {
  type Hex,
  isChaosCoreError,
  openCheckpoint,
  type VerifiedReceipt,
  verifyReceipt,
} from "@chaoscore/core";

/** The outcome of a verification: what the receipt proves, or the failing step's code. */
export type Verdict =
  | { ok: true; result: VerifiedReceipt; attestationPolicy: boolean }
  | { ok: false; code: string; message: string };

/** The trust anchors a receipt is verified against. */
export type TrustAnchors = { verifierKey: string; trustedTeeRoots: readonly string[] };

/**
 * Verifies a receipt (JSON text or value). Never throws: an error becomes
 * `{ ok: false, code }` with the spec's code (RECEIPT_*).
 */
export function verify(receipt: unknown, anchors: TrustAnchors): Verdict {
  const roots = anchors.trustedTeeRoots;
  try {
    const result = verifyReceipt(
      receipt,
      anchors.verifierKey,
      roots.length === 0 ? {} : { attestation: { trustedRoots: roots as readonly Hex[] } },
    );
    return { ok: true, result, attestationPolicy: roots.length > 0 };
  } catch (error) {
    if (isChaosCoreError(error)) return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: "UNEXPECTED", message: String(error) };
  }
}

/** Checks a checkpoint's signed note under the log key: its size, or the error code. */
export function verifyCheckpointNote(
  note: string,
  verifierKey: string,
): { ok: true; size: number } | { ok: false; code: string } {
  try {
    return { ok: true, size: openCheckpoint(note, verifierKey).size };
  } catch (error) {
    return { ok: false, code: isChaosCoreError(error) ? error.code : "UNEXPECTED" };
  }
}
