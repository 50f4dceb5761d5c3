/**
 * Ed25519 by node:crypto (OpenSSL) for server processes: the same signatures
 * as @noble/curves, tens of times faster. Core keeps noble by default (it
 * runs in browsers); `createEngine` installs this one (the log signs a
 * checkpoint with every batch), and so does a witness (`@chaoscore/witness`).
 * @module
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { type Ed25519Backend, setEd25519Backend } from "@chaoscore/core";
import { ed25519 } from "@noble/curves/ed25519.js";

// DER wrappers of a raw 32-byte Ed25519 key (RFC 8410): PKCS #8 for the seed, SPKI for the public key.
const PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI = Buffer.from("302a300506032b6570032100", "hex");

function cached<T>(make: (raw: Buffer) => T) {
  const memo = new Map<string, T>();
  return (raw: Uint8Array): T => {
    const hex = Buffer.from(raw).toString("hex");
    let key = memo.get(hex);
    if (key === undefined) {
      key = make(Buffer.from(raw));
      if (memo.size >= 256) memo.clear();
      memo.set(hex, key);
    }
    return key;
  };
}

const privateKey = cached((seed) =>
  createPrivateKey({ key: Buffer.concat([PKCS8, seed]), format: "der", type: "pkcs8" }),
);
// OpenSSL accepts keys of small order (for which forged signatures exist);
// RFC 8032 strict verification, as noble does it, refuses them: so do we.
const publicKey = cached((pub): KeyObject | null => {
  try {
    if (ed25519.Point.fromBytes(pub).isSmallOrder()) return null;
  } catch {
    return null;
  }
  return createPublicKey({ key: Buffer.concat([SPKI, pub]), format: "der", type: "spki" });
});

/** Ed25519 through node:crypto. */
export const NODE_ED25519: Ed25519Backend = {
  name: "node:crypto",
  sign: (message, seed) => new Uint8Array(sign(null, message, privateKey(seed))),
  verify: (signature, message, pub) => {
    try {
      const key = publicKey(pub);
      return key !== null && verify(null, message, key, signature);
    } catch {
      return false;
    }
  },
};

/**
 * Makes this process sign and verify notes and cosignatures with node:crypto.
 * @example
 * ```ts
 * useNodeEd25519(); // before serving a witness
 * ```
 */
export function useNodeEd25519(): void {
  setEd25519Backend(NODE_ED25519);
}
