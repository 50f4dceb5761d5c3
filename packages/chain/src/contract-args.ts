/**
 * Argument checks of the contract wrappers: a malformed hash, integer, URI or
 * address fails with INVALID_INPUT before anything is encoded or sent.
 *
 * @module
 */
import { bytesToHex, ChaosCoreError } from "@chaoscore/core";
import { jsonSafe } from "./errors.js";
import type { Address, Hex } from "./types.js";

const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The largest uint64 (sizes, indices and versions on chain). */
export const UINT64_MAX = 2n ** 64n - 1n;
/** The largest uint256. */
export const UINT256_MAX = 2n ** 256n - 1n;

/** A 32-byte hash as lowercase hex. @throws ChaosCoreError INVALID_INPUT */
export function toHash(value: unknown, what: string): Hex {
  if (value instanceof Uint8Array) {
    if (value.length === 32) return bytesToHex(value);
  } else if (typeof value === "string" && HASH.test(value)) {
    return value.toLowerCase() as Hex;
  }
  throw new ChaosCoreError("INVALID_INPUT", `${what} must be a 32-byte hash`, {
    details: {
      what,
      length:
        value instanceof Uint8Array
          ? value.length
          : typeof value === "string"
            ? (value.length - 2) / 2
            : typeof value,
    },
  });
}

/** An integer in [0, max] as a bigint. @throws ChaosCoreError INVALID_INPUT */
export function toUint(value: unknown, what: string, max: bigint): bigint {
  if ((typeof value === "number" && Number.isSafeInteger(value)) || typeof value === "bigint") {
    const v = BigInt(value);
    if (v >= 0n && v <= max) return v;
  }
  throw new ChaosCoreError("INVALID_INPUT", `${what} must be an integer in [0, ${max}]`, {
    details: {
      what,
      value: jsonSafe(
        typeof value === "number" || typeof value === "bigint" ? value : typeof value,
      ),
    },
  });
}

/** A URI (any string). @throws ChaosCoreError INVALID_INPUT */
export function toUri(value: unknown): string {
  if (typeof value !== "string")
    throw new ChaosCoreError("INVALID_INPUT", "a URI must be a string");
  return value;
}

/** Bytes as hex (`0x…`). */
export function toBytes(value: Hex | Uint8Array): Hex {
  return value instanceof Uint8Array ? bytesToHex(value) : value;
}

/** @throws ChaosCoreError INVALID_INPUT unless `value` is a 20-byte 0x address. */
export function assertAddress(value: unknown, what: string): asserts value is Address {
  if (typeof value !== "string" || !ADDRESS.test(value)) {
    throw new ChaosCoreError("INVALID_INPUT", `${what} must be a 20-byte 0x address`, {
      details: { what },
    });
  }
}
