/**
 * Epoch commitments of reputation scores, pure: the leaf format, the RFC 9162
 * tree over an epoch's leaves, and offline verification of a score proof.
 *
 * @module
 */
import {
  base64ToBytes,
  bytesToHex,
  ChaosCoreError,
  canonicalJsonBytes,
  type Hex,
  hexToBytes,
  isChaosCoreError,
  isHex,
  leafHash,
  utf8,
  verifyInclusion,
} from "@chaoscore/core";
import { type Dimension, isDimension } from "./model.js";

export const SCORE_LEAF_FORMAT = "chaoscore.reputation-leaf/v1";
export const SCORE_PROOF_FORMAT = "chaoscore.reputation-proof/v1";

/**
 * One leaf of an epoch's tree: a score as of the epoch's time. The leaf's
 * bytes are its RFC 8785 canonical JSON; leaves are sorted by (agent,
 * dimension), compared as UTF-16 code units.
 */
export type ScoreLeaf = {
  format: typeof SCORE_LEAF_FORMAT;
  epoch: number;
  agent: string;
  dimension: Dimension;
  /** α/(α+β) at the epoch's time. */
  value: number;
  alpha: number;
  beta: number;
  samples: number;
};

/** A proof that a score is committed by an epoch root. */
export type ScoreProof = {
  format: typeof SCORE_PROOF_FORMAT;
  leaf: ScoreLeaf;
  leafIndex: number;
  treeSize: number;
  /** Base64 hashes, from the leaf's sibling up (RFC 9162 PATH). */
  inclusionProof: string[];
  /** The epoch root, 0x-hex. */
  root: Hex;
};

/** The canonical JSON bytes of a leaf. */
export function scoreLeafBytes(leaf: ScoreLeaf): Uint8Array {
  return canonicalJsonBytes(leaf);
}

/** The RFC 9162 leaf hash SHA-256(0x00 ‖ canonical JSON) of a leaf. */
export function scoreLeafHash(leaf: ScoreLeaf): Uint8Array {
  return leafHash(scoreLeafBytes(leaf));
}

/** Orders leaves by agent, then dimension (UTF-16 code units, not locale). */
export function compareScoreKeys(
  a: { agent: string; dimension: string },
  b: { agent: string; dimension: string },
): number {
  if (a.agent !== b.agent) return a.agent < b.agent ? -1 : 1;
  if (a.dimension !== b.dimension) return a.dimension < b.dimension ? -1 : 1;
  return 0;
}

/**
 * Verifies a score proof offline: the leaf is well formed and its hash is
 * included, at `leafIndex` of a tree of `treeSize` leaves, under the proof's
 * root — and, when given, that root is `expected.root` (e.g. the root anchored
 * on chain for the epoch), the tree size `expected.size` (the epoch's size:
 * an RFC 9162 path alone does not bind it) and the leaf's epoch `expected.epoch`.
 * @returns the verified leaf.
 * @throws ChaosCoreError REPUTATION_PROOF_INVALID when anything does not hold
 * (`details.reason`; `cause`: the MERKLE_* error, if any).
 * @example
 * ```ts
 * const proof = await reputation.proveScore(agent, "overall", 3);
 * const leaf = verifyScoreProof(proof, { root: anchoredRoot, epoch: 3 });
 * ```
 */
export function verifyScoreProof(
  proof: unknown,
  expected: { root?: Hex; epoch?: number; size?: number } = {},
): ScoreLeaf {
  const p = proof as Partial<ScoreProof> | null;
  if (typeof p !== "object" || p === null || p.format !== SCORE_PROOF_FORMAT) {
    throw bad("not a chaoscore.reputation-proof/v1 object");
  }
  const leaf = p.leaf;
  if (!isScoreLeaf(leaf)) throw bad("the leaf is not a chaoscore.reputation-leaf/v1 object");
  if (!isHex(p.root, 32)) throw bad("the root is not 32-byte 0x-hex");
  if (!Array.isArray(p.inclusionProof) || !p.inclusionProof.every((h) => typeof h === "string")) {
    throw bad("the inclusion proof is not an array of base64 hashes");
  }
  if (expected.root !== undefined && p.root !== expected.root.toLowerCase()) {
    throw bad("the proof's root is not the expected root", { root: p.root });
  }
  if (expected.size !== undefined && p.treeSize !== expected.size) {
    throw bad("the tree size is not the epoch's size", { treeSize: p.treeSize });
  }
  if (expected.epoch !== undefined && leaf.epoch !== expected.epoch) {
    throw bad("the leaf is of another epoch", { epoch: leaf.epoch });
  }
  try {
    verifyInclusion(
      scoreLeafHash(leaf),
      p.leafIndex as number,
      p.treeSize as number,
      p.inclusionProof.map((h) => base64ToBytes(h)),
      hexToBytes(p.root, 32),
    );
  } catch (error) {
    if (isChaosCoreError(error)) throw bad(`inclusion: ${error.message}`, {}, error);
    throw error;
  }
  return leaf;
}

/** The leaf hash of a leaf, 0x-hex. */
export function leafHashHex(leaf: ScoreLeaf): Hex {
  return bytesToHex(scoreLeafHash(leaf));
}

function isScoreLeaf(value: unknown): value is ScoreLeaf {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const l = value as Record<string, unknown>;
  const keys = Object.keys(l).sort().join(",");
  const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  return (
    keys === "agent,alpha,beta,dimension,epoch,format,samples,value" &&
    l.format === SCORE_LEAF_FORMAT &&
    Number.isSafeInteger(l.epoch) &&
    (l.epoch as number) >= 1 &&
    typeof l.agent === "string" &&
    utf8(l.agent).length > 0 &&
    isDimension(l.dimension) &&
    finite(l.value) &&
    finite(l.alpha) &&
    finite(l.beta) &&
    Number.isSafeInteger(l.samples) &&
    (l.samples as number) >= 0
  );
}

function bad(reason: string, details: Record<string, unknown> = {}, cause?: unknown) {
  return new ChaosCoreError("REPUTATION_PROOF_INVALID", `score proof: ${reason}`, {
    details: { reason, ...details },
    ...(cause === undefined ? {} : { cause }),
  });
}
