/**
 * Shards of a log family (docs/spec/shards.md): their ids and origins, the
 * derivation of a shard's signed-note key from the family key, and the link
 * entry `chaoscore.shard-link/v1` — leaf 0 of shard n ≥ 1, which commits to
 * the predecessor's final checkpoint. Pure: no I/O.
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { openCheckpoint } from "./checkpoint.js";
import { ChaosCoreError } from "./errors.js";
import { utf8 } from "./hash.js";
import { base64ToBytes, bytesToBase64, equalBytes } from "./hex.js";
import { generateNoteKey, parseSignerKey } from "./note.js";

/** The format tag of a link entry. */
export const SHARD_LINK_FORMAT = "chaoscore.shard-link/v1";

/** The HMAC message prefix of a shard key's seed. */
export const SHARD_KEY_CONTEXT = "chaoscore.log-shard-key/v1\n";

/** The link entry: leaf 0 of shard `shard` ≥ 1 of a family. */
/** One shard of a log family as `GET /v1/logs` lists it (docs/api.md, docs/spec/shards.md). */
export type LogShardInfo = {
  id: string;
  origin: string;
  verifierKey: string;
  shard: number;
  size: number;
  state: "active" | "frozen";
  createdAt: string;
  frozenAt?: string;
  frozenSize?: number;
  successor?: string;
  /** The shard certificate (a signed note by the family key); shards n ≥ 1 only. */
  certificate?: string;
};

export type ShardLink = {
  format: typeof SHARD_LINK_FORMAT;
  /** The family's origin (= shard 0's origin). */
  family: string;
  /** This shard's number (≥ 1). */
  shard: number;
  /** This shard's origin: `<family>/s<shard>`. */
  origin: string;
  /** The predecessor (shard − 1) at the moment it was frozen. */
  previous: {
    origin: string;
    /** Its final tree size. */
    size: number;
    /** Its final root hash, base64. */
    rootHash: string;
    /** Its final checkpoint, the signed note as published. */
    checkpoint: string;
  };
};

function assertShardNumber(shard: unknown, min: number): asserts shard is number {
  if (typeof shard !== "number" || !Number.isSafeInteger(shard) || shard < min) {
    throw new ChaosCoreError("INVALID_INPUT", `a shard number is an integer ≥ ${min}`, {
      details: { shard },
    });
  }
}

/**
 * The row id of shard `n` of family `familyId`: the family id for shard 0,
 * `<familyId>-s<n>` otherwise.
 * @throws ChaosCoreError INVALID_INPUT when `n` is not an integer ≥ 0.
 * @example
 * ```ts
 * shardId("default", 2); // "default-s2"
 * ```
 */
export function shardId(familyId: string, n: number): string {
  assertShardNumber(n, 0);
  return n === 0 ? familyId : `${familyId}-s${n}`;
}

/**
 * The checkpoint origin of shard `n`: the family origin for shard 0,
 * `<familyOrigin>/s<n>` otherwise.
 * @throws ChaosCoreError INVALID_INPUT when `n` is not an integer ≥ 0.
 * @example
 * ```ts
 * shardOrigin("chaoscore.local/log/default", 1); // "chaoscore.local/log/default/s1"
 * ```
 */
export function shardOrigin(familyOrigin: string, n: number): string {
  assertShardNumber(n, 0);
  return n === 0 ? familyOrigin : `${familyOrigin}/s${n}`;
}

/**
 * The signed-note key pair of the shard whose origin is `origin`: Ed25519
 * seed = HMAC-SHA256(key = the family signer key's 32-byte seed,
 * message = "chaoscore.log-shard-key/v1\n" ‖ origin), key name = `origin`.
 * Every holder of the family key derives the same pair.
 * @throws ChaosCoreError NOTE_MALFORMED when the family signer key or the origin is malformed.
 * @example
 * ```ts
 * const { signerKey, verifierKey } = deriveShardKey(familySignerKey, "chaoscore.local/log/default/s1");
 * ```
 */
export function deriveShardKey(
  familySignerKey: string,
  origin: string,
): { signerKey: string; verifierKey: string } {
  const { seed } = parseSignerKey(familySignerKey);
  const shardSeed = hmac(nobleSha256, seed, utf8(`${SHARD_KEY_CONTEXT}${origin}`));
  return generateNoteKey(origin, shardSeed);
}

/**
 * The bytes of a link entry: the RFC 8785 canonical JSON of {@link ShardLink}.
 * @throws ChaosCoreError INVALID_INPUT when the link is not well-formed.
 */
export function encodeShardLink(link: ShardLink): Uint8Array {
  checkShardLink(link);
  return canonicalJsonBytes(link);
}

/**
 * Parses the bytes of a link entry strictly (exactly the fields of
 * {@link ShardLink}, canonical JSON).
 * @throws ChaosCoreError INVALID_INPUT when the bytes are not a link entry.
 */
export function parseShardLink(bytes: Uint8Array): ShardLink {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new ChaosCoreError("INVALID_INPUT", "a link entry is UTF-8 JSON", { cause });
  }
  const link = checkShardLink(value);
  if (!equalBytes(canonicalJsonBytes(link), bytes)) {
    throw new ChaosCoreError("INVALID_INPUT", "a link entry is canonical JSON (RFC 8785)");
  }
  return link;
}

/** True when `bytes` start like a link entry (a cheap test before {@link parseShardLink}). */
export function isShardLinkBytes(bytes: Uint8Array): boolean {
  // canonical JSON sorts keys: "family" comes first; the format tag is checked by the parser.
  return bytes.length > 12 && utf8(`{"family":`).every((b, i) => bytes[i] === b);
}

function checkShardLink(value: unknown): ShardLink {
  const bad = (message: string): never => {
    throw new ChaosCoreError("INVALID_INPUT", `link entry: ${message}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("not an object");
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v).sort().join(",");
  if (keys !== "family,format,origin,previous,shard") bad(`unexpected members ${keys}`);
  if (v.format !== SHARD_LINK_FORMAT) bad(`format is not ${SHARD_LINK_FORMAT}`);
  for (const k of ["family", "origin"] as const) {
    if (typeof v[k] !== "string" || (v[k] as string).length === 0) bad(`${k} is a string`);
  }
  try {
    assertShardNumber(v.shard, 1);
  } catch {
    bad("shard is an integer ≥ 1");
  }
  if (v.origin !== shardOrigin(v.family as string, v.shard as number)) {
    bad("origin is not <family>/s<shard>");
  }
  const p = v.previous as Record<string, unknown>;
  if (typeof p !== "object" || p === null || Array.isArray(p)) bad("previous is an object");
  if (Object.keys(p).sort().join(",") !== "checkpoint,origin,rootHash,size") {
    bad("previous has exactly checkpoint, origin, rootHash, size");
  }
  if (p.origin !== shardOrigin(v.family as string, (v.shard as number) - 1)) {
    bad("previous.origin is not the origin of shard − 1");
  }
  if (typeof p.size !== "number" || !Number.isSafeInteger(p.size) || p.size < 0) {
    bad("previous.size is an integer ≥ 0");
  }
  let root: Uint8Array | undefined;
  try {
    root = base64ToBytes(p.rootHash);
  } catch {
    bad("previous.rootHash is canonical base64");
  }
  if (root?.length !== 32) bad("previous.rootHash is 32 bytes");
  if (typeof p.checkpoint !== "string") bad("previous.checkpoint is a signed note");
  return v as ShardLink;
}

/**
 * Checks a link entry against the predecessor: its checkpoint opens under
 * `previousVerifierKey`, and names the link's origin, size and root hash; and,
 * when given, that the predecessor's final size and root are those.
 * @throws ChaosCoreError INVALID_INPUT when the link does not match;
 * NOTE_SIGNATURE_INVALID, CHECKPOINT_* when its checkpoint does not open.
 */
export function verifyShardLink(
  link: ShardLink,
  previousVerifierKey: string,
  final?: { size: number; rootHash: Uint8Array },
): void {
  const cp = openCheckpoint(link.previous.checkpoint, previousVerifierKey, {
    origin: link.previous.origin,
  });
  const mismatch = (what: string): never => {
    throw new ChaosCoreError("INVALID_INPUT", `link entry: ${what}`, {
      details: { shard: link.shard },
    });
  };
  if (cp.size !== link.previous.size) mismatch("previous.size is not its checkpoint's size");
  if (bytesToBase64(cp.rootHash) !== link.previous.rootHash) {
    mismatch("previous.rootHash is not its checkpoint's root");
  }
  if (final !== undefined) {
    if (final.size !== cp.size) mismatch("the predecessor's final size differs");
    if (!equalBytes(final.rootHash, cp.rootHash)) mismatch("the predecessor's final root differs");
  }
}
