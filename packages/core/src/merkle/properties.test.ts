import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../hash.js";
import {
  CompactRange,
  consistencyProofPlan,
  inclusionProofPlan,
  leafHash,
  resolveProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from "../merkle.js";

import { buildTree, codeOf, flipBit, hx, makeLeaves, numRuns } from "./test-support/trees.js";

// ---- property tests ---------------------------------------------------------------------------

describe("properties", () => {
  const treeArb = fc.record({ size: fc.integer({ min: 1, max: 300 }), seed: fc.nat() });

  it("every leaf's plan-based inclusion proof verifies against rootFromLeafHashes", () => {
    fc.assert(
      fc.property(treeArb, ({ size, seed }) => {
        const tree = buildTree(makeLeaves(size, seed));
        const root = rootFromLeafHashes(tree.leaves);
        for (let i = 0; i < size; i++) {
          const proof = resolveProof(inclusionProofPlan(i, size), tree.lookup);
          verifyInclusion(tree.leaves[i] as Uint8Array, i, size, proof, root);
        }
      }),
      { numRuns },
    );
  });

  it("every append-only extension m ≤ n has a valid consistency proof", () => {
    fc.assert(
      fc.property(treeArb, ({ size, seed }) => {
        const tree = buildTree(makeLeaves(size, seed));
        const root = rootFromLeafHashes(tree.leaves);
        for (let m = 1; m <= size; m++) {
          const proof = resolveProof(consistencyProofPlan(m, size), tree.lookup);
          verifyConsistency(m, size, proof, tree.roots[m] as Uint8Array, root);
        }
      }),
      { numRuns },
    );
  });

  it("CompactRange's root equals rootFromLeafHashes after every append, also when rebuilt", () => {
    fc.assert(
      fc.property(
        fc.record({ size: fc.integer({ min: 0, max: 150 }), seed: fc.nat() }),
        ({ size, seed }) => {
          const tree = buildTree(makeLeaves(size, seed));
          for (let m = 0; m <= size; m++) {
            const want = hx(rootFromLeafHashes(tree.leaves.slice(0, m)));
            expect(hx(tree.roots[m] as Uint8Array)).toBe(want);
            expect(hx(CompactRange.fromNodes(m, tree.lookup).root())).toBe(want);
          }
        },
      ),
      { numRuns: Math.max(10, numRuns / 4) },
    );
  });

  it("a flipped bit in any proof hash or root, or a wrong index, fails", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (size, a, b, pick, bit) => {
          const tree = buildTree(makeLeaves(size, a));
          const root = rootFromLeafHashes(tree.leaves);
          const i = a % size;
          const leaf = tree.leaves[i] as Uint8Array;
          const proof = resolveProof(inclusionProofPlan(i, size), tree.lookup);
          if (proof.length > 0) {
            const j = pick % proof.length;
            const bad = proof.map((p, k) => (k === j ? flipBit(p, bit) : p));
            expect(codeOf(() => verifyInclusion(leaf, i, size, bad, root))).toBe(
              "MERKLE_INCLUSION_PROOF_INVALID",
            );
          }
          expect(codeOf(() => verifyInclusion(flipBit(leaf, bit), i, size, proof, root))).toBe(
            "MERKLE_INCLUSION_PROOF_INVALID",
          );
          expect(codeOf(() => verifyInclusion(leaf, i, size, proof, flipBit(root, bit)))).toBe(
            "MERKLE_INCLUSION_PROOF_INVALID",
          );
          const other = (i + 1 + (b % (size - 1))) % size;
          expect(other).not.toBe(i);
          expect(() => verifyInclusion(leaf, other, size, proof, root)).toThrow();
          expect(codeOf(() => verifyInclusion(leaf, other, size, proof, root))).toMatch(/^MERKLE_/);

          const m = 1 + (b % (size - 1)); // 1 ≤ m < size
          const root1 = tree.roots[m] as Uint8Array;
          const cproof = resolveProof(consistencyProofPlan(m, size), tree.lookup);
          const j = pick % cproof.length;
          const cbad = cproof.map((p, k) => (k === j ? flipBit(p, bit) : p));
          expect(codeOf(() => verifyConsistency(m, size, cbad, root1, root))).toBe(
            "MERKLE_CONSISTENCY_PROOF_INVALID",
          );
          expect(codeOf(() => verifyConsistency(m, size, cproof, flipBit(root1, bit), root))).toBe(
            "MERKLE_CONSISTENCY_PROOF_INVALID",
          );
          expect(codeOf(() => verifyConsistency(m, size, cproof, root1, flipBit(root, bit)))).toBe(
            "MERKLE_CONSISTENCY_PROOF_INVALID",
          );
          const m2 = m === 1 ? 2 : m - 1;
          if (m2 < size) {
            expect(codeOf(() => verifyConsistency(m2, size, cproof, root1, root))).toMatch(
              /^MERKLE_/,
            );
          }
        },
      ),
      { numRuns },
    );
  });

  it("proof lengths of plans and verifiers agree for sizes up to 2^53 − 1", () => {
    const random = (n: number) => Array.from({ length: n }, (_, k) => leafHash(utf8(`r${k}`)));
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (size, f) => {
          const i = Math.min(size - 1, Math.floor(f * size));
          const len = inclusionProofPlan(i, size).elements.length;
          const leaf = leafHash(utf8("x"));
          const root = leafHash(utf8("root"));
          expect(codeOf(() => verifyInclusion(leaf, i, size, random(len), root))).toBe(
            "MERKLE_INCLUSION_PROOF_INVALID",
          );
          expect(codeOf(() => verifyInclusion(leaf, i, size, random(len + 1), root))).toBe(
            "MERKLE_PROOF_MALFORMED",
          );
          const m = Math.max(1, i);
          const clen = consistencyProofPlan(m, size).elements.length;
          expect(codeOf(() => verifyConsistency(m, size, random(clen), leaf, root))).toBe(
            "MERKLE_CONSISTENCY_PROOF_INVALID",
          );
          expect(codeOf(() => verifyConsistency(m, size, random(clen + 1), leaf, root))).toBe(
            "MERKLE_PROOF_MALFORMED",
          );
        },
      ),
      { numRuns: numRuns * 5 },
    );
  });
});
