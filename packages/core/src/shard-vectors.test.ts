/**
 * vectors/shards/ (docs/spec/shards.md §8): the shard key derivation and the
 * link entry, recomputed from their inputs. `WRITE_SHARD_VECTORS=1` rewrites
 * the files (only when the spec changes).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import { utf8 } from "./hash.js";
import { bytesToHex, hexToBytes } from "./hex.js";
import { leafHash } from "./merkle.js";
import { generateNoteKey, parseSignerKey } from "./note.js";
import {
  deriveShardKey,
  encodeShardLink,
  parseShardLink,
  SHARD_KEY_CONTEXT,
  SHARD_LINK_FORMAT,
  shardId,
  shardOrigin,
  verifyShardLink,
} from "./shard-link.js";

const DIR = fileURLToPath(new URL("../../../vectors/shards/", import.meta.url));
const FAMILY_ID = "default";
const FAMILY_ORIGIN = "chaoscore.example/log/default";
const FAMILY_SEED = `0x${"42".repeat(32)}` as const;

function build() {
  const family = generateNoteKey(FAMILY_ORIGIN, hexToBytes(FAMILY_SEED));
  const keys = [1, 2, 3].map((n) => {
    const origin = shardOrigin(FAMILY_ORIGIN, n);
    const seed = hmac(sha256, hexToBytes(FAMILY_SEED), utf8(`${SHARD_KEY_CONTEXT}${origin}`));
    const derived = deriveShardKey(family.signerKey, origin);
    return {
      shard: n,
      id: shardId(FAMILY_ID, n),
      origin,
      hmacMessage: `${SHARD_KEY_CONTEXT}${origin}`,
      seed: bytesToHex(seed),
      signerKey: derived.signerKey,
      verifierKey: derived.verifierKey,
    };
  });
  // shard 0 frozen at 5 leaves whose root is this (any 32 bytes: the link commits to it)
  const rootHash = sha256(utf8("shard 0 at size 5"));
  const checkpoint = signCheckpoint(
    { origin: FAMILY_ORIGIN, size: 5, rootHash, extensions: [] },
    family.signerKey,
  );
  const link = {
    format: SHARD_LINK_FORMAT,
    family: FAMILY_ORIGIN,
    shard: 1,
    origin: shardOrigin(FAMILY_ORIGIN, 1),
    previous: {
      origin: FAMILY_ORIGIN,
      size: 5,
      rootHash: Buffer.from(rootHash).toString("base64"),
      checkpoint,
    },
  } as const;
  const bytes = encodeShardLink(link);
  return {
    keyDerivation: {
      description:
        "shard key = Ed25519 seed HMAC-SHA256(key = family seed, msg = 'chaoscore.log-shard-key/v1\\n' || shard origin), named the shard origin (docs/spec/shards.md §3)",
      familyId: FAMILY_ID,
      familyOrigin: FAMILY_ORIGIN,
      familySeed: FAMILY_SEED,
      familySignerKey: family.signerKey,
      familyVerifierKey: family.verifierKey,
      shards: keys,
    },
    linkEntry: {
      description:
        "leaf 0 of shard 1: chaoscore.shard-link/v1, RFC 8785 canonical JSON (docs/spec/shards.md §4)",
      familyVerifierKey: family.verifierKey,
      link,
      entry: new TextDecoder().decode(bytes),
      entryHex: bytesToHex(bytes),
      leafHash: bytesToHex(leafHash(bytes)),
    },
  };
}

describe("vectors/shards", () => {
  const vectors = build();
  if (process.env.WRITE_SHARD_VECTORS === "1") {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(
      join(DIR, "key-derivation.json"),
      `${JSON.stringify(vectors.keyDerivation, null, 2)}\n`,
    );
    writeFileSync(join(DIR, "link-entry.json"), `${JSON.stringify(vectors.linkEntry, null, 2)}\n`);
  }

  it("key-derivation.json: every shard key is the HMAC of the family seed and the shard origin", () => {
    expect(existsSync(join(DIR, "key-derivation.json"))).toBe(true);
    const file = JSON.parse(readFileSync(join(DIR, "key-derivation.json"), "utf8"));
    expect(file).toEqual(vectors.keyDerivation);
    for (const s of file.shards) {
      // an independent reading: the signer key's seed is the HMAC given
      expect(bytesToHex(parseSignerKey(s.signerKey).seed)).toBe(s.seed);
      expect(deriveShardKey(file.familySignerKey, s.origin).verifierKey).toBe(s.verifierKey);
    }
  });

  it("link-entry.json: the bytes parse to the link, and it verifies against shard 0's final checkpoint", () => {
    const file = JSON.parse(readFileSync(join(DIR, "link-entry.json"), "utf8"));
    expect(file).toEqual(vectors.linkEntry);
    const bytes = hexToBytes(file.entryHex);
    expect(new TextDecoder().decode(bytes)).toBe(file.entry);
    expect(parseShardLink(bytes)).toEqual(file.link);
    expect(bytesToHex(leafHash(bytes))).toBe(file.leafHash);
    expect(() => verifyShardLink(file.link, file.familyVerifierKey)).not.toThrow();
    // one changed byte of the entry: no longer this link
    const flipped = bytes.slice();
    flipped[bytes.length - 3] = (flipped[bytes.length - 3] as number) ^ 1;
    expect(() => parseShardLink(flipped)).toThrow();
  });
});
