import { describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import { hexToBytes } from "./hex.js";
import { generateNoteKey, parseSignerKey } from "./note.js";
import {
  deriveShardKey,
  encodeShardLink,
  isShardLinkBytes,
  parseShardLink,
  type ShardLink,
  shardId,
  shardOrigin,
  verifyShardLink,
} from "./shard-link.js";

const FAMILY = "chaoscore.test/log/default";
const familyKeys = generateNoteKey(FAMILY, hexToBytes(`0x${"11".repeat(32)}`));

function linkOf(previousSigner: string, size: number, root: Uint8Array): ShardLink {
  const checkpoint = signCheckpoint(
    { origin: FAMILY, size, rootHash: root, extensions: [] },
    previousSigner,
  );
  return {
    format: "chaoscore.shard-link/v1",
    family: FAMILY,
    shard: 1,
    origin: `${FAMILY}/s1`,
    previous: { origin: FAMILY, size, rootHash: Buffer.from(root).toString("base64"), checkpoint },
  };
}

describe("shardId / shardOrigin", () => {
  it("keeps shard 0 as the family and suffixes the others", () => {
    expect(shardId("default", 0)).toBe("default");
    expect(shardId("default", 12)).toBe("default-s12");
    expect(shardOrigin(FAMILY, 0)).toBe(FAMILY);
    expect(shardOrigin(FAMILY, 3)).toBe(`${FAMILY}/s3`);
  });
  it("refuses a shard number that is not an integer ≥ 0", () => {
    for (const n of [-1, 1.5, Number.NaN]) {
      expect(() => shardId("default", n)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
    }
  });
});

describe("deriveShardKey", () => {
  it("is deterministic, named for the shard origin, and differs per origin and family key", () => {
    const a = deriveShardKey(familyKeys.signerKey, `${FAMILY}/s1`);
    expect(deriveShardKey(familyKeys.signerKey, `${FAMILY}/s1`)).toEqual(a);
    expect(parseSignerKey(a.signerKey).name).toBe(`${FAMILY}/s1`);
    expect(a.verifierKey.startsWith(`${FAMILY}/s1+`)).toBe(true);
    expect(deriveShardKey(familyKeys.signerKey, `${FAMILY}/s2`).verifierKey).not.toBe(
      a.verifierKey,
    );
    const other = generateNoteKey(FAMILY, hexToBytes(`0x${"22".repeat(32)}`));
    expect(deriveShardKey(other.signerKey, `${FAMILY}/s1`).verifierKey).not.toBe(a.verifierKey);
  });
});

describe("encodeShardLink / parseShardLink / verifyShardLink", () => {
  const root = new Uint8Array(32).fill(7);
  const link = linkOf(familyKeys.signerKey, 5, root);

  it("round-trips canonical JSON and verifies against the predecessor's key and final state", () => {
    const bytes = encodeShardLink(link);
    expect(isShardLinkBytes(bytes)).toBe(true);
    expect(parseShardLink(bytes)).toEqual(link);
    expect(() =>
      verifyShardLink(link, familyKeys.verifierKey, { size: 5, rootHash: root }),
    ).not.toThrow();
  });

  it("refuses non-canonical bytes, wrong origins and extra members", () => {
    const bytes = encodeShardLink(link);
    const spaced = new TextEncoder().encode(JSON.stringify(link, null, 1));
    expect(() => parseShardLink(spaced)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => encodeShardLink({ ...link, origin: `${FAMILY}/s2` })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => encodeShardLink({ ...link, extra: 1 } as ShardLink)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(isShardLinkBytes(bytes.subarray(1))).toBe(false);
  });

  it("refuses a link whose size or root differ from the predecessor's final checkpoint", () => {
    expect(() =>
      verifyShardLink({ ...link, previous: { ...link.previous, size: 6 } }, familyKeys.verifierKey),
    ).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() =>
      verifyShardLink(link, familyKeys.verifierKey, { size: 6, rootHash: root }),
    ).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() =>
      verifyShardLink(link, familyKeys.verifierKey, {
        size: 5,
        rootHash: new Uint8Array(32),
      }),
    ).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    const stranger = generateNoteKey(FAMILY);
    expect(() => verifyShardLink(link, stranger.verifierKey)).toThrow();
  });
});
