import { randomBytes } from "node:crypto";
import { nodeHash, rootFromLeafHashes } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { computeNode, hashUp, isStoredLevel, nodeKeyOf, storedRangeOf } from "./stored-nodes.js";

const hashes = (n: number) => Array.from({ length: n }, () => Uint8Array.from(randomBytes(32)));

describe("stored nodes", () => {
  it("stores level 0 and every fourth level from 8 on, and computes a node from the stored level below it", () => {
    expect([0, 1, 4, 7, 8, 9, 11, 12, 15, 16, 20, 24].filter(isStoredLevel)).toEqual([
      0, 8, 12, 16, 20, 24,
    ]);
    expect(storedRangeOf(0, 5)).toEqual({ level: 0, start: 5, end: 6 });
    expect(storedRangeOf(7, 3)).toEqual({ level: 0, start: 384, end: 512 });
    expect(storedRangeOf(8, 3)).toEqual({ level: 8, start: 3, end: 4 });
    expect(storedRangeOf(17, 2)).toEqual({ level: 16, start: 4, end: 6 });
    expect(storedRangeOf(15, 1)).toEqual({ level: 12, start: 8, end: 16 });
    expect(storedRangeOf(47, 1)).toEqual({ level: 44, start: 8, end: 16 });
  });

  it("hashes up complete groups and drops a trailing incomplete one", () => {
    const leaves = hashes(13);
    expect(hashUp(leaves, 0)).toEqual(leaves);
    expect(hashUp(leaves, 2)).toEqual(
      [0, 1, 2].map((k) => rootFromLeafHashes(leaves.slice(4 * k, 4 * k + 4))),
    );
    expect(hashUp(leaves.slice(0, 3), 2)).toEqual([]);
  });

  it("computes (level, index) from the map of stored nodes, or nothing when one is missing", () => {
    const level16 = hashes(6);
    const stored = new Map(level16.map((h, i) => [nodeKeyOf(16, i), h]));
    expect(computeNode(stored, 17, 2)).toEqual(nodeHash(level16[4]!, level16[5]!));
    expect(computeNode(stored, 16, 3)).toEqual(level16[3]);
    expect(computeNode(stored, 18, 1)).toBeUndefined();
    stored.delete(nodeKeyOf(16, 1));
    expect(computeNode(stored, 17, 0)).toBeUndefined();
    expect(computeNode(stored, 17, 1)).toEqual(nodeHash(level16[2]!, level16[3]!));
  });
});
