/**
 * C2SP checkpoint cosignatures (https://c2sp.org/tlog-cosignature),
 * Ed25519 `cosignature/v1` only: a witness's timestamped statement that the
 * checkpoint is the largest consistent tree head it has seen for the log.
 *
 * - witness verifier key: `<name>+<key ID>+<base64(0x04 ‖ 32-byte public key)>`
 * - witness signer key:   `PRIVATE+KEY+<name>+<key ID>+<base64(0x04 ‖ 32-byte seed)>`
 * - key ID:               SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]
 * - signed message:       `cosignature/v1\ntime <t>\n` ‖ checkpoint body
 * - signature line:       `— <name> <base64(key ID ‖ u64be t ‖ Ed25519 signature)>\n`
 *
 * See docs/spec/witness.md.
 * @module
 */
import { parseCheckpoint } from "./checkpoint.js";
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
import { MAX_NOTE_SIGNATURES, MAX_NOTE_SIZE } from "./note.js";
import {
  generateKeyPair,
  hasControlCharacter,
  isValidNoteKeyName,
  isWellFormedText,
  type KeyScheme,
  type ParsedVerifierKey,
  parseSignerKeyOf,
  parseVerifierKeyOf,
  verifierKeyOf,
} from "./note-keys.js";

/** Signature type identifier of Ed25519 cosignature/v1 keys (C2SP tlog-cosignature). */
export const COSIGNATURE_V1_ALG = 0x04;
/** Witness keys: signature type 0x04, malformed keys fail with COSIGNATURE_MALFORMED. */
const WITNESS_KEYS: KeyScheme = {
  alg: COSIGNATURE_V1_ALG,
  code: "COSIGNATURE_MALFORMED",
  kind: "witness ",
};
/** Largest timestamp a cosignature may carry (2^63 − 1). */
const MAX_TIMESTAMP = (1n << 63n) - 1n;
const SIG_PREFIX = "\u2014 "; // em dash, space
/** key ID (4) ‖ timestamp (8) ‖ Ed25519 signature (64). */
const COSIGNATURE_BYTES = 76;

/** A parsed witness key (cosignature/v1); `seed` is present for signer keys only. */
export type WitnessKey = ParsedVerifierKey;

/** The result of checking one cosignature line against a configured witness key. */
export type CosignatureCheck = {
  /** The witness key's name. */
  readonly name: string;
  /** 8 lowercase hex digits. */
  readonly keyId: string;
  /** POSIX seconds from the cosignature (0 when the line is too short to hold one). */
  readonly timestamp: number;
  /** True when the Ed25519 signature verifies over the cosigned message. */
  readonly verified: boolean;
};

function malformed(message: string, details?: Record<string, unknown>): ChaosCoreError {
  return new ChaosCoreError("COSIGNATURE_MALFORMED", message, {
    ...(details === undefined ? {} : { details }),
  });
}

/**
 * Creates a witness key pair named `name` (random, or derived from a 32-byte
 * `seed` for reproducible tests and vectors), in the C2SP encodings with
 * signature type 0x04 (cosignature/v1).
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the name is invalid or the seed is not 32 bytes.
 * @example
 * ```ts
 * const { signerKey, verifierKey } = generateWitnessKey("witness.example/w1");
 * ```
 */
export function generateWitnessKey(
  name: string,
  seed?: Uint8Array,
): { signerKey: string; verifierKey: string } {
  return generateKeyPair(WITNESS_KEYS, name, seed);
}

/**
 * Parses a witness signer key `PRIVATE+KEY+<name>+<keyid>+<base64(0x04 ‖ seed)>`.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the key is malformed or its ID does not match.
 * @example
 * ```ts
 * parseWitnessSignerKey(signerKey).name; // "witness.example/w1"
 * ```
 */
export function parseWitnessSignerKey(signerKey: string): WitnessKey & { seed: Uint8Array } {
  return parseSignerKeyOf(WITNESS_KEYS, signerKey);
}

/**
 * Parses a witness verifier key `<name>+<keyid>+<base64(0x04 ‖ public key)>`.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the key is malformed, not
 * a valid Ed25519 point, or its ID does not match.
 * @example
 * ```ts
 * parseWitnessVerifierKey("witness.example/w1+3f2a9c01+BM…").keyId; // "3f2a9c01"
 * ```
 */
export function parseWitnessVerifierKey(verifierKey: string): WitnessKey {
  return parseVerifierKeyOf(WITNESS_KEYS, verifierKey);
}

/**
 * The verifier key that matches a witness signer key.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the signer key is malformed.
 * @example
 * ```ts
 * const published = witnessVerifierKeyFromSignerKey(signerKey);
 * ```
 */
export function witnessVerifierKeyFromSignerKey(signerKey: string): string {
  return verifierKeyOf(WITNESS_KEYS, signerKey);
}

/**
 * The checkpoint body of a signed note (the text before the blank line), or
 * `note` itself when it holds no blank line (a bare checkpoint body).
 */
function checkpointBody(note: string): string {
  if (typeof note !== "string") throw malformed("a checkpoint note is a string");
  if (utf8Length(note) > MAX_NOTE_SIZE || !isWellFormedText(note)) {
    throw malformed(`a checkpoint note is UTF-8 of at most ${MAX_NOTE_SIZE} bytes`);
  }
  const split = note.indexOf("\n\n");
  return split < 0 ? note : note.slice(0, split + 1);
}

function toTimestamp(timestamp: bigint | number): bigint {
  let t: bigint;
  if (typeof timestamp === "bigint") t = timestamp;
  else if (typeof timestamp === "number" && Number.isSafeInteger(timestamp)) t = BigInt(timestamp);
  else throw malformed("a cosignature timestamp is an integer number of seconds");
  if (t < 0n || t > MAX_TIMESTAMP) {
    throw malformed("a cosignature timestamp is in [0, 2^63 − 1]");
  }
  return t;
}

/**
 * The message an Ed25519 cosignature/v1 signs: `cosignature/v1\ntime <t>\n`
 * followed by the checkpoint body (with its final newline, without signatures).
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the timestamp is out of range.
 * @example
 * ```ts
 * cosignatureMessage("example.com/log\n3\nAAAA…=\n", 1679315147n);
 * ```
 */
export function cosignatureMessage(checkpointText: string, timestamp: bigint | number): Uint8Array {
  const t = toTimestamp(timestamp);
  return utf8(`cosignature/v1\ntime ${t.toString()}\n${checkpointText}`);
}

/**
 * Cosigns a checkpoint (a signed checkpoint note, or its bare body) as a
 * witness at `timestamp` (POSIX seconds) and returns the signature line
 * `— <witness name> <base64(key ID ‖ u64be timestamp ‖ signature)>\n`.
 * The caller (the witness) must have checked the log's signature and the
 * consistency of the checkpoint first: this function only signs.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the signer key or the timestamp is malformed.
 * @throws ChaosCoreError CHECKPOINT_MALFORMED when the note's body is not a checkpoint.
 * @example
 * ```ts
 * const line = cosignCheckpoint(signedCheckpoint, witnessSignerKey, Math.floor(Date.now() / 1000));
 * const cosigned = addSignatureLines(signedCheckpoint, [line]);
 * ```
 */
export function cosignCheckpoint(
  checkpointNote: string,
  witnessSignerKey: string,
  timestamp: bigint | number,
): string {
  const { name, keyId, seed } = parsedSignerKey(witnessSignerKey);
  const text = checkpointBody(checkpointNote);
  parseCheckpoint(text);
  const t = toTimestamp(timestamp);
  const signature = ed25519Sign(cosignatureMessage(text, t), seed);
  const stamp = new Uint8Array(8);
  new DataView(stamp.buffer).setBigUint64(0, t, false);
  const body = concatBytes(hexDigitsToBytes(keyId), stamp, signature);
  return `${SIG_PREFIX}${name} ${bytesToBase64(body)}\n`;
}

/** A signature line's name and raw bytes (key ID first), or undefined when it is not one. */
function parseLine(line: string): { name: string; bytes: Uint8Array } | undefined {
  if (!line.startsWith(SIG_PREFIX)) return undefined;
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space <= 0) return undefined;
  const name = rest.slice(0, space);
  if (!isValidNoteKeyName(name)) return undefined;
  try {
    const bytes = base64ToBytes(rest.slice(space + 1));
    return bytes.length < 5 ? undefined : { name, bytes };
  } catch {
    return undefined;
  }
}

// Parsing a key costs a curve operation: a witness uses one key for every cosignature.
const parsedSignerKey = keyMemo(parseWitnessSignerKey);
const parsedVerifierKey = keyMemo(parseWitnessVerifierKey);

/** Splits a signed note into its body and its signature lines (without newlines). */
function splitSignedNote(note: string): { text: string; lines: string[] } {
  if (typeof note !== "string") throw malformed("a signed note is a string");
  if (utf8Length(note) > MAX_NOTE_SIZE || !isWellFormedText(note)) {
    throw malformed(`a signed note is UTF-8 of at most ${MAX_NOTE_SIZE} bytes`);
  }
  if (hasControlCharacter(note)) {
    throw malformed("a signed note has no control character other than newline");
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw malformed("no blank line separates the note's text from its signatures");
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith("\n")) {
    throw malformed("the signature block is empty or does not end in a newline");
  }
  const lines = block.slice(0, -1).split("\n");
  for (const line of lines) {
    if (parseLine(line) === undefined) {
      throw malformed("a signature line has the form — <name> <base64>", {
        line: line.slice(0, 120),
      });
    }
  }
  return { text: note.slice(0, split + 1), lines };
}

/**
 * Checks the cosignatures on a signed checkpoint against the given witness
 * verifier keys. Only lines whose name and key ID match a given key are
 * checked (others, such as the log's own signature, are ignored, as the spec
 * requires); one result per matching line, in note order. A matching line
 * whose signature does not verify (or that is not 76 bytes) has
 * `verified: false`. The log's signature is NOT checked here (see
 * `openCheckpoint`); counting a quorum of distinct verified witnesses is the
 * caller's decision.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when a witness key or the note is malformed.
 * @example
 * ```ts
 * const checks = verifyCosignatures(receipt.checkpoint, policy.witnesses.keys);
 * const ok = new Set(checks.filter((c) => c.verified).map((c) => c.keyId)).size >= 2;
 * ```
 */
export function verifyCosignatures(
  checkpointNote: string,
  witnessVerifierKeys: readonly string[],
): CosignatureCheck[] {
  if (!Array.isArray(witnessVerifierKeys)) throw malformed("the witness keys are an array");
  const keys = witnessVerifierKeys.map((k) => parsedVerifierKey(k));
  const { text, lines } = splitSignedNote(checkpointNote);
  const results: CosignatureCheck[] = [];
  for (const line of lines) {
    const parsed = parseLine(line);
    if (parsed === undefined) continue;
    const keyId = hexOf(parsed.bytes.subarray(0, 4));
    const key = keys.find((k) => k.name === parsed.name && k.keyId === keyId);
    if (key === undefined) continue;
    if (parsed.bytes.length !== COSIGNATURE_BYTES) {
      results.push({ name: key.name, keyId, timestamp: 0, verified: false });
      continue;
    }
    const view = new DataView(parsed.bytes.buffer, parsed.bytes.byteOffset + 4, 8);
    const t = view.getBigUint64(0, false);
    const signature = parsed.bytes.subarray(12);
    let verified = false;
    if (t <= MAX_TIMESTAMP) {
      verified = ed25519Verify(signature, cosignatureMessage(text, t), key.publicKey);
    }
    results.push({ name: key.name, keyId, timestamp: Number(t), verified });
  }
  return results;
}

/**
 * Appends signature lines (cosignatures) to a signed note, keeping its
 * existing lines (the log's own signature first) in order and dropping lines
 * already present. `lines` may each hold one line or several, with or
 * without the final newline.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the note or a line is
 * malformed, or the note would hold more than {@link MAX_NOTE_SIGNATURES} signatures.
 * @example
 * ```ts
 * const cosigned = addSignatureLines(signedCheckpoint, [w1Line, w2Line]);
 * ```
 */
export function addSignatureLines(note: string, lines: readonly string[]): string {
  const { text, lines: existing } = splitSignedNote(note);
  if (!Array.isArray(lines)) throw malformed("the signature lines are an array of strings");
  const out = [...existing];
  const seen = new Set(existing);
  for (const chunk of lines) {
    if (typeof chunk !== "string") throw malformed("a signature line is a string");
    for (const line of chunk.split("\n")) {
      if (line === "") continue;
      if (hasControlCharacter(line) || parseLine(line) === undefined) {
        throw malformed("a signature line has the form — <name> <base64>", {
          line: line.slice(0, 120),
        });
      }
      if (seen.has(line)) continue;
      seen.add(line);
      out.push(line);
    }
  }
  if (out.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`a note holds at most ${MAX_NOTE_SIGNATURES} signatures`);
  }
  const result = `${text}\n${out.map((l) => `${l}\n`).join("")}`;
  if (utf8Length(result) > MAX_NOTE_SIZE) {
    throw malformed(`the signed note exceeds ${MAX_NOTE_SIZE} bytes`);
  }
  return result;
}
