/**
 * A cache of signature verifications that succeeded, keyed by the SHA-256 of
 * everything the verification read (algorithm, public key, message,
 * signature). A signature check is a pure function of those bytes, so a hit
 * gives the answer the check would give; only successes are kept (a failure is
 * recomputed, so the cache cannot be filled by garbage that fails). Useful on
 * ingest, where every document of one enclave repeats the same certificate
 * chain and every TDX quote of a platform the same PCK chain, QE report and
 * collateral: with the cache only the evidence's own signature is checked
 * each time. Bounded: the oldest entries are dropped first.
 *
 * Not a cache of results: validity periods, revocation, names, policies and
 * the evidence's own signature (a new message each time) are checked on every
 * verification.
 *
 * @module
 */
import { sha256 } from "../hash.js";
import { bytesToHex } from "../hex.js";
import type { EcdsaVerifier } from "./ecdsa.js";

/** A bounded set of keys of verified signatures. */
export class SignatureCache {
  readonly #max: number;
  readonly #keys = new Set<string>();
  /** Hits and misses since creation (for benchmarks and metrics). */
  hits = 0;
  misses = 0;

  /** @param maxEntries most keys kept (default 4096; each ~100 bytes). */
  constructor(maxEntries = 4096) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError("maxEntries must be a positive integer");
    }
    this.#max = maxEntries;
  }

  /** The key of a verification: SHA-256 of its parts, each length-prefixed. */
  static key(parts: readonly (Uint8Array | string)[]): string {
    const bytes = parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : p));
    const total = bytes.reduce((n, b) => n + 4 + b.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const b of bytes) {
      new DataView(all.buffer).setUint32(at, b.length);
      all.set(b, at + 4);
      at += 4 + b.length;
    }
    return bytesToHex(sha256(all));
  }

  /** True when `verify()` succeeded for these parts before (it is not called then). */
  verify(parts: readonly (Uint8Array | string)[], verify: () => boolean): boolean {
    const key = SignatureCache.key(parts);
    if (this.#keys.has(key)) {
      this.hits++;
      return true;
    }
    this.misses++;
    if (!verify()) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.#max) {
      const oldest = this.#keys.values().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.#keys.size;
  }
}

/**
 * An ECDSA verifier that remembers the verifications `inner` accepted.
 * @example
 * ```ts
 * const cache = new SignatureCache();
 * const ecdsa = cachingEcdsaVerifier(nodeEcdsaVerifier, cache);
 * verifyNitroDocument(doc, { now, ecdsa }); // the chain is checked once per cabundle
 * ```
 */
export function cachingEcdsaVerifier(inner: EcdsaVerifier, cache: SignatureCache): EcdsaVerifier {
  return {
    name: `${inner.name} (cached)`,
    verify(curve, publicKey, message, signature) {
      return cache.verify([curve, publicKey, message, signature], () =>
        inner.verify(curve, publicKey, message, signature),
      );
    },
  };
}
