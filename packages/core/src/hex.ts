import { ChaosCoreError } from "./errors.js";

/** Lowercase or mixed-case 0x-prefixed hex, as produced by Ethereum tooling. */
export type Hex = `0x${string}`;
/** A 20-byte Ethereum address. */
export type Address = `0x${string}`;

const HEX_RE = /^0x(?:[0-9a-f]{2})*$/;

/** True when `value` is lowercase 0x-hex of whole bytes (and `bytes` long, if given). */
export function isHex(value: unknown, bytes?: number): value is Hex {
  return (
    typeof value === "string" &&
    HEX_RE.test(value) &&
    (bytes === undefined || value.length === 2 + 2 * bytes)
  );
}

/**
 * Decodes strict lowercase 0x-hex.
 * @throws ChaosCoreError INVALID_HEX when `value` is not lowercase hex of `bytes` bytes.
 */
export function hexToBytes(value: unknown, bytes?: number): Uint8Array {
  if (!isHex(value, bytes)) {
    throw new ChaosCoreError(
      "INVALID_HEX",
      bytes === undefined
        ? "expected lowercase 0x-prefixed hex"
        : `expected lowercase 0x-prefixed hex of ${bytes} bytes`,
      { details: { value: typeof value === "string" ? value.slice(0, 80) : typeof value } },
    );
  }
  return Uint8Array.from(Buffer.from(value.slice(2), "hex"));
}

/** Encodes bytes as lowercase 0x-hex. */
export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Constant-shape byte equality (not constant-time; for public data only). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes canonical standard base64 (RFC 4648 §4, padded). Non-canonical
 * encodings (stray bits in the last character) are refused, so that one value
 * has one text.
 * @throws ChaosCoreError INVALID_INPUT when `value` is not canonical base64.
 */
export function base64ToBytes(value: unknown): Uint8Array {
  if (typeof value === "string" && BASE64_RE.test(value)) {
    const bytes = Buffer.from(value, "base64");
    if (bytes.toString("base64") === value) return Uint8Array.from(bytes);
  }
  throw new ChaosCoreError("INVALID_INPUT", "expected canonical padded base64");
}

/** Encodes bytes as standard padded base64. */
export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
