import { createKeccak, createSHA256 } from "hash-wasm";
import { bytesToHex, type Hex } from "./hex.js";

// Keccak-256 and SHA-256 compiled to WebAssembly (hash-wasm): 5–8× faster than
// pure JavaScript on the small inputs EIP-712 and the Merkle tree hash, which
// is most of the CPU time of ingest. The hashers are created once (this module
// uses top-level await) and reset per call; JavaScript is single-threaded, so
// a call never interleaves with another.
const keccakHasher = await createKeccak(256);
const sha256Hasher = await createSHA256();

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

// In Node (≥ 20.12), SHA-256 of more than a few hundred bytes is faster in
// OpenSSL (one-shot `crypto.hash`): 2.1 vs 3.7 µs for a 700-byte leaf, the
// same for a 65-byte node; as hex, at any size (no Buffer to encode). Looked up through `process.getBuiltinModule`, so no
// bundler sees node:crypto; browsers keep hash-wasm (or its noble shim).
type OneShotHash = {
  (algorithm: string, data: Uint8Array | string, encoding: "buffer"): Uint8Array;
  (algorithm: string, data: Uint8Array | string, encoding: "hex"): string;
};
const nodeHash = (
  (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
  ).process?.getBuiltinModule?.("node:crypto") as { hash?: OneShotHash } | undefined
)?.hash;
const NATIVE_FROM = 256;

/** SHA-256 of bytes (or of a string's UTF-8 bytes). */
export function sha256(data: Uint8Array | string): Uint8Array {
  // a string of ≥ 256 UTF-16 units has ≥ 256 UTF-8 bytes: OpenSSL encodes and hashes it in one call
  if (nodeHash !== undefined && data.length >= NATIVE_FROM) {
    return new Uint8Array(nodeHash("sha256", data, "buffer"));
  }
  sha256Hasher.init();
  sha256Hasher.update(data);
  return sha256Hasher.digest("binary");
}

/** SHA-256 of the concatenation of `parts`, without copying them into one array where it can. */
export function sha256Concat(parts: readonly Uint8Array[]): Uint8Array {
  if (nodeHash !== undefined) {
    let length = 0;
    for (const part of parts) length += part.length;
    if (length >= NATIVE_FROM) {
      const all = new Uint8Array(length);
      let offset = 0;
      for (const part of parts) {
        all.set(part, offset);
        offset += part.length;
      }
      return new Uint8Array(nodeHash("sha256", all, "buffer"));
    }
  }
  sha256Hasher.init();
  for (const part of parts) sha256Hasher.update(part);
  return sha256Hasher.digest("binary");
}

/** Keccak-256 (Ethereum's hash) of bytes (or of a string's UTF-8 bytes). */
export function keccak256(data: Uint8Array | string): Uint8Array {
  keccakHasher.init();
  keccakHasher.update(data);
  return keccakHasher.digest("binary");
}

/** SHA-256 as 0x-hex. */
export function sha256Hex(data: Uint8Array | string): Hex {
  // OpenSSL's one-shot hex, at any size: 0.30 vs 1.18 µs for a 50-byte payload
  if (nodeHash !== undefined) return `0x${nodeHash("sha256", data, "hex")}`;
  return bytesToHex(sha256(data));
}

/** Keccak-256 as 0x-hex. */
export function keccak256Hex(data: Uint8Array | string): Hex {
  return bytesToHex(keccak256(data));
}
