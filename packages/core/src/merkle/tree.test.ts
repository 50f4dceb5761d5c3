import { describe, expect, it } from "vitest";
import { emptyRoot, leafHash, nodeHash, rootFromLeafHashes } from "../merkle.js";

import { codeOf, hx, REF_LEAVES, REF_ROOTS } from "./test-support/trees.js";

// ---- unit tests -------------------------------------------------------------------------------

describe("leafHash / nodeHash / emptyRoot", () => {
  it("match RFC 6962 known values", () => {
    expect(hx(emptyRoot())).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(hx(leafHash(new Uint8Array(0)))).toBe(REF_ROOTS[0]);
    expect(hx(nodeHash(REF_LEAVES[0] as Uint8Array, REF_LEAVES[1] as Uint8Array))).toBe(
      REF_ROOTS[1],
    );
  });

  it("nodeHash refuses children that are not 32 bytes", () => {
    expect(codeOf(() => nodeHash(new Uint8Array(31), new Uint8Array(32)))).toBe("INVALID_INPUT");
    expect(codeOf(() => nodeHash(new Uint8Array(32), "x" as unknown as Uint8Array))).toBe(
      "INVALID_INPUT",
    );
  });

  it("emptyRoot returns a fresh copy", () => {
    const a = emptyRoot();
    a[0] = 0;
    expect(hx(emptyRoot()).slice(0, 2)).toBe("e3");
  });
});

describe("rootFromLeafHashes", () => {
  it("gives the reference roots for sizes 0..8", () => {
    expect(hx(rootFromLeafHashes([]))).toBe(hx(emptyRoot()));
    for (let n = 1; n <= 8; n++) {
      expect(hx(rootFromLeafHashes(REF_LEAVES.slice(0, n)))).toBe(REF_ROOTS[n - 1]);
    }
  });

  it("refuses leaf hashes that are not 32 bytes", () => {
    expect(codeOf(() => rootFromLeafHashes([new Uint8Array(33)]))).toBe("INVALID_INPUT");
    expect(codeOf(() => rootFromLeafHashes("x" as unknown as Uint8Array[]))).toBe("INVALID_INPUT");
  });
});
