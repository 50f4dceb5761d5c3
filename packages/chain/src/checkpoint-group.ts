/**
 * Groups of logs in the CheckpointAnchor (`anchorGroup`): a family of logs
 * (the shards of one deployment) keeps one storage slot, the hash of its live
 * state list; each log's history lives in its `Anchored` events. This module
 * holds the pure parts: the group id, the state list's canonical order and
 * hash, and the next state after an anchor. See docs/spec/contracts.md.
 *
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";
import { toHash, toUint, UINT64_MAX } from "./contract-args.js";
import type { Hex } from "./types.js";

/** One live log of a group: its anchored-checkpoint count and latest size and root. */
export type GroupLogState = {
  readonly logId: Hex;
  readonly count: bigint;
  readonly size: bigint;
  readonly root: Hex;
};

/** One checkpoint of a group anchor. */
export type GroupAnchorInput = {
  /** The C2SP checkpoint origin of the log (its logId is keccak256 of it). */
  readonly origin: string;
  readonly size: bigint | number;
  readonly root: Hex | Uint8Array;
  /** RFC 9162 consistency proof from the log's state in the group; empty for a new log. */
  readonly proof?: readonly (Hex | Uint8Array)[];
  /** The log leaves the group's live state after this checkpoint and is never anchored again. */
  readonly retire?: boolean;
};

/**
 * A group input as the contract takes it (`GroupInput`): `log` is a position in the current
 * state (a value below 2**64) or a new log's id; its proof is the next `proofLength` hashes of
 * the call's `proofs`.
 */
export type GroupInputStruct = {
  log: Hex;
  size: bigint;
  root: Hex;
  proofLength: bigint;
  retire: boolean;
};

const ZERO: Hex = `0x${"0".repeat(64)}`;

/** The log id of a checkpoint origin: keccak256 of its UTF-8 bytes (as the contract's `logIdOf`). */
export function logIdOf(origin: string): Hex {
  if (typeof origin !== "string" || origin === "") {
    throw new ChaosCoreError("INVALID_INPUT", "a log origin must be a non-empty string");
  }
  return keccak256(toUtf8Bytes(origin)) as Hex;
}

/** The id of a group: keccak256 of the family origin (the origin of its first log), as a log id. */
export function groupIdOf(familyOrigin: string): Hex {
  return logIdOf(familyOrigin);
}

/** Sorts log states (or anything with a logId) into the canonical order: ascending logId bytes. */
export function byLogId<T extends { readonly logId: Hex }>(a: T, b: T): number {
  const x = a.logId.toLowerCase();
  const y = b.logId.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The hash the contract stores for a group's live state: keccak256 of
 * `abi.encode(LogState[])` in ascending logId order; zero for an empty list.
 */
export function groupStateHash(states: readonly GroupLogState[]): Hex {
  if (states.length === 0) return ZERO;
  const tuples = [...states].sort(byLogId).map((s) => [s.logId, s.count, s.size, s.root] as const);
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(["tuple(bytes32,uint64,uint64,bytes32)[]"], [tuples]),
  ) as Hex;
}

/**
 * The contract's arguments for one group anchor, and the state it leaves:
 * logs of `current` are named by position, new ones by logId; both lists in
 * ascending logId order.
 * @throws ChaosCoreError INVALID_INPUT (no input, a log named twice, a malformed size, root or
 * proof, a proof for a new log).
 */
export function planGroupAnchor(
  current: readonly GroupLogState[],
  inputs: readonly GroupAnchorInput[],
): { current: GroupLogState[]; inputs: GroupInputStruct[]; proofs: Hex[]; next: GroupLogState[] } {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new ChaosCoreError("INVALID_INPUT", "anchorGroup needs at least one checkpoint");
  }
  const live = [...current].sort(byLogId);
  const position = new Map(live.map((s, i) => [s.logId.toLowerCase(), i]));
  const next = new Map(live.map((s) => [s.logId.toLowerCase(), s]));
  const planned = inputs.map((input: GroupAnchorInput) => {
    if (input === null || typeof input !== "object") {
      throw new ChaosCoreError("INVALID_INPUT", "a checkpoint to anchor must be an object");
    }
    const logId = logIdOf(input.origin).toLowerCase() as Hex;
    if (BigInt(logId) < 2n ** 64n) {
      // keccak256 gives this with probability 2^-192; the contract reads it as a position
      throw new ChaosCoreError("INVALID_INPUT", `log ${input.origin}: its id is below 2^64`);
    }
    const size = toUint(input.size, "size", UINT64_MAX);
    const root = toHash(input.root, "root");
    const proof = (input.proof ?? []).map((p, i) => toHash(p, `proof[${i}]`));
    const at = position.get(logId);
    const old = next.get(logId);
    if (at === undefined && proof.length > 0) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        `log ${input.origin} is new to the group: no proof`,
      );
    }
    return { logId, size, root, proof, at, old, retire: input.retire === true };
  });
  planned.sort(byLogId);
  let previous: Hex | undefined;
  planned.forEach((p) => {
    if (previous === p.logId) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        `log ${p.logId} is named twice in one group anchor`,
      );
    }
    previous = p.logId;
    if (p.retire) next.delete(p.logId);
    else
      next.set(p.logId, {
        logId: p.logId,
        count: (p.old?.count ?? 0n) + 1n,
        size: p.size,
        root: p.root,
      });
  });
  return {
    current: live,
    inputs: planned.map((p) => ({
      log: p.at === undefined ? p.logId : (`0x${p.at.toString(16).padStart(64, "0")}` as Hex),
      size: p.size,
      root: p.root,
      proofLength: BigInt(p.proof.length),
      retire: p.retire,
    })),
    proofs: planned.flatMap((p) => p.proof),
    next: [...next.values()].sort(byLogId),
  };
}
