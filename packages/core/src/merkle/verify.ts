/**
 * Defensive verification of inclusion and consistency proofs (RFC 9162 §2.1.3.2 and §2.1.4.2).
 * @module
 */
import { ChaosCoreError } from "../errors.js";
import { equalBytes } from "../hex.js";
import {
  assertHash,
  assertProof,
  bitLength,
  isPowerOfTwo,
  popCount,
  toIndex,
  trailingZeros,
  xor,
} from "./integers.js";
import { hashChildren } from "./tree.js";
/**
 * Computes the root implied by an inclusion proof (RFC 9162 §2.1.3.2, steps
 * 1–4), after checking the proof has exactly the length the index and size
 * require.
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when an index or size is
 * invalid or `leafIndex >= treeSize`.
 * @throws ChaosCoreError MERKLE_PROOF_MALFORMED when the leaf hash or a proof
 * hash is not 32 bytes, or the proof has the wrong number of hashes.
 * @param node - the interior node hash, `hashChildren` by default (a caller
 * may pass a memo of it: it must return what `hashChildren` returns).
 * @example
 * ```ts
 * const root = rootFromInclusionProof(leafHash(entry), 5, 8, proof);
 * ```
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  leafIndex: bigint | number,
  treeSize: bigint | number,
  proof: readonly Uint8Array[],
  node: (left: Uint8Array, right: Uint8Array) => Uint8Array = hashChildren,
): Uint8Array {
  const index = toIndex(leafIndex, "leafIndex");
  const size = toIndex(treeSize, "treeSize");
  if (index >= size) {
    throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", "leaf index is not below tree size", {
      details: { leafIndex: index, treeSize: size },
    });
  }
  assertHash(leafHash, "MERKLE_PROOF_MALFORMED", "leaf hash");
  assertProof(proof);
  const want = inclusionProofLength(index, size);
  if (proof.length !== want) {
    throw new ChaosCoreError(
      "MERKLE_PROOF_MALFORMED",
      `inclusion proof has ${proof.length} hashes, expected ${want}`,
      { details: { leafIndex: index, treeSize: size, got: proof.length, want } },
    );
  }
  // RFC 9162 §2.1.3.2.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw inclusionInvalid("proof is longer than the path to the root");
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw inclusionInvalid("proof is shorter than the path to the root");
  return r;
}

/**
 * Verifies that `leafHash` is the leaf at `leafIndex` of the tree of
 * `treeSize` leaves whose root is `root` (RFC 9162 §2.1.3.2).
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when an index or size is
 * invalid or `leafIndex >= treeSize`.
 * @throws ChaosCoreError MERKLE_PROOF_MALFORMED when a hash is not 32 bytes
 * or the proof has the wrong number of hashes.
 * @throws ChaosCoreError MERKLE_INCLUSION_PROOF_INVALID when the proof does
 * not lead to `root`.
 * @param node - as for {@link rootFromInclusionProof}.
 * @example
 * ```ts
 * verifyInclusion(leafHash(entry), 5, checkpoint.size, proof, checkpoint.rootHash);
 * ```
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  leafIndex: bigint | number,
  treeSize: bigint | number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  node: (left: Uint8Array, right: Uint8Array) => Uint8Array = hashChildren,
): void {
  const computed = rootFromInclusionProof(leafHash, leafIndex, treeSize, proof, node);
  assertHash(root, "MERKLE_PROOF_MALFORMED", "root");
  if (!equalBytes(computed, root)) {
    throw inclusionInvalid("the proof leads to another root");
  }
}

/**
 * Verifies that the tree of `size1` leaves with root `root1` is a prefix of
 * the tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2). Equal
 * sizes need an empty proof and equal roots. A proof from the empty tree
 * (`size1 = 0`) is refused, as transparency-dev/merkle does: it proves
 * nothing and RFC 9162 does not define it.
 * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE unless 0 < size1 <= size2.
 * @throws ChaosCoreError MERKLE_PROOF_MALFORMED when a hash is not 32 bytes
 * or the proof has the wrong number of hashes.
 * @throws ChaosCoreError MERKLE_CONSISTENCY_PROOF_INVALID when the proof does
 * not link `root1` to `root2`.
 * @example
 * ```ts
 * verifyConsistency(old.size, cur.size, proof, old.rootHash, cur.rootHash);
 * ```
 */
export function verifyConsistency(
  size1: bigint | number,
  size2: bigint | number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  const first = toIndex(size1, "size1");
  const second = toIndex(size2, "size2");
  if (first > second) {
    throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", "size1 is larger than size2", {
      details: { size1: first, size2: second },
    });
  }
  if (first === 0) {
    throw new ChaosCoreError(
      "MERKLE_INDEX_OUT_OF_RANGE",
      "a consistency proof from the empty tree is meaningless",
      { details: { size1: first, size2: second } },
    );
  }
  assertHash(root1, "MERKLE_PROOF_MALFORMED", "root1");
  assertHash(root2, "MERKLE_PROOF_MALFORMED", "root2");
  assertProof(proof);
  if (first === second) {
    if (proof.length !== 0) {
      throw new ChaosCoreError("MERKLE_PROOF_MALFORMED", "equal sizes need an empty proof", {
        details: { size1: first, size2: second, got: proof.length, want: 0 },
      });
    }
    if (!equalBytes(root1, root2)) throw consistencyInvalid("equal sizes but different roots");
    return;
  }
  const want = consistencyProofLength(first, second);
  if (proof.length !== want) {
    throw new ChaosCoreError(
      "MERKLE_PROOF_MALFORMED",
      `consistency proof has ${proof.length} hashes, expected ${want}`,
      { details: { size1: first, size2: second, got: proof.length, want } },
    );
  }
  // RFC 9162 §2.1.4.2.
  const path = isPowerOfTwo(first) ? [root1, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) throw consistencyInvalid("proof is longer than the path to the root");
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw consistencyInvalid("proof is shorter than the path to the root");
  if (!equalBytes(fr, root1)) throw consistencyInvalid("the proof does not lead to root1");
  if (!equalBytes(sr, root2)) throw consistencyInvalid("the proof does not lead to root2");
}

/** inner + border of transparency-dev's decompInclProof: the exact proof length. */
export function inclusionProofLength(index: number, size: number): number {
  const inner = bitLength(xor(index, size - 1));
  return inner + popCount(Math.floor(index / 2 ** inner));
}

export function consistencyProofLength(size1: number, size2: number): number {
  const shift = trailingZeros(size1);
  const inner = bitLength(xor(size1 - 1, size2 - 1)) - shift;
  const border = popCount(Math.floor((size1 - 1) / 2 ** (inner + shift)));
  return (isPowerOfTwo(size1) ? 0 : 1) + inner + border;
}

export function inclusionInvalid(
  message: string,
): ChaosCoreError<"MERKLE_INCLUSION_PROOF_INVALID"> {
  return new ChaosCoreError("MERKLE_INCLUSION_PROOF_INVALID", message);
}

export function consistencyInvalid(
  message: string,
): ChaosCoreError<"MERKLE_CONSISTENCY_PROOF_INVALID"> {
  return new ChaosCoreError("MERKLE_CONSISTENCY_PROOF_INVALID", message);
}
