/**
 * Shard certificates (docs/spec/shards.md, docs/spec/receipt.md): a C2SP
 * signed note, signed by a log FAMILY's key, whose text binds shard `n ≥ 1` of
 * the family to its origin and its own checkpoint key:
 *
 * ```text
 * chaoscore.log-shard/v1
 * <family origin>
 * <shard number>
 * <shard origin>            = <family origin>/s<shard number>
 * <shard verifier key>      named <shard origin>
 * ```
 *
 * A verifier that trusts the family key (a trust policy's `logKey`) accepts a
 * checkpoint of a shard origin only under the shard key such a certificate
 * names. Shard 0 is the family's own log: it has no certificate.
 * @module
 */
import { ChaosCoreError, type ErrorCode } from "./errors.js";
import { openNote, parseSignerKey, parseVerifierKey, signNote } from "./note.js";
import { isValidNoteKeyName } from "./note-keys.js";

/** The first line of a shard certificate's text. */
export const SHARD_CERTIFICATE_FORMAT = "chaoscore.log-shard/v1";

/** What a shard certificate states (its signed text). */
export type ShardCertificate = {
  /** The family's origin: the name of the family key that signs the certificate. */
  readonly familyOrigin: string;
  /** The shard's number, ≥ 1. */
  readonly shard: number;
  /** The shard's checkpoint origin: `<familyOrigin>/s<shard>`. */
  readonly shardOrigin: string;
  /** The shard's signed-note verifier key, named `shardOrigin`. */
  readonly shardVerifierKey: string;
};

const DECIMAL_RE = /^[1-9][0-9]*$/;

function certError(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  cause?: unknown,
): ChaosCoreError {
  return new ChaosCoreError(code, message, {
    ...(details === undefined ? {} : { details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

function malformed(message: string, details?: Record<string, unknown>, cause?: unknown) {
  return certError("SHARD_CERTIFICATE_MALFORMED", message, details, cause);
}

/**
 * The shard number of `origin` within the family `familyOrigin`: `n` when
 * `origin` is `<familyOrigin>/s<n>` with `n ≥ 1` in canonical decimal, 0 when
 * it is the family origin itself, `undefined` otherwise.
 * @example
 * ```ts
 * shardNumberOfOrigin("chaoscore.local/log/default", "chaoscore.local/log/default/s2"); // 2
 * ```
 */
export function shardNumberOfOrigin(familyOrigin: string, origin: string): number | undefined {
  if (origin === familyOrigin) return 0;
  const prefix = `${familyOrigin}/s`;
  if (!origin.startsWith(prefix)) return undefined;
  const digits = origin.slice(prefix.length);
  if (!DECIMAL_RE.test(digits)) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Checks the statements of a certificate; throws its coded error. */
function checkStatement(c: ShardCertificate): void {
  if (!isValidNoteKeyName(c.familyOrigin)) {
    throw malformed("the family origin is not a valid key name", {
      familyOrigin: c.familyOrigin,
    });
  }
  if (typeof c.shard !== "number" || !Number.isSafeInteger(c.shard) || c.shard < 0) {
    throw malformed("the shard number is an integer ≥ 1", { shard: c.shard });
  }
  if (c.shard === 0) {
    throw malformed("shard 0 is the family's own log and has no certificate", { shard: 0 });
  }
  if (c.shardOrigin !== `${c.familyOrigin}/s${c.shard}`) {
    throw certError(
      "SHARD_CERTIFICATE_ORIGIN_INVALID",
      "the shard origin is not <family origin>/s<shard number>",
      { familyOrigin: c.familyOrigin, shard: c.shard, shardOrigin: c.shardOrigin },
    );
  }
  let keyName: string;
  try {
    keyName = parseVerifierKey(c.shardVerifierKey).name;
  } catch (cause) {
    throw malformed("the shard verifier key is not a signed-note verifier key", {}, cause);
  }
  if (keyName !== c.shardOrigin) {
    throw certError(
      "SHARD_CERTIFICATE_ORIGIN_INVALID",
      "the shard verifier key is not named for the shard origin",
      { keyName, shardOrigin: c.shardOrigin },
    );
  }
}

function formatStatement(c: ShardCertificate): string {
  return `${SHARD_CERTIFICATE_FORMAT}\n${c.familyOrigin}\n${c.shard}\n${c.shardOrigin}\n${c.shardVerifierKey}\n`;
}

/** Parses the text (before the blank line) of a certificate. */
function parseStatement(text: string): ShardCertificate {
  if (!text.endsWith("\n")) throw malformed("the certificate text ends in a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length !== 5) {
    throw malformed("the certificate text has exactly five lines", { lines: lines.length });
  }
  const [format, familyOrigin, shardLine, shardOrigin, shardVerifierKey] = lines as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (format !== SHARD_CERTIFICATE_FORMAT) {
    throw malformed(`the certificate text starts with ${SHARD_CERTIFICATE_FORMAT}`, { format });
  }
  if (shardLine === "0") {
    throw malformed("shard 0 is the family's own log and has no certificate", { shard: 0 });
  }
  if (!DECIMAL_RE.test(shardLine) || !Number.isSafeInteger(Number(shardLine))) {
    throw malformed("the shard number is an integer ≥ 1 in canonical decimal", {
      shard: shardLine,
    });
  }
  const cert = { familyOrigin, shard: Number(shardLine), shardOrigin, shardVerifierKey };
  checkStatement(cert);
  return cert;
}

/**
 * Parses a shard certificate WITHOUT verifying its signature: what it claims.
 * Use {@link verifyShardCertificate} to trust it.
 * @throws ChaosCoreError SHARD_CERTIFICATE_MALFORMED when it is not a signed
 * note whose text is a `chaoscore.log-shard/v1` statement (including shard 0);
 * SHARD_CERTIFICATE_ORIGIN_INVALID when the shard origin is not
 * `<family origin>/s<shard>` or the shard key is named otherwise.
 * @example
 * ```ts
 * const { familyOrigin, shard } = parseShardCertificate(receipt.shard);
 * ```
 */
export function parseShardCertificate(noteText: string): ShardCertificate {
  if (typeof noteText !== "string") throw malformed("a shard certificate is a signed note string");
  const split = noteText.lastIndexOf("\n\n");
  if (split < 0) throw malformed("no blank line separates the text from the signatures");
  return parseStatement(noteText.slice(0, split + 1));
}

/**
 * Signs a shard certificate with the family's signer key (named `familyOrigin`).
 * @throws ChaosCoreError SHARD_CERTIFICATE_WRONG_FAMILY when the signer key is
 * not named `familyOrigin`; SHARD_CERTIFICATE_MALFORMED or
 * SHARD_CERTIFICATE_ORIGIN_INVALID when the statement is not one
 * ({@link parseShardCertificate}); NOTE_MALFORMED when the signer key is malformed.
 * @example
 * ```ts
 * const cert = signShardCertificate(familySignerKey, {
 *   familyOrigin: "chaoscore.local/log/default", shard: 1,
 *   shardOrigin: "chaoscore.local/log/default/s1", shardVerifierKey,
 * });
 * ```
 */
export function signShardCertificate(
  familySignerKey: string,
  certificate: ShardCertificate,
): string {
  const { name } = parseSignerKey(familySignerKey);
  checkStatement(certificate);
  if (name !== certificate.familyOrigin) {
    throw certError(
      "SHARD_CERTIFICATE_WRONG_FAMILY",
      "the signer key is not the family's: its name is not the family origin",
      { keyName: name, familyOrigin: certificate.familyOrigin },
    );
  }
  const text = formatStatement(certificate);
  // Every line was checked: the text has no control characters and parses back.
  parseStatement(text);
  return signNote(text, familySignerKey);
}

/**
 * Verifies a shard certificate against the family's verifier key (the key a
 * trust policy pins; its name is the family origin) and returns what it
 * certifies.
 * @throws ChaosCoreError SHARD_CERTIFICATE_MALFORMED (not a signed note, not
 * a `chaoscore.log-shard/v1` text, shard 0, a malformed shard key);
 * SHARD_CERTIFICATE_ORIGIN_INVALID (shard origin not `<family origin>/s<n>`, or
 * a shard key named otherwise); SHARD_CERTIFICATE_WRONG_FAMILY (it names
 * another family origin than the key's name); SHARD_CERTIFICATE_SIGNATURE_INVALID
 * (the family key's signature is missing or does not verify);
 * NOTE_MALFORMED when `familyVerifierKey` itself is malformed.
 * @example
 * ```ts
 * const { shard, shardOrigin, shardVerifierKey } = verifyShardCertificate(receipt.shard, policy.logKey);
 * ```
 */
export function verifyShardCertificate(
  noteText: string,
  familyVerifierKey: string,
): ShardCertificate {
  const family = parseVerifierKey(familyVerifierKey).name;
  const claimed = parseShardCertificate(noteText);
  if (claimed.familyOrigin !== family) {
    throw certError(
      "SHARD_CERTIFICATE_WRONG_FAMILY",
      "the certificate is for another log family than the trusted key's",
      { familyOrigin: claimed.familyOrigin, expected: family },
    );
  }
  let text: string;
  try {
    text = openNote(noteText, familyVerifierKey).text;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === "NOTE_SIGNATURE_INVALID") {
      throw certError(
        "SHARD_CERTIFICATE_SIGNATURE_INVALID",
        "the certificate is not signed by the family key",
        { familyOrigin: family },
        cause,
      );
    }
    throw malformed("the certificate is not a well-formed signed note", {}, cause);
  }
  return parseStatement(text);
}
