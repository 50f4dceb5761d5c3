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

/** Each ASCII code's value in the base64 alphabet; -1 for any other character. */
const B64_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUES[B64.charCodeAt(i)] = i;

/**
 * Decodes canonical standard base64 (RFC 4648 §4, padded). Non-canonical
 * encodings (stray bits in the last character) are refused, so that one value
 * has one text.
 * @throws ChaosCoreError INVALID_INPUT when `value` is not canonical base64.
 */
export function base64ToBytes(value: unknown): Uint8Array {
  const bytes = typeof value === "string" ? decodeCanonicalBase64(value) : null;
  if (bytes === null) throw new ChaosCoreError("INVALID_INPUT", "expected canonical padded base64");
  return bytes;
}

// One pass that checks and decodes, in Node as in browsers: a receipt decodes
// a dozen 44-character hashes, for which a regular expression, then Buffer,
// then a copy took twice as long (and the expression grows worse than
// linearly on long texts: 100 KB of evidence took 4 × as long).
function decodeCanonicalBase64(text: string): Uint8Array | null {
  const length = text.length;
  if (length % 4 !== 0) return null;
  if (length === 0) return new Uint8Array(0);
  const pad = text.charCodeAt(length - 1) !== 61 ? 0 : text.charCodeAt(length - 2) === 61 ? 2 : 1;
  const out = new Uint8Array((length / 4) * 3 - pad);
  const whole = length - 4; // the last quantum is the one that may be padded
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const n = quantum(text, i, 4);
    if (n < 0) return null;
    out[o] = n >>> 16;
    out[o + 1] = (n >>> 8) & 0xff;
    out[o + 2] = n & 0xff;
    o += 3;
  }
  const n = quantum(text, whole, 4 - pad);
  // stray bits: the data bits of the last quantum end before its last character's bits do
  if (n < 0 || (pad === 2 && (n & 0xffff) !== 0) || (pad === 1 && (n & 0xff) !== 0)) return null;
  out[o] = n >>> 16;
  if (pad < 2) out[o + 1] = (n >>> 8) & 0xff;
  if (pad < 1) out[o + 2] = n & 0xff;
  return out;
}

/**
 * The 24 bits of the quantum at `start` whose first `count` characters are
 * base64 digits (the rest, padding, count as zero); -1 when one is not.
 */
function quantum(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    let digit = 0;
    if (i < count) {
      const code = text.charCodeAt(start + i);
      digit = code < 128 ? (B64_VALUES[code] as number) : -1;
      if (digit < 0) return -1;
    }
    n = (n << 6) | digit;
  }
  return n;
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
