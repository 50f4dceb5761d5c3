/**
 * RSASSA-PSS signature verification (RFC 8017 §8.1.2, EMSA-PSS-VERIFY §9.1.2)
 * with SHA-384, MGF1-SHA-384 and a 48-byte salt: the scheme AMD's KDS signs
 * the SEV-SNP certificates with (ARK → ASK → VCEK). Pure JavaScript (BigInt
 * modular exponentiation; e is small, so a verification is ~17 modular
 * multiplications), so that it runs in the browser like the rest of core.
 *
 * @module
 */
import { sha384 } from "@noble/hashes/sha2.js";

/** An RSA public key: modulus and exponent, big-endian bytes without sign padding. */
export type RsaPublicKey = { n: Uint8Array; e: Uint8Array };

const HASH_BYTES = 48;

const toBigInt = (bytes: Uint8Array): bigint => {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex === "" ? 0n : BigInt(`0x${hex}`);
};

function toBytes(value: bigint, length: number): Uint8Array | null {
  const hex = value.toString(16);
  if (hex.length > 2 * length) return null;
  const padded = hex.padStart(2 * length, "0");
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number.parseInt(padded.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    e >>= 1n;
    if (e > 0n) b = (b * b) % modulus;
  }
  return result;
}

function mgf1(seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const block = new Uint8Array(seed.length + 4);
  block.set(seed);
  for (let counter = 0, at = 0; at < length; counter++, at += HASH_BYTES) {
    block[seed.length] = counter >>> 24;
    block[seed.length + 1] = (counter >>> 16) & 0xff;
    block[seed.length + 2] = (counter >>> 8) & 0xff;
    block[seed.length + 3] = counter & 0xff;
    out.set(sha384(block).subarray(0, Math.min(HASH_BYTES, length - at)), at);
  }
  return out;
}

/**
 * True when `signature` is an RSASSA-PSS (SHA-384, MGF1-SHA-384, salt
 * `saltLength` bytes, trailer 0xbc) signature of `message` under `key`.
 * Never throws: a malformed key or signature is `false`.
 * @example verifyRsaPssSha384(ask.rsaKey, vcek.tbs, vcek.signature)
 */
export function verifyRsaPssSha384(
  key: RsaPublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  saltLength = HASH_BYTES,
): boolean {
  const n = toBigInt(key.n);
  const e = toBigInt(key.e);
  if (n < 3n || e < 3n || (e & 1n) === 0n) return false;
  const modBits = n.toString(2).length;
  const k = Math.ceil(modBits / 8);
  if (signature.length !== k) return false;
  const s = toBigInt(signature);
  if (s >= n) return false;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const em = toBytes(modPow(s, e, n), emLen);
  if (em === null) return false;
  // EMSA-PSS-VERIFY
  if (emLen < HASH_BYTES + saltLength + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - HASH_BYTES - 1);
  const h = em.subarray(emLen - HASH_BYTES - 1, emLen - 1);
  const zeroBits = 8 * emLen - emBits;
  if (((maskedDb[0] as number) & (0xff << (8 - zeroBits)) & 0xff) !== 0) return false;
  const mask = mgf1(h, maskedDb.length);
  const db = maskedDb.map((b, i) => b ^ (mask[i] as number));
  db[0] = (db[0] as number) & (0xff >>> zeroBits);
  const psLen = emLen - HASH_BYTES - saltLength - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - saltLength);
  const mPrime = new Uint8Array(8 + HASH_BYTES + saltLength);
  mPrime.set(sha384(message), 8);
  mPrime.set(salt, 8 + HASH_BYTES);
  const expected = sha384(mPrime);
  let diff = 0;
  for (let i = 0; i < HASH_BYTES; i++) diff |= (expected[i] as number) ^ (h[i] as number);
  return diff === 0;
}
