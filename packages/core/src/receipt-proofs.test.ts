import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "./errors.js";
import { base64ToBytes, bytesToBase64, bytesToHex } from "./hex.js";
import {
  codeOf,
  flipBit,
  makeLeaves,
  numRuns,
  referencePath,
} from "./merkle/test-support/trees.js";
import { rootFromLeafHashes } from "./merkle/tree.js";
import { verifyInclusion } from "./merkle.js";
import { ReceiptProofMemo } from "./receipt-proofs.js";

/**
 * Verifies two inclusion proofs in one tree: with one memo for both, as verifyReceipt does, or
 * (`memo: false`) each plainly. Each result is "ok" or the refusal's code.
 */
function verifyBoth(
  leaves: Uint8Array[],
  first: { index: number; proof: string[] },
  second: { index: number; proof: string[] },
  { memo = true }: { memo?: boolean } = {},
): { first: string; second: string } {
  const root = rootFromLeafHashes(leaves);
  const shared = memo ? new ReceiptProofMemo() : undefined;
  const run = ({ index, proof }: { index: number; proof: string[] }): string => {
    const check = () =>
      shared === undefined
        ? verifyInclusion(
            leaves[index] as Uint8Array,
            index,
            leaves.length,
            proof.map((p) => base64ToBytes(p)),
            root,
          )
        : verifyInclusion(
            leaves[index] as Uint8Array,
            index,
            leaves.length,
            proof.map((p) => shared.decode(p)),
            root,
            (l, r) => shared.node(l, r),
          );
    try {
      check();
      return "ok";
    } catch (e) {
      if (isChaosCoreError(e)) return e.code;
      throw e;
    }
  };
  return { first: run(first), second: run(second) };
}

const pathOf = (index: number, leaves: Uint8Array[]) => ({
  index,
  proof: referencePath(index, leaves).map(bytesToBase64),
});

describe("ReceiptProofMemo", () => {
  it("decodes as base64ToBytes does, and refuses what it refuses", () => {
    const memo = new ReceiptProofMemo();
    const text = bytesToBase64(new Uint8Array(32).fill(7));
    expect(bytesToHex(memo.decode(text))).toBe(bytesToHex(base64ToBytes(text)));
    expect(memo.decode(text)).toBe(memo.decode(text)); // decoded once
    const stray = `${text.slice(0, 42)}B=`; // bits past the data: not canonical
    expect(codeOf(() => base64ToBytes(stray))).toBe("INVALID_INPUT");
    expect(codeOf(() => memo.decode(stray))).toBe("INVALID_INPUT");
  });

  it("two proofs in one tree verify with one memo exactly as without it, tampered or not", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 70 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 0, max: n - 1 }),
              fc.integer({ min: 0, max: n - 1 }),
              fc.nat(),
              fc.nat(),
              fc.boolean(),
            ),
          ),
        ([n, a, b, where, bit, tamperFirst]) => {
          const leaves = makeLeaves(n);
          const first = pathOf(a, leaves);
          const second = pathOf(b, leaves);
          expect(verifyBoth(leaves, first, second)).toEqual({ first: "ok", second: "ok" });
          // one bit flipped in one hash of one proof (the other verified first or second)
          const target = tamperFirst ? first : second;
          if (target.proof.length > 0) {
            const i = where % target.proof.length;
            const bytes = base64ToBytes(target.proof[i]);
            target.proof[i] = bytesToBase64(flipBit(bytes, bit % 256));
            const plain = verifyBoth(leaves, first, second, { memo: false });
            expect(plain[tamperFirst ? "first" : "second"]).toBe("MERKLE_INCLUSION_PROOF_INVALID");
            expect(verifyBoth(leaves, first, second)).toEqual(plain);
          }
        },
      ),
      { numRuns },
    );
  });

  it("refuses the second proof when it leaves the shared path for other hashes above the meeting point", () => {
    const leaves = makeLeaves(16);
    const action = pathOf(6, leaves);
    const outcome = pathOf(7, leaves);
    // leaves 6 and 7 meet at once: everything above is shared; change the outcome's top hash only
    outcome.proof[3] = bytesToBase64(flipBit(base64ToBytes(outcome.proof[3] as string), 0));
    expect(verifyBoth(leaves, action, outcome)).toEqual({
      first: "ok",
      second: "MERKLE_INCLUSION_PROOF_INVALID",
    });
  });
});
