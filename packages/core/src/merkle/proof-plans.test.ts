import { describe, expect, it } from "vitest";
import {
  consistencyProofPlan,
  emptyRoot,
  inclusionProofPlan,
  resolveProof,
  subtreeRootPlan,
} from "../merkle.js";

import {
  buildTree,
  codeOf,
  hx,
  makeLeaves,
  REF_CONSISTENCY,
  REF_INCLUSION,
  REF_LEAVES,
  REF_ROOTS,
  referencePath,
  referenceSubproof,
} from "./test-support/trees.js";

describe("inclusionProofPlan", () => {
  it("lists the complete subtrees of each proof element, bottom-up", () => {
    expect(inclusionProofPlan(5, 8).elements).toEqual([
      [{ level: 0, index: 4 }],
      [{ level: 1, index: 3 }],
      [{ level: 2, index: 0 }],
    ]);
    // The ragged right part [4, 7) is composed of (1, 2) and (0, 6).
    const plan = inclusionProofPlan(0, 7);
    expect(plan.kind).toBe("inclusion");
    expect(plan.elements).toEqual([
      [{ level: 0, index: 1 }],
      [{ level: 1, index: 1 }],
      [
        { level: 1, index: 2 },
        { level: 0, index: 6 },
      ],
    ]);
    expect(plan.nodes()).toEqual([
      { level: 0, index: 1 },
      { level: 1, index: 1 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(inclusionProofPlan(0, 1).elements).toEqual([]);
  });

  it("accepts bigint and refuses bad indices with MERKLE_INDEX_OUT_OF_RANGE", () => {
    expect(inclusionProofPlan(5n, 8n).elements).toEqual(inclusionProofPlan(5, 8).elements);
    for (const [i, n] of [
      [8, 8],
      [0, 0],
      [-1, 8],
      [1.5, 8],
      [0, Number.NaN],
      [0, 2 ** 53],
      [0n, 2n ** 53n],
      [-1n, 3n],
      ["1", 3],
    ] as const) {
      expect(codeOf(() => inclusionProofPlan(i as number, n as number))).toBe(
        "MERKLE_INDEX_OUT_OF_RANGE",
      );
    }
  });

  it("handles sizes near 2^53 with integer node indices", () => {
    const n = Number.MAX_SAFE_INTEGER;
    const plan = inclusionProofPlan(n - 1, n);
    expect(plan.elements.length).toBe(52); // n − 1 = 2^53 − 2 has 52 one bits: one per level
    for (const node of plan.nodes()) {
      expect(Number.isSafeInteger(node.index)).toBe(true);
      expect(node.index * 2 ** node.level + 2 ** node.level).toBeLessThanOrEqual(n);
    }
  });
});

describe("consistencyProofPlan", () => {
  it("lists the nodes of PROOF(m, D[n])", () => {
    expect(consistencyProofPlan(6, 8).elements).toEqual([
      [{ level: 1, index: 2 }],
      [{ level: 1, index: 3 }],
      [{ level: 2, index: 0 }],
    ]);
    expect(consistencyProofPlan(4, 7).elements).toEqual([
      [
        { level: 1, index: 2 },
        { level: 0, index: 6 },
      ],
    ]);
    expect(consistencyProofPlan(7, 7).elements).toEqual([]);
    expect(consistencyProofPlan(7, 7).kind).toBe("consistency");
  });

  it("refuses size1 = 0, size1 > size2 and bad sizes", () => {
    for (const [a, b] of [
      [0, 0],
      [0, 5],
      [6, 5],
      [-1, 5],
      [1, 0.5],
    ]) {
      expect(codeOf(() => consistencyProofPlan(a as number, b as number))).toBe(
        "MERKLE_INDEX_OUT_OF_RANGE",
      );
    }
  });
});

describe("subtreeRootPlan", () => {
  it("is the compact range of [0, n)", () => {
    expect(subtreeRootPlan(7).elements).toEqual([
      [
        { level: 2, index: 0 },
        { level: 1, index: 2 },
        { level: 0, index: 6 },
      ],
    ]);
    expect(subtreeRootPlan(8).elements).toEqual([[{ level: 3, index: 0 }]]);
    expect(subtreeRootPlan(0).elements).toEqual([[]]);
    expect(subtreeRootPlan(0).kind).toBe("root");
  });
});

describe("resolveProof", () => {
  const tree = buildTree(REF_LEAVES);

  it("reproduces the reference inclusion proofs", () => {
    for (const { index, size, proof } of REF_INCLUSION) {
      expect(resolveProof(inclusionProofPlan(index, size), tree.lookup).map(hx)).toEqual(proof);
    }
  });

  it("reproduces the reference consistency proofs", () => {
    for (const { size1, size2, proof } of REF_CONSISTENCY) {
      expect(resolveProof(consistencyProofPlan(size1, size2), tree.lookup).map(hx)).toEqual(proof);
    }
  });

  it("resolves subtree roots, including the empty tree", () => {
    for (let n = 1; n <= 8; n++) {
      expect(resolveProof(subtreeRootPlan(n), tree.lookup).map(hx)).toEqual([REF_ROOTS[n - 1]]);
    }
    expect(resolveProof(subtreeRootPlan(0), () => undefined).map(hx)).toEqual([hx(emptyRoot())]);
  });

  it("looks each node up once", () => {
    const calls: string[] = [];
    resolveProof(inclusionProofPlan(0, 7), (level, index) => {
      calls.push(`${level}/${index}`);
      return tree.lookup(level, index);
    });
    expect(calls).toEqual(["0/1", "1/1", "1/2", "0/6"]);
  });

  it("refuses missing or malformed nodes with INVALID_INPUT", () => {
    expect(codeOf(() => resolveProof(inclusionProofPlan(0, 8), () => undefined))).toBe(
      "INVALID_INPUT",
    );
    expect(codeOf(() => resolveProof(inclusionProofPlan(0, 8), () => new Uint8Array(31)))).toBe(
      "INVALID_INPUT",
    );
  });
});

describe("plans match the RFC 9162 definitions exhaustively for n ≤ 64", () => {
  it("inclusion and consistency proofs equal PATH and PROOF", () => {
    const leaves = makeLeaves(64, 7);
    const tree = buildTree(leaves);
    for (let n = 1; n <= 64; n++) {
      const prefix = leaves.slice(0, n);
      for (let m = 0; m < n; m++) {
        const got = resolveProof(inclusionProofPlan(m, n), tree.lookup).map(hx);
        expect(got).toEqual(referencePath(m, prefix).map(hx));
      }
      for (let m = 1; m <= n; m++) {
        const got = resolveProof(consistencyProofPlan(m, n), tree.lookup).map(hx);
        expect(got).toEqual(referenceSubproof(m, prefix, true).map(hx));
      }
    }
  });
});
