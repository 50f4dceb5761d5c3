/**
 * The Ed25519 key encodings shared by signed notes (note.ts, signature type
 * 0x01) and witness cosignatures (cosignature.ts, type 0x04): one parser,
 * parameterised by the signature type byte and the error code of a malformed key.
 *
 * - verifier key: `<name>+<key ID, 8 hex>+<base64(type ‖ 32-byte public key)>`
 * - signer key:   `PRIVATE+KEY+<name>+<key ID>+<base64(type ‖ 32-byte seed)>`
 * - key ID:       first 4 bytes of SHA-256(name ‖ "\n" ‖ type ‖ public key)
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { ChaosCoreError } from "./errors.js";
import { sha256, utf8 } from "./hash.js";
import { base64ToBytes, bytesToBase64, concatBytes, hexOf } from "./hex.js";

/** Which keys: their signature type byte, and how a malformed one is reported. */
export type KeyScheme = {
  /** The signature type byte that prefixes the key and enters the key ID. */
  readonly alg: number;
  /** The code of the error a malformed key fails with. */
  readonly code: "NOTE_MALFORMED" | "COSIGNATURE_MALFORMED";
  /** What the keys are called in messages, before "signer key" (e.g. "witness "). */
  readonly kind: string;
};

/** A parsed verifier key. `keyId` is 8 lowercase hex digits. */
export type ParsedVerifierKey = {
  readonly name: string;
  readonly keyId: string;
  readonly publicKey: Uint8Array;
};

/** A parsed signer key: the verifier key plus the 32-byte Ed25519 seed. */
export type ParsedSignerKey = ParsedVerifierKey & { readonly seed: Uint8Array };

const PRIVATE_PREFIX = "PRIVATE+KEY+";
const KEY_ID_RE = /^[0-9a-f]{8}$/;
// Lone surrogates cannot be encoded as UTF-8.
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NAME_FORBIDDEN_RE = /[\p{White_Space}+]/u;

/** True when `s` contains an ASCII control character (below U+0020) other than newline. */
export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** True when `s` is well-formed UTF-16 (no lone surrogate), so that it has a UTF-8 encoding. */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE_RE.test(s);
}

/**
 * True when `name` is a valid key name: non-empty, well-formed Unicode, with
 * no Unicode space, no plus sign and no control character.
 * @example
 * ```ts
 * isValidNoteKeyName("chaoscore.local/log/default"); // true
 * isValidNoteKeyName("a b"); // false
 * ```
 */
export function isValidNoteKeyName(name: unknown): name is string {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    !NAME_FORBIDDEN_RE.test(name) &&
    !hasControlCharacter(name) &&
    isWellFormedText(name)
  );
}

function malformed(scheme: KeyScheme, message: string, cause?: unknown): ChaosCoreError {
  return new ChaosCoreError(scheme.code, message, cause === undefined ? {} : { cause });
}

/** @throws ChaosCoreError `scheme.code` when `name` is not a valid key name ({@link isValidNoteKeyName}). */
export function assertKeyName(scheme: KeyScheme, name: unknown): asserts name is string {
  if (!isValidNoteKeyName(name)) {
    throw malformed(
      scheme,
      "a key name is non-empty and has no spaces, plus signs or control characters",
    );
  }
}

/**
 * The key ID of an Ed25519 key: hex of SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4].
 * @throws ChaosCoreError `scheme.code` when the name is invalid or the key is not 32 bytes.
 */
export function keyIdOf(scheme: KeyScheme, name: string, publicKey: Uint8Array): string {
  assertKeyName(scheme, name);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw malformed(scheme, "an Ed25519 public key is 32 bytes");
  }
  const digest = sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, scheme.alg), publicKey));
  return hexOf(digest.subarray(0, 4));
}

/** base64(type ‖ key). */
function encodeKey(scheme: KeyScheme, key: Uint8Array): string {
  return bytesToBase64(concatBytes(Uint8Array.of(scheme.alg), key));
}

/**
 * Creates a key pair named `name` (random, or derived from a 32-byte `seed`).
 * @throws ChaosCoreError `scheme.code` when the name is invalid or the seed is not 32 bytes.
 */
export function generateKeyPair(
  scheme: KeyScheme,
  name: string,
  seed?: Uint8Array,
): { signerKey: string; verifierKey: string } {
  assertKeyName(scheme, name);
  if (seed !== undefined && (!(seed instanceof Uint8Array) || seed.length !== 32)) {
    throw malformed(scheme, "an Ed25519 seed is 32 bytes");
  }
  const secret = seed === undefined ? ed25519.utils.randomSecretKey() : seed.slice();
  const publicKey = ed25519.getPublicKey(secret);
  const keyId = keyIdOf(scheme, name, publicKey);
  return {
    signerKey: `${PRIVATE_PREFIX}${name}+${keyId}+${encodeKey(scheme, secret)}`,
    verifierKey: `${name}+${keyId}+${encodeKey(scheme, publicKey)}`,
  };
}

/** Splits `<name>+<keyid>+<base64(type ‖ 32 bytes)>` (the base64 may itself contain "+"). */
function splitKey(scheme: KeyScheme, value: string, what: string): [string, string, Uint8Array] {
  const first = value.indexOf("+");
  const second = first < 0 ? -1 : value.indexOf("+", first + 1);
  if (second < 0) throw malformed(scheme, `a ${what} has the form <name>+<keyid>+<key>`);
  const name = value.slice(0, first);
  const keyId = value.slice(first + 1, second);
  assertKeyName(scheme, name);
  if (!KEY_ID_RE.test(keyId)) {
    throw malformed(scheme, `a ${what}'s key ID is 8 lowercase hex digits`);
  }
  let key: Uint8Array;
  try {
    key = base64ToBytes(value.slice(second + 1));
  } catch (cause) {
    throw malformed(scheme, `a ${what}'s key is not canonical base64`, cause);
  }
  if (key[0] !== scheme.alg) {
    const alg = `0x${scheme.alg.toString(16).padStart(2, "0")}`;
    throw malformed(scheme, `the ${what} is not an Ed25519 (${alg}) key`);
  }
  if (key.length !== 33) throw malformed(scheme, `an Ed25519 ${what} holds 32 bytes`);
  return [name, keyId, key.slice(1)];
}

/**
 * Parses a verifier key `<name>+<keyid>+<base64(type ‖ public key)>`.
 * @throws ChaosCoreError `scheme.code` when the key is malformed, not a valid
 * Ed25519 point, or its key ID does not match.
 */
export function parseVerifierKeyOf(scheme: KeyScheme, verifierKey: string): ParsedVerifierKey {
  const what = `${scheme.kind}verifier key`;
  if (typeof verifierKey !== "string") throw malformed(scheme, `a ${what} is a string`);
  const [name, keyId, publicKey] = splitKey(scheme, verifierKey, what);
  if (!ed25519.utils.isValidPublicKey(publicKey, false)) {
    throw malformed(scheme, `the ${what} is not a valid Ed25519 public key`);
  }
  if (keyIdOf(scheme, name, publicKey) !== keyId) {
    throw malformed(scheme, `the ${what}'s ID does not match its name and public key`);
  }
  return { name, keyId, publicKey };
}

/**
 * Parses a signer key `PRIVATE+KEY+<name>+<keyid>+<base64(type ‖ seed)>`; the
 * key ID must match the public key derived from the seed.
 * @throws ChaosCoreError `scheme.code` when the key is malformed or its key ID does not match.
 */
export function parseSignerKeyOf(scheme: KeyScheme, signerKey: string): ParsedSignerKey {
  const what = `${scheme.kind}signer key`;
  if (typeof signerKey !== "string" || !signerKey.startsWith(PRIVATE_PREFIX)) {
    throw malformed(scheme, `a ${what} starts with ${PRIVATE_PREFIX}`);
  }
  const [name, keyId, seed] = splitKey(scheme, signerKey.slice(PRIVATE_PREFIX.length), what);
  const publicKey = ed25519.getPublicKey(seed);
  if (keyIdOf(scheme, name, publicKey) !== keyId) {
    throw malformed(scheme, `the ${what}'s ID does not match its name and public key`);
  }
  return { name, keyId, publicKey, seed };
}

/**
 * The verifier key that matches a signer key.
 * @throws ChaosCoreError `scheme.code` when the signer key is malformed.
 */
export function verifierKeyOf(scheme: KeyScheme, signerKey: string): string {
  const { name, keyId, publicKey } = parseSignerKeyOf(scheme, signerKey);
  return `${name}+${keyId}+${encodeKey(scheme, publicKey)}`;
}
