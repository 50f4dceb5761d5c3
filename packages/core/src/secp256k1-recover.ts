import { secp256k1 } from "@noble/curves/secp256k1.js";

/**
 * A secp256k1 public-key recovery implementation. Core ships a pure-JavaScript
 * one (noble-curves), so that it runs anywhere, the browser included; a Node
 * process may install a faster one (the engine installs libsecp256k1 through
 * the npm package `secp256k1` when its native binary loads).
 *
 * Callers have already checked the signature is canonical (see
 * `parseSignature`: 0 < r < n, 0 < s ≤ n/2, recovery 0 or 1), so every
 * implementation sees the same, well-formed inputs and must return the same
 * key for them, bit for bit.
 */
export type Secp256k1Recovery = {
  /** Short name for logs and benchmarks, e.g. "libsecp256k1 (native)". */
  name: string;
  /**
   * The uncompressed (65-byte, 0x04-prefixed) public key that made the
   * 64-byte compact signature `r ‖ s` with `recovery` over the 32-byte
   * `digest`, or null when no key recovers.
   */
  recoverPublicKey(digest: Uint8Array, compact: Uint8Array, recovery: 0 | 1): Uint8Array | null;
};

/** The pure-JavaScript recovery (noble-curves): the default, and the fallback. */
export const nobleRecovery: Secp256k1Recovery = {
  name: "noble-curves (JavaScript)",
  recoverPublicKey(digest, compact, recovery) {
    try {
      const sig = new Uint8Array(65);
      sig[0] = recovery;
      sig.set(compact, 1);
      const compressed = secp256k1.recoverPublicKey(sig, digest, { prehash: false });
      return secp256k1.Point.fromBytes(compressed).toBytes(false);
    } catch {
      return null;
    }
  },
};

let current: Secp256k1Recovery = nobleRecovery;

/**
 * Replaces the recovery used by `recoverPublicKey`, `recoverAddress` and
 * everything built on them (entry and receipt verification); `null` restores
 * the JavaScript default.
 * @example
 * setSecp256k1Recovery(nativeRecovery) // in a Node process that has one
 */
export function setSecp256k1Recovery(recovery: Secp256k1Recovery | null): void {
  current = recovery ?? nobleRecovery;
}

/** The recovery in use (see {@link setSecp256k1Recovery}). */
export function getSecp256k1Recovery(): Secp256k1Recovery {
  return current;
}
