/**
 * Checks and integer helpers shared by the Merkle modules (hash shape, safe indices, bit counts).
 * @module
 */
import { ChaosCoreError } from "../errors.js";

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

export function assertHash(
  value: unknown,
  code: "INVALID_INPUT" | "MERKLE_PROOF_MALFORMED",
  what: string,
): asserts value is Uint8Array {
  if (!isHash(value)) {
    throw new ChaosCoreError(code, `${what} is not a ${HASH_SIZE}-byte hash`, {
      details: { length: value instanceof Uint8Array ? value.length : typeof value },
    });
  }
}

export function assertProof(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) {
    throw new ChaosCoreError("MERKLE_PROOF_MALFORMED", "proof is not an array of hashes");
  }
  proof.forEach((p, i) => {
    assertHash(p, "MERKLE_PROOF_MALFORMED", `proof[${i}]`);
  });
}

/** A non-negative integer up to 2^53 − 1 from a number or bigint. */
export function toIndex(value: unknown, what: string): number {
  if (typeof value === "bigint" && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(value);
  }
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ChaosCoreError(
    "MERKLE_INDEX_OUT_OF_RANGE",
    `${what} must be an integer in [0, 2^53 − 1]`,
    {
      details: {
        [what]:
          typeof value === "bigint" || typeof value === "number" ? String(value) : typeof value,
      },
    },
  );
}

export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** trailingZeros(n) === n;
}

export function bitLength(n: number): number {
  let bits = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) bits++;
  return bits;
}

export function popCount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

export function trailingZeros(n: number): number {
  if (n === 0) return 0;
  let zeros = 0;
  for (let v = n; v % 2 === 0; v /= 2) zeros++;
  return zeros;
}

/** Bitwise XOR of two safe non-negative integers (beyond 32 bits). */
export function xor(a: number, b: number): number {
  const hi = Math.floor(a / 2 ** 32) ^ Math.floor(b / 2 ** 32);
  const lo = (a >>> 0) ^ (b >>> 0);
  return (hi >>> 0) * 2 ** 32 + (lo >>> 0);
}
