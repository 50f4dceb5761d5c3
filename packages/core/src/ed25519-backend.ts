/**
 * Ed25519 signing and verification for signed notes and cosignatures, with a
 * swappable implementation. The default is @noble/curves (pure JavaScript,
 * runs in browsers: the explorer verifies receipts with it); server
 * processes may install a native one (node:crypto, tens of times faster),
 * e.g. `useNodeEd25519()` of `@chaoscore/witness`. Both sign the same bytes
 * (Ed25519 is deterministic) and verify by RFC 8032.
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";

/** An Ed25519 implementation. `seed` is the 32-byte private key, `publicKey` 32 bytes. */
export type Ed25519Backend = {
  readonly name: string;
  sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
};

/** @noble/curves, strict RFC 8032 verification (no ZIP 215). */
export const NOBLE_ED25519: Ed25519Backend = {
  name: "noble",
  sign: (message, seed) => ed25519.sign(message, seed),
  verify: (signature, message, publicKey) => {
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

let backend: Ed25519Backend = NOBLE_ED25519;

/**
 * Installs the Ed25519 implementation notes and cosignatures use in this
 * process (and returns the previous one).
 * @example
 * ```ts
 * setEd25519Backend(myNativeBackend);
 * ```
 */
export function setEd25519Backend(next: Ed25519Backend): Ed25519Backend {
  const previous = backend;
  backend = next;
  return previous;
}

/** The installed Ed25519 implementation. */
export function ed25519Backend(): Ed25519Backend {
  return backend;
}

/** Signs with the installed implementation. */
export function ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return backend.sign(message, seed);
}

/** Verifies with the installed implementation; false for a malformed signature. */
export function ed25519Verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  return backend.verify(signature, message, publicKey);
}

/** A small memo of parsed keys (key text → parsed), bounded. */
export function keyMemo<T>(parse: (key: string) => T, limit = 64): (key: string) => T {
  const memo = new Map<string, T>();
  return (key: string) => {
    const hit = typeof key === "string" ? memo.get(key) : undefined;
    if (hit !== undefined) return hit;
    const parsed = parse(key);
    if (memo.size >= limit) memo.clear();
    memo.set(key, parsed);
    return parsed;
  };
}
