import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, type Hex } from "./hex.js";

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** SHA-256 of bytes (or of a string's UTF-8 bytes). */
export function sha256(data: Uint8Array | string): Uint8Array {
  return nobleSha256(typeof data === "string" ? utf8(data) : data);
}

/** Keccak-256 (Ethereum's hash) of bytes (or of a string's UTF-8 bytes). */
export function keccak256(data: Uint8Array | string): Uint8Array {
  return keccak_256(typeof data === "string" ? utf8(data) : data);
}

/** SHA-256 as 0x-hex. */
export function sha256Hex(data: Uint8Array | string): Hex {
  return bytesToHex(sha256(data));
}

/** Keccak-256 as 0x-hex. */
export function keccak256Hex(data: Uint8Array | string): Hex {
  return bytesToHex(keccak256(data));
}
