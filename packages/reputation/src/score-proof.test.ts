import {
  bytesToBase64,
  bytesToHex,
  inclusionProofPlan,
  isChaosCoreError,
  resolveProof,
  rootFromLeafHashes,
} from "@chaoscore/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareScoreKeys,
  SCORE_LEAF_FORMAT,
  SCORE_PROOF_FORMAT,
  type ScoreLeaf,
  type ScoreProof,
  scoreLeafHash,
  verifyScoreProof,
} from "./score-proof.js";

function leaves(n: number): ScoreLeaf[] {
  return Array.from({ length: n }, (_, i) => ({
    format: SCORE_LEAF_FORMAT,
    epoch: 4,
    agent: `0x${i.toString(16).padStart(40, "0")}`,
    dimension: i % 2 === 0 ? "overall" : "studio:gov",
    value: 0.5 + i / (4 * n),
    alpha: 1 + i,
    beta: 1.25,
    samples: i,
  }));
}

function prove(all: ScoreLeaf[], index: number): ScoreProof {
  const hashes = all.map(scoreLeafHash);
  const plan = inclusionProofPlan(index, all.length);
  // A complete-subtree lookup computed from the leaves (what the store keeps).
  const node = (level: number, i: number) =>
    rootFromLeafHashes(hashes.slice(i * 2 ** level, (i + 1) * 2 ** level));
  return {
    format: SCORE_PROOF_FORMAT,
    leaf: all[index] as ScoreLeaf,
    leafIndex: index,
    treeSize: all.length,
    inclusionProof: resolveProof(plan, node).map(bytesToBase64),
    root: bytesToHex(rootFromLeafHashes(hashes)),
  };
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isChaosCoreError(e) ? e.code : "not coded";
  }
  return undefined;
}

describe("verifyScoreProof", () => {
  it("verifies every leaf of every tree size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), (n, k) => {
        const all = leaves(n);
        const proof = prove(all, k % n);
        expect(verifyScoreProof(proof, { root: proof.root, epoch: 4 })).toEqual(all[k % n]);
      }),
    );
  });

  it("fails with REPUTATION_PROOF_INVALID on any change", () => {
    const proof = prove(leaves(9), 5);
    const changed: unknown[] = [
      { ...proof, leaf: { ...proof.leaf, value: 0.1 } },
      { ...proof, leaf: { ...proof.leaf, samples: 6 } },
      { ...proof, leaf: { ...proof.leaf, extra: 1 } },
      { ...proof, leaf: { ...proof.leaf, dimension: "nope" } },
      { ...proof, leafIndex: 4 },
      { ...proof, inclusionProof: proof.inclusionProof.slice(1) },
      { ...proof, root: bytesToHex(new Uint8Array(32)) },
      { ...proof, format: "x" },
      null,
      "proof",
    ];
    changed.forEach((p, i) => {
      expect(
        code(() => verifyScoreProof(p)),
        String(i),
      ).toBe("REPUTATION_PROOF_INVALID");
    });
    expect(code(() => verifyScoreProof(proof, { epoch: 3 }))).toBe("REPUTATION_PROOF_INVALID");
    // A path for size 9 also fits size 10 (RFC 9162 proofs do not bind the size): compare the
    // size with the epoch's, as a checkpoint binds it.
    const resized = { ...proof, treeSize: 10 };
    expect(code(() => verifyScoreProof(resized, { size: 9 }))).toBe("REPUTATION_PROOF_INVALID");
  });
});

describe("compareScoreKeys", () => {
  it("orders by agent, then dimension, by code units", () => {
    const keys = [
      { agent: "0xb", dimension: "overall" },
      { agent: "0xa", dimension: "studio:z" },
      { agent: "0xa", dimension: "capability:z" },
    ].sort(compareScoreKeys);
    expect(keys.map((k) => `${k.agent} ${k.dimension}`)).toEqual([
      "0xa capability:z",
      "0xa studio:z",
      "0xb overall",
    ]);
  });
});
