/**
 * C2SP transparency log checkpoints (https://c2sp.org/tlog-checkpoint): the
 * body of a signed note that commits to a log's Merkle tree at a given size.
 *
 * ```
 * chaoscore.local/log/default      origin (our convention: also the key name)
 * 8                                tree size, decimal, no leading zeros
 * XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=   root hash, base64 of 32 bytes
 * ```
 *
 * See docs/spec/checkpoint.md.
 * @module
 */
import { keyMemo } from "./ed25519-backend.js";
import { ChaosCoreError } from "./errors.js";
import { base64ToBytes, bytesToBase64, utf8Length } from "./hex.js";
import {
  hasControlCharacter,
  isWellFormedText,
  MAX_NOTE_SIZE,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from "./note.js";

/** A log's tree head: origin, tree size, RFC 9162 root hash and optional extension lines. */
export type Checkpoint = {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
};

const SIZE_RE = /^(?:0|[1-9][0-9]*)$/;

/**
 * Formats a checkpoint body: origin, decimal size, base64 root hash, one line
 * per extension, each ending in "\n".
 * @throws ChaosCoreError CHECKPOINT_MALFORMED when the origin or an extension
 * is empty, has a newline or another control character; when the size is not
 * an integer in [0, 2^53 − 1]; or when the root hash is not 32 bytes.
 * @example
 * ```ts
 * formatCheckpoint({ origin: "chaoscore.local/log/default", size: 8, rootHash, extensions: [] });
 * // "chaoscore.local/log/default\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
 * ```
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (typeof checkpoint !== "object" || checkpoint === null) {
    throw malformed("a checkpoint is an object");
  }
  const { origin, size, rootHash, extensions } = checkpoint;
  assertLine(origin, "origin");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw malformed("the tree size is an integer in [0, 2^53 − 1]");
  }
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== 32) {
    throw malformed("the root hash is 32 bytes");
  }
  if (!Array.isArray(extensions)) throw malformed("the extensions are an array of lines");
  for (const line of extensions) assertLine(line, "extension line");
  const text = `${[origin, String(size), bytesToBase64(rootHash), ...extensions].join("\n")}\n`;
  if (utf8Length(text) > MAX_NOTE_SIZE) {
    throw malformed(`the checkpoint exceeds ${MAX_NOTE_SIZE} bytes`);
  }
  return text;
}

/**
 * Parses a checkpoint body strictly (the text of an opened note).
 * @throws ChaosCoreError CHECKPOINT_MALFORMED when the text does not end in
 * "\n", has fewer than three lines or an empty line, a control character, a
 * size with leading zeros, a sign or above 2^53 − 1, or a root hash that is
 * not canonical base64 of 32 bytes.
 * @example
 * ```ts
 * const { origin, size, rootHash } = parseCheckpoint(text);
 * ```
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== "string") throw malformed("a checkpoint is a string");
  if (utf8Length(text) > MAX_NOTE_SIZE) {
    throw malformed(`the checkpoint exceeds ${MAX_NOTE_SIZE} bytes`);
  }
  if (!text.endsWith("\n")) throw malformed("a checkpoint ends in a newline");
  if (hasControlCharacter(text) || !isWellFormedText(text)) {
    throw malformed("a checkpoint is UTF-8 with no control character other than newline");
  }
  return parseCheckpointLines(text);
}

/**
 * The lines of a checkpoint body whose text is already known to be a note's
 * well-formed text (at most MAX_NOTE_SIZE bytes, no control character other
 * than newline, ending in a newline): `openCheckpoint` does not check twice.
 */
function parseCheckpointLines(text: string): Checkpoint {
  const lines = text.slice(0, -1).split("\n");
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw malformed("a checkpoint has at least three lines");
  }
  if (lines.some((line) => line.length === 0)) throw malformed("a checkpoint has no empty line");
  if (!SIZE_RE.test(sizeLine) || BigInt(sizeLine) > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw malformed("the tree size is decimal without leading zeros, at most 2^53 − 1", {
      size: sizeLine.slice(0, 40),
    });
  }
  let rootHash: Uint8Array;
  try {
    rootHash = base64ToBytes(rootLine);
  } catch (cause) {
    throw new ChaosCoreError("CHECKPOINT_MALFORMED", "the root hash is not canonical base64", {
      cause,
    });
  }
  if (rootHash.length !== 32) throw malformed("the root hash is 32 bytes");
  return { origin, size: Number(sizeLine), rootHash, extensions };
}

/**
 * Formats and signs a checkpoint as a C2SP signed note. By our convention the
 * signer key's name is the checkpoint's origin.
 * @throws ChaosCoreError CHECKPOINT_MALFORMED when the checkpoint is invalid.
 * @throws ChaosCoreError NOTE_MALFORMED when the signer key is malformed.
 * @throws ChaosCoreError CHECKPOINT_ORIGIN_MISMATCH when the key name is not the origin.
 * @example
 * ```ts
 * const signed = signCheckpoint({ origin, size, rootHash, extensions: [] }, logSignerKey);
 * ```
 */
export function signCheckpoint(checkpoint: Checkpoint, signerKey: string): string {
  const text = formatCheckpoint(checkpoint);
  const name = signerKeyName(signerKey);
  if (name !== checkpoint.origin) {
    throw new ChaosCoreError(
      "CHECKPOINT_ORIGIN_MISMATCH",
      "the signer key's name is not the checkpoint's origin",
      { details: { keyName: name, origin: checkpoint.origin } },
    );
  }
  return signNote(text, signerKey);
}

/**
 * Verifies a signed checkpoint under the log's verifier key, then parses it
 * and checks its origin (by default, the verifier key's name).
 * @throws ChaosCoreError NOTE_MALFORMED / NOTE_SIGNATURE_INVALID when the
 * note does not open under the key (see {@link openNote}).
 * @throws ChaosCoreError CHECKPOINT_MALFORMED when the verified text is not a checkpoint.
 * @throws ChaosCoreError CHECKPOINT_ORIGIN_MISMATCH when the origin is not the expected one.
 * @example
 * ```ts
 * const { size, rootHash } = openCheckpoint(signed, "chaoscore.local/log/default+1a2b3c4d+AQ…");
 * ```
 */
export function openCheckpoint(
  signedNote: string | Uint8Array,
  verifierKey: string,
  options: { origin?: string } = {},
): Checkpoint {
  const expectedOrigin = options.origin ?? verifierKeyName(verifierKey);
  // openNote checked the note's size, UTF-8 and control characters: its text needs no second pass
  const { text } = openNote(signedNote, verifierKey);
  const checkpoint = parseCheckpointLines(text);
  if (checkpoint.origin !== expectedOrigin) {
    throw new ChaosCoreError(
      "CHECKPOINT_ORIGIN_MISMATCH",
      "the checkpoint is for another log origin",
      { details: { origin: checkpoint.origin, expected: expectedOrigin } },
    );
  }
  return checkpoint;
}

// Parsing a verifier key decompresses its Ed25519 point (a fifth of a bulk
// `verifyReceipt` before this memo): a verifier checks many checkpoints of few logs.
const verifierKeyName = keyMemo((key) => parseVerifierKey(key).name);
// A log signs a checkpoint per batch with the same key: parsing it derives
// the public key (an Ed25519 scalar multiplication in JavaScript, ≈ 0.34 ms on
// the writer's path per batch before this memo; docs/benchmarks.md, HTTP ninth pass).
const signerKeyName = keyMemo((key) => parseSignerKey(key).name);

function malformed(
  message: string,
  details?: Record<string, unknown>,
): ChaosCoreError<"CHECKPOINT_MALFORMED"> {
  return new ChaosCoreError(
    "CHECKPOINT_MALFORMED",
    message,
    details === undefined ? {} : { details },
  );
}

function assertLine(value: unknown, what: string): asserts value is string {
  if (
    typeof value !== "string" ||
    value.length === 0 ||
    value.includes("\n") ||
    hasControlCharacter(value) ||
    !isWellFormedText(value)
  ) {
    throw malformed(`the ${what} is a non-empty line of UTF-8 without control characters`);
  }
}
