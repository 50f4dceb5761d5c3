/**
 * ECDSA verification behind a small interface, so that the real-TEE verifiers
 * run in Node (OpenSSL through node:crypto, fast) and in the browser explorer
 * (noble-curves, pure JavaScript) with the same code. Core's default is the
 * portable {@link nobleEcdsaVerifier}; Node callers that verify many documents
 * pass `nodeEcdsaVerifier` from `@chaoscore/core/tee/node-ecdsa`.
 *
 * @module
 */
import { p256, p384 } from "@noble/curves/nist.js";

/** The two curves real TEE evidence uses: P-256 (Intel) and P-384 (AWS Nitro, AMD). */
export type EcdsaCurve = "P-256" | "P-384";

/**
 * Verifies ECDSA signatures. `publicKey` is an uncompressed SEC1 point
 * (`0x04 ‖ X ‖ Y`), `signature` is `r ‖ s` (fixed width: 64 bytes on P-256,
 * 96 on P-384), and the message is hashed with SHA-256 (P-256) or SHA-384
 * (P-384) by the verifier. Never throws: anything malformed is `false`.
 */
export interface EcdsaVerifier {
  /** A short name shown in benchmarks and results. */
  readonly name: string;
  verify(
    curve: EcdsaCurve,
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean;
}

/** Byte length of a coordinate (and of r, s) per curve. */
export const CURVE_BYTES: Record<EcdsaCurve, number> = { "P-256": 32, "P-384": 48 };

/** Pure-JavaScript verifier (noble-curves); works everywhere, no I/O. */
export const nobleEcdsaVerifier: EcdsaVerifier = {
  name: "noble-curves",
  verify(curve, publicKey, message, signature) {
    const size = CURVE_BYTES[curve];
    if (signature.length !== 2 * size || publicKey.length !== 1 + 2 * size) return false;
    try {
      const impl = curve === "P-256" ? p256 : p384;
      // noble hashes the message with the curve's hash (prehash: true); lowS: false because
      // ECDSA as used by Intel, AWS and AMD does not normalise s.
      return impl.verify(signature, message, publicKey, { lowS: false, prehash: true });
    } catch {
      return false;
    }
  },
};

/**
 * Converts a DER ECDSA signature (`SEQUENCE { r INTEGER, s INTEGER }`, as in
 * X.509 certificates and CRLs) to fixed-width `r ‖ s`; null when it is not a
 * well-formed DER signature for the curve.
 */
export function derSignatureToRaw(der: Uint8Array, curve: EcdsaCurve): Uint8Array | null {
  const size = CURVE_BYTES[curve];
  let at = 0;
  const readLength = (): number | null => {
    const first = der[at++];
    if (first === undefined) return null;
    if (first < 0x80) return first;
    if (first !== 0x81) return null; // signatures are < 256 bytes
    const b = der[at++];
    return b === undefined || b < 0x80 ? null : b;
  };
  if (der[at++] !== 0x30) return null;
  const total = readLength();
  if (total === null || at + total !== der.length) return null;
  const out = new Uint8Array(2 * size);
  for (let k = 0; k < 2; k++) {
    if (der[at++] !== 0x02) return null;
    const len = readLength();
    if (len === null || len === 0 || at + len > der.length) return null;
    let value = der.subarray(at, at + len);
    at += len;
    // minimal encoding: a leading zero only before a byte with the top bit set
    if (value.length > 1 && value[0] === 0 && ((value[1] ?? 0) & 0x80) === 0) return null;
    if (((value[0] ?? 0) & 0x80) !== 0) return null; // negative
    if (value[0] === 0) value = value.subarray(1);
    if (value.length > size) return null;
    out.set(value, k * size + (size - value.length));
  }
  return at === der.length ? out : null;
}
