import { ChaosCoreError } from "./errors.js";

/** Lowercase or mixed-case 0x-prefixed hex, as produced by Ethereum tooling. */
export type Hex = `0x${string}`;
/** A 20-byte Ethereum address. */
export type Address = `0x${string}`;

const HEX_RE = /^0x(?:[0-9a-f]{2})*$/;

// Core runs in browsers too (the explorer, any verifier a user bundles): Node's
// Buffer is used when it is there (it is faster), plain code otherwise, with
// the same results. No bundler needs a Buffer polyfill for @chaoscore/core.
type NodeBuffer = {
  from(
    data: Uint8Array | ArrayBufferLike | string,
    a?: number | string,
    b?: number,
  ): Uint8Array & {
    toString(encoding: string): string;
  };
  byteLength(text: string, encoding: "utf8"): number;
};
const NodeBuf = (globalThis as { Buffer?: NodeBuffer }).Buffer;
const HEX_DIGITS = "0123456789abcdef";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const encoder = new TextEncoder();

/** Lowercase hex of bytes, without the 0x prefix. */
export function hexOf(bytes: Uint8Array): string {
  if (NodeBuf !== undefined) {
    return NodeBuf.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
  }
  let out = "";
  for (const b of bytes) out += HEX_DIGITS[b >> 4] + (HEX_DIGITS[b & 15] as string);
  return out;
}

/** Bytes of lowercase hex without the 0x prefix (the caller checked the digits). */
function bytesOfHexDigits(hex: string): Uint8Array {
  if (NodeBuf !== undefined) return new Uint8Array(NodeBuf.from(hex, "hex"));
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The number of UTF-8 bytes of a string. */
export function utf8Length(text: string): number {
  return NodeBuf !== undefined ? NodeBuf.byteLength(text, "utf8") : encoder.encode(text).length;
}

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
  return bytesOfHexDigits(value.slice(2));
}

/**
 * Decodes lowercase hex without a prefix (key IDs and the like).
 * @throws ChaosCoreError INVALID_HEX when `value` is not lowercase hex of whole bytes.
 */
export function hexDigitsToBytes(value: string): Uint8Array {
  return hexToBytes(`0x${value}`);
}

/** Encodes bytes as lowercase 0x-hex. */
export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${hexOf(bytes)}`;
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
  if (typeof value === "string" && BASE64_RE.test(value) && noStrayBits(value)) {
    return decodeBase64(value);
  }
  throw new ChaosCoreError("INVALID_INPUT", "expected canonical padded base64");
}

/**
 * True when the last character before the padding carries no bits beyond the
 * data (4 unused bits before "==", 2 before "="): then the text is the one
 * encoding of its bytes (for text matched by BASE64_RE).
 */
function noStrayBits(text: string): boolean {
  if (!text.endsWith("=")) return true;
  const double = text.endsWith("==");
  const last = B64.indexOf(text.charAt(text.length - (double ? 3 : 2)));
  return (last & (double ? 0x0f : 0x03)) === 0;
}

/** Decodes base64 already matched by BASE64_RE. */
function decodeBase64(text: string): Uint8Array {
  if (NodeBuf !== undefined) return new Uint8Array(NodeBuf.from(text, "base64"));
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of clean) {
    value = (value << 6) | B64.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

/** Encodes bytes as standard padded base64. */
export function bytesToBase64(bytes: Uint8Array): string {
  if (NodeBuf !== undefined) {
    return NodeBuf.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | (b << 8) | c;
    out += (B64[(n >> 18) & 63] as string) + (B64[(n >> 12) & 63] as string);
    out += i + 1 < bytes.length ? (B64[(n >> 6) & 63] as string) : "=";
    out += i + 2 < bytes.length ? (B64[n & 63] as string) : "=";
  }
  return out;
}
