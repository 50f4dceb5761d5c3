import { describe, expect, it } from "vitest";
import { CompactRange, emptyRoot } from "../merkle.js";

import { buildTree, codeOf, hx, REF_LEAVES, REF_ROOTS } from "./test-support/trees.js";

describe("CompactRange", () => {
  it("returns the leaf and every node an append completes", () => {
    const range = new CompactRange();
    const created = REF_LEAVES.slice(0, 4).map((leaf) =>
      range.append(leaf).map(({ level, index }) => [level, index]),
    );
    expect(created).toEqual([
      [[0, 0]],
      [
        [0, 1],
        [1, 0],
      ],
      [[0, 2]],
      [
        [0, 3],
        [1, 1],
        [2, 0],
      ],
    ]);
    expect(range.size).toBe(4);
    expect(hx(range.root())).toBe(REF_ROOTS[3]);
  });

  it("rebuilds from stored frontier nodes and keeps appending", () => {
    const tree = buildTree(REF_LEAVES.slice(0, 5));
    const range = CompactRange.fromNodes(5, tree.lookup);
    expect(range.nodes().map(({ level, index }) => [level, index])).toEqual([
      [2, 0],
      [0, 4],
    ]);
    expect(hx(range.root())).toBe(REF_ROOTS[4]);
    const copy = range.clone();
    for (const leaf of REF_LEAVES.slice(5)) range.append(leaf);
    expect(hx(range.root())).toBe(REF_ROOTS[7]);
    expect(copy.size).toBe(5);
    expect(hx(copy.root())).toBe(REF_ROOTS[4]);
    expect(hx(new CompactRange().root())).toBe(hx(emptyRoot()));
  });

  it("refuses bad input", () => {
    expect(codeOf(() => new CompactRange().append(new Uint8Array(31)))).toBe("INVALID_INPUT");
    expect(codeOf(() => CompactRange.fromNodes(3, () => undefined))).toBe("INVALID_INPUT");
    expect(codeOf(() => CompactRange.fromNodes(-1, () => undefined))).toBe(
      "MERKLE_INDEX_OUT_OF_RANGE",
    );
  });
});
