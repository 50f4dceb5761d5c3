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

/** SHA-256 of bytes (or of a string's UTF-8 bytes). */
export function sha256(data: Uint8Array | string): Uint8Array {
  sha256Hasher.init();
  sha256Hasher.update(data);
  return sha256Hasher.digest("binary");
}

/** SHA-256 of the concatenation of `parts`, without copying them into one array. */
export function sha256Concat(parts: readonly Uint8Array[]): Uint8Array {
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
  return bytesToHex(sha256(data));
}

/** Keccak-256 as 0x-hex. */
export function keccak256Hex(data: Uint8Array | string): Hex {
  return bytesToHex(keccak256(data));
}
