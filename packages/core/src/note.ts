/**
 * C2SP signed notes (https://c2sp.org/signed-note), Ed25519 only, with the
 * key encodings of golang.org/x/mod/sumdb/note:
 *
 * - verifier key: `<name>+<key ID, 8 hex>+<base64(0x01 ‖ 32-byte public key)>`
 * - signer key:   `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 ‖ 32-byte seed)>`
 * - key ID:       first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)
 * - signed note:  text (ending in "\n"), a blank line, then one line per
 *                 signature: `— <name> <base64(key ID ‖ signature)>\n`
 *
 * @module
 */
import { ed25519Sign, ed25519Verify, keyMemo } from "./ed25519-backend.js";
import { ChaosCoreError } from "./errors.js";
import { utf8 } from "./hash.js";
import {
  base64ToBytes,
  bytesToBase64,
  concatBytes,
  hexDigitsToBytes,
  hexOf,
  utf8Length,
} from "./hex.js";
import {
  assertKeyName,
  generateKeyPair,
  hasControlCharacter,
  isWellFormedText,
  type KeyScheme,
  keyIdOf,
  type ParsedSignerKey,
  type ParsedVerifierKey,
  parseSignerKeyOf,
  parseVerifierKeyOf,
  verifierKeyOf,
} from "./note-keys.js";

export { hasControlCharacter, isValidNoteKeyName, isWellFormedText } from "./note-keys.js";

/** Largest signed note accepted or produced, in UTF-8 bytes (1 MiB). */
export const MAX_NOTE_SIZE = 1024 * 1024;
/** Most signature lines accepted on a note (the spec requires at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

/** Note keys: signature type 0x01 (Ed25519 in the signed-note spec). */
const NOTE_KEYS: KeyScheme = { alg: 0x01, code: "NOTE_MALFORMED", kind: "" };
const SIG_PREFIX = "\u2014 "; // em dash, space

/** A parsed verifier key. `keyId` is 8 lowercase hex digits. */
export type NoteVerifierKey = ParsedVerifierKey;

/** A parsed signer key: the verifier key plus the 32-byte Ed25519 seed. */
export type NoteSignerKey = ParsedSignerKey;

/** One signature line of a note. `verified` is true for lines checked against a trusted key. */
export type NoteSignature = {
  readonly name: string;
  readonly keyId: string;
  readonly signature: Uint8Array;
  readonly verified: boolean;
};

/** An opened (verified) note. */
export type OpenedNote = {
  /** The signed text, including its final newline. */
  readonly text: string;
  /** Every signature line, in order; lines by unknown keys have `verified: false`. */
  readonly signatures: readonly NoteSignature[];
};

/**
 * The key ID of an Ed25519 key: hex of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ publicKey)[:4].
 * @throws ChaosCoreError NOTE_MALFORMED when the name is invalid or the key is not 32 bytes.
 * @example
 * ```ts
 * noteKeyId("PeterNeumann", publicKey); // "c74f20a3"
 * ```
 */
export function noteKeyId(name: string, publicKey: Uint8Array): string {
  return keyIdOf(NOTE_KEYS, name, publicKey);
}

/**
 * Creates an Ed25519 note key named `name` (random, or derived from a 32-byte
 * `seed` for reproducible tests and examples).
 * @throws ChaosCoreError NOTE_MALFORMED when the name is invalid or the seed is not 32 bytes.
 * @example
 * ```ts
 * const { signerKey, verifierKey } = generateNoteKey("chaoscore.local/log/default");
 * ```
 */
export function generateNoteKey(
  name: string,
  seed?: Uint8Array,
): { signerKey: string; verifierKey: string } {
  return generateKeyPair(NOTE_KEYS, name, seed);
}

/**
 * Parses a verifier key `<name>+<keyid>+<base64(0x01 ‖ public key)>`.
 * @throws ChaosCoreError NOTE_MALFORMED when the key is not a well-formed
 * Ed25519 verifier key or its key ID does not match.
 * @example
 * ```ts
 * parseVerifierKey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").name;
 * ```
 */
export function parseVerifierKey(verifierKey: string): NoteVerifierKey {
  return parseVerifierKeyOf(NOTE_KEYS, verifierKey);
}

/**
 * Parses a signer key `PRIVATE+KEY+<name>+<keyid>+<base64(0x01 ‖ seed)>`.
 * The key ID must match the public key derived from the seed.
 * @throws ChaosCoreError NOTE_MALFORMED when the key is not a well-formed
 * Ed25519 signer key or its key ID does not match.
 * @example
 * ```ts
 * const { name, keyId } = parseSignerKey(process.env.LOG_SIGNER_KEY!);
 * ```
 */
export function parseSignerKey(signerKey: string): NoteSignerKey {
  return parseSignerKeyOf(NOTE_KEYS, signerKey);
}

/**
 * The verifier key that matches a signer key.
 * @throws ChaosCoreError NOTE_MALFORMED when the signer key is malformed.
 * @example
 * ```ts
 * const published = verifierKeyFromSignerKey(signerKey);
 * ```
 */
export function verifierKeyFromSignerKey(signerKey: string): string {
  return verifierKeyOf(NOTE_KEYS, signerKey);
}

/**
 * Signs `text` with one or more signer keys and returns the signed note
 * (text, blank line, one signature line per key).
 * @throws ChaosCoreError NOTE_MALFORMED when the text is empty, does not end
 * in "\n", contains a control character other than "\n" or a lone surrogate,
 * or the note would exceed {@link MAX_NOTE_SIZE}; or when a key is malformed.
 * @example
 * ```ts
 * const note = signNote("hello\n", signerKey);
 * // "hello\n\n— name AbCd…=\n"
 * ```
 */
export function signNote(text: string, signerKey: string | readonly string[]): string {
  assertText(text);
  const keys = typeof signerKey === "string" ? [signerKey] : signerKey;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`a note is signed by 1 to ${MAX_NOTE_SIGNATURES} keys`);
  }
  const message = utf8(text);
  let lines = "";
  for (const key of keys) {
    const { name, keyId, seed } = parsedSignerKey(key);
    const signature = ed25519Sign(message, seed);
    lines += `${SIG_PREFIX}${name} ${bytesToBase64(concatBytes(hexDigitsToBytes(keyId), signature))}\n`;
  }
  const note = `${text}\n${lines}`;
  if (utf8Length(note) > MAX_NOTE_SIZE) {
    throw malformed(`the signed note exceeds ${MAX_NOTE_SIZE} bytes`);
  }
  return note;
}

/**
 * Parses a signed note and verifies it against the trusted verifier key(s).
 * Signatures by unknown keys are ignored (returned with `verified: false`), as
 * the spec requires; every signature whose name and key ID match a trusted key
 * must verify, and at least one must be present.
 * @throws ChaosCoreError NOTE_MALFORMED when the note or a verifier key is
 * malformed: not UTF-8, over {@link MAX_NOTE_SIZE} bytes, a control character
 * other than "\n" (e.g. "\r"), no blank line before the signatures, a
 * malformed signature line, or more than {@link MAX_NOTE_SIGNATURES} lines.
 * @throws ChaosCoreError NOTE_SIGNATURE_INVALID when a signature by a trusted
 * key fails, or no trusted key signed the note.
 * @example
 * ```ts
 * const { text } = openNote(signedNote, verifierKey);
 * ```
 */
export function openNote(
  signedNote: string | Uint8Array,
  verifierKey: string | readonly string[],
): OpenedNote {
  const trusted = (typeof verifierKey === "string" ? [verifierKey] : verifierKey).map((k) =>
    parsedVerifierKey(k),
  );
  const note = decodeNote(signedNote);
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw malformed("no blank line separates the text from the signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith("\n")) {
    throw malformed("the signature block is empty or does not end in a newline");
  }
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`the note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  }
  const message = utf8(text);
  const signatures: NoteSignature[] = [];
  let verifiedCount = 0;
  for (const line of lines) {
    const { name, keyId, signature } = parseSignatureLine(line);
    const key = trusted.find((k) => k.name === name && k.keyId === keyId);
    if (key !== undefined) {
      if (!verifyEd25519(signature, message, key.publicKey)) {
        throw new ChaosCoreError(
          "NOTE_SIGNATURE_INVALID",
          `the signature by ${name}+${keyId} does not verify`,
          { details: { name, keyId } },
        );
      }
      verifiedCount++;
    }
    signatures.push({ name, keyId, signature, verified: key !== undefined });
  }
  if (verifiedCount === 0) {
    throw new ChaosCoreError("NOTE_SIGNATURE_INVALID", "the note is not signed by a trusted key", {
      details: { trusted: trusted.map((k) => `${k.name}+${k.keyId}`) },
    });
  }
  return { text, signatures };
}

// ---- helpers ----------------------------------------------------------------------------------

function malformed(message: string): ChaosCoreError<"NOTE_MALFORMED"> {
  return new ChaosCoreError("NOTE_MALFORMED", message);
}

function assertText(text: unknown): asserts text is string {
  if (typeof text !== "string" || text.length === 0 || !text.endsWith("\n")) {
    throw malformed("a note text is a non-empty string ending in a newline");
  }
  if (hasControlCharacter(text) || !isWellFormedText(text)) {
    throw malformed("a note text is UTF-8 with no control character other than newline");
  }
  if (utf8Length(text) > MAX_NOTE_SIZE) {
    throw malformed(`the note text exceeds ${MAX_NOTE_SIZE} bytes`);
  }
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeNote(input: unknown): string {
  let note: string;
  if (input instanceof Uint8Array) {
    if (input.length > MAX_NOTE_SIZE) throw malformed(`the note exceeds ${MAX_NOTE_SIZE} bytes`);
    try {
      note = fatalDecoder.decode(input);
    } catch (cause) {
      throw new ChaosCoreError("NOTE_MALFORMED", "the note is not valid UTF-8", { cause });
    }
  } else if (typeof input === "string") {
    if (!isWellFormedText(input)) throw malformed("the note is not valid UTF-8");
    if (utf8Length(input) > MAX_NOTE_SIZE) {
      throw malformed(`the note exceeds ${MAX_NOTE_SIZE} bytes`);
    }
    note = input;
  } else {
    throw malformed("a signed note is a string or UTF-8 bytes");
  }
  if (hasControlCharacter(note)) {
    throw malformed("the note contains a control character other than newline");
  }
  return note;
}

function parseSignatureLine(line: string): { name: string; keyId: string; signature: Uint8Array } {
  if (!line.startsWith(SIG_PREFIX)) throw malformed("a signature line starts with an em dash");
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space < 0) throw malformed("a signature line has the form — <name> <base64>");
  const name = rest.slice(0, space);
  assertKeyName(NOTE_KEYS, name);
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(rest.slice(space + 1));
  } catch (cause) {
    throw new ChaosCoreError("NOTE_MALFORMED", "a signature is not canonical base64", { cause });
  }
  if (bytes.length < 5) throw malformed("a signature holds a key ID and at least one byte");
  return {
    name,
    keyId: hexOf(bytes.subarray(0, 4)),
    signature: bytes.slice(4),
  };
}

function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return ed25519Verify(signature, message, publicKey);
}

// Parsing a key costs a curve operation (decompression, or deriving the public
// key): a log or witness uses the same few keys for every note.
const parsedSignerKey = keyMemo(parseSignerKey);
const parsedVerifierKey = keyMemo(parseVerifierKey);
