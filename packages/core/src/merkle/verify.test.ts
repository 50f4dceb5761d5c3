import { describe, expect, it } from "vitest";
import {
  emptyRoot,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from "../merkle.js";

import {
  codeOf,
  h,
  hx,
  REF_CONSISTENCY,
  REF_INCLUSION,
  REF_LEAVES,
  REF_ROOTS,
} from "./test-support/trees.js";

describe("verifyInclusion / rootFromInclusionProof", () => {
  it("verifies the reference proofs", () => {
    for (const { index, size, proof } of REF_INCLUSION) {
      const leaf = REF_LEAVES[index] as Uint8Array;
      const root = h(REF_ROOTS[size - 1] as string);
      expect(() => verifyInclusion(leaf, index, size, proof.map(h), root)).not.toThrow();
      expect(() =>
        verifyInclusion(leaf, BigInt(index), BigInt(size), proof.map(h), root),
      ).not.toThrow();
      expect(hx(rootFromInclusionProof(leaf, index, size, proof.map(h)))).toBe(hx(root));
    }
  });

  it("fails with the expected codes", () => {
    const leaf = REF_LEAVES[5] as Uint8Array;
    const root = h(REF_ROOTS[7] as string);
    const proof = (REF_INCLUSION[2] as { proof: string[] }).proof.map(h);
    expect(codeOf(() => verifyInclusion(leaf, 5, 8, proof, emptyRoot()))).toBe(
      "MERKLE_INCLUSION_PROOF_INVALID",
    );
    expect(codeOf(() => verifyInclusion(leaf, 4, 8, proof, root))).toBe(
      "MERKLE_INCLUSION_PROOF_INVALID",
    );
    expect(codeOf(() => verifyInclusion(leaf, 8, 8, proof, root))).toBe(
      "MERKLE_INDEX_OUT_OF_RANGE",
    );
    expect(codeOf(() => verifyInclusion(leaf, 5, 8, proof.slice(1), root))).toBe(
      "MERKLE_PROOF_MALFORMED",
    );
    expect(codeOf(() => verifyInclusion(leaf, 5, 8, [...proof, root], root))).toBe(
      "MERKLE_PROOF_MALFORMED",
    );
    expect(codeOf(() => verifyInclusion(leaf, 5, 8, proof, root.slice(1)))).toBe(
      "MERKLE_PROOF_MALFORMED",
    );
    expect(codeOf(() => verifyInclusion(leaf.slice(1), 5, 8, proof, root))).toBe(
      "MERKLE_PROOF_MALFORMED",
    );
    // Untrusted shapes never become a TypeError.
    expect(
      codeOf(() => verifyInclusion(leaf, 5, 8, "proof" as unknown as Uint8Array[], root)),
    ).toBe("MERKLE_PROOF_MALFORMED");
    expect(
      codeOf(() =>
        verifyInclusion(leaf, 5, 8, [null, null, null] as unknown as Uint8Array[], root),
      ),
    ).toBe("MERKLE_PROOF_MALFORMED");
    expect(
      codeOf(() => verifyInclusion(leaf, 5, 8, proof, undefined as unknown as Uint8Array)),
    ).toBe("MERKLE_PROOF_MALFORMED");
  });
});

describe("verifyConsistency", () => {
  it("verifies the reference proofs", () => {
    for (const { size1, size2, proof } of REF_CONSISTENCY) {
      const root1 = h(REF_ROOTS[size1 - 1] as string);
      const root2 = h(REF_ROOTS[size2 - 1] as string);
      expect(() => verifyConsistency(size1, size2, proof.map(h), root1, root2)).not.toThrow();
    }
  });

  it("handles the edge cases of equal and zero sizes", () => {
    const r = h(REF_ROOTS[0] as string);
    const e = emptyRoot();
    expect(() => verifyConsistency(1, 1, [], r, r)).not.toThrow();
    expect(codeOf(() => verifyConsistency(1, 1, [], r, e))).toBe(
      "MERKLE_CONSISTENCY_PROOF_INVALID",
    );
    expect(codeOf(() => verifyConsistency(1, 1, [r], r, r))).toBe("MERKLE_PROOF_MALFORMED");
    expect(codeOf(() => verifyConsistency(0, 0, [], e, e))).toBe("MERKLE_INDEX_OUT_OF_RANGE");
    expect(codeOf(() => verifyConsistency(0, 1, [], e, r))).toBe("MERKLE_INDEX_OUT_OF_RANGE");
    expect(codeOf(() => verifyConsistency(2, 1, [], r, r))).toBe("MERKLE_INDEX_OUT_OF_RANGE");
    expect(codeOf(() => verifyConsistency(1, 2, [], r, r))).toBe("MERKLE_PROOF_MALFORMED");
  });
});
