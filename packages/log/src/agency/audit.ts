/**
 * The log audit against the chain (issue 12 part 3) and in one snapshot
 * (issue 19 item 16). The stored tree must contain every checkpoint the
 * CheckpointAnchor contract holds for the log: same size, same root, a
 * stored signed checkpoint at that size, and consistency proven from the
 * stored tree between the anchored checkpoints and up to the current tree. A
 * log rolled back in its database (leaves, nodes, checkpoints and anchor rows
 * deleted, `logs.size` lowered) audits clean against itself, never against
 * the chain, where its users' receipts point.
 * @module
 */
import { bytesToHex, equalBytes, type Hex, hexToBytes, verifyConsistency } from "@chaoscore/core";
import type { Db } from "../store/db.js";
import type { TransparencyLog } from "./transparency-log.js";

/** One checkpoint of the log as the CheckpointAnchor contract holds it. */
export type ChainCheckpoint = {
  /** Position in the contract's history of the log, from 0. */
  readonly index: number;
  readonly size: number;
  readonly root: Hex;
  /** The block that anchored it, when read (the stored anchor records are checked against it). */
  readonly blockNumber?: number;
};

/** What {@link auditAnchoredCheckpoints} found; `index` is the anchored tree size. */
export type AnchorAuditFinding = {
  index: number;
  kind:
    | "anchor-beyond-log"
    | "anchor-root-mismatch"
    | "anchor-checkpoint-missing"
    | "anchor-inconsistent";
  message: string;
};

/**
 * Runs `fn` in one REPEATABLE READ transaction of `db`: every query of `fn` (through `tx`)
 * sees one snapshot, so writers committing meanwhile (a live gateway) change nothing it reads.
 * On PGlite (one connection) the transaction also holds writers back until `fn` ends.
 * @throws whatever `fn` throws; ChaosCoreError STORE_* from the database.
 */
export async function inSnapshot<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    return fn(tx);
  });
}

/**
 * Checks the stored log (read through `log`, best in a snapshot) against the checkpoints the
 * chain holds for it, oldest first. Returns one finding per problem, naming the anchored size.
 * @example
 * ```ts
 * const onChain = (await contracts.anchor.history(log.origin)).map(toChainCheckpoint);
 * const findings = await auditAnchoredCheckpoints(engine.log, onChain);
 * ```
 */
export async function auditAnchoredCheckpoints(
  log: TransparencyLog,
  anchored: readonly ChainCheckpoint[],
): Promise<AnchorAuditFinding[]> {
  const findings: AnchorAuditFinding[] = [];
  const size = await log.size();
  // Roots of the anchored checkpoints that the stored tree reproduces, for the consistency chain.
  const held: { size: number; root: Uint8Array }[] = [];
  for (const cp of anchored) {
    const root = hexToBytes(cp.root);
    if (cp.size > size) {
      findings.push({
        index: cp.size,
        kind: "anchor-beyond-log",
        message: `the chain holds checkpoint ${cp.index} of this log at size ${cp.size}, but the log has ${size} leaves (rolled back or truncated)`,
      });
      continue;
    }
    let stored: Uint8Array | undefined;
    try {
      stored = await log.rootAt(cp.size);
    } catch (error) {
      findings.push({
        index: cp.size,
        kind: "anchor-root-mismatch",
        message: `the stored tree cannot produce its root at anchored size ${cp.size}: ${(error as Error).message}`,
      });
      continue;
    }
    if (!equalBytes(stored, root)) {
      findings.push({
        index: cp.size,
        kind: "anchor-root-mismatch",
        message: `checkpoint ${cp.index} on chain has root ${cp.root} at size ${cp.size}; the stored tree has ${bytesToHex(stored)} (a different history)`,
      });
      continue;
    }
    const signed = await log.checkpointAt(cp.size);
    if (signed === undefined) {
      findings.push({
        index: cp.size,
        kind: "anchor-checkpoint-missing",
        message: `the log holds no signed checkpoint at size ${cp.size}, which it anchored on chain (checkpoint ${cp.index}): checkpoints were deleted`,
      });
    } else if (!equalBytes(signed.rootHash, root)) {
      findings.push({
        index: cp.size,
        kind: "anchor-root-mismatch",
        message: `the stored checkpoint at size ${cp.size} has another root than checkpoint ${cp.index} on chain`,
      });
    }
    held.push({ size: cp.size, root });
  }
  // Each anchored tree is a prefix of the next and of the current tree: proven from the store.
  if (size > 0 && held.length > 0) {
    const current = { size, root: await log.rootAt(size) };
    const chainOfTrees = [...held, current];
    for (let i = 0; i + 1 < chainOfTrees.length; i++) {
      const a = chainOfTrees[i] as { size: number; root: Uint8Array };
      const b = chainOfTrees[i + 1] as { size: number; root: Uint8Array };
      if (a.size > b.size) {
        findings.push({
          index: a.size,
          kind: "anchor-inconsistent",
          message: `anchored sizes go backwards on chain (${a.size} then ${b.size})`,
        });
        continue;
      }
      if (a.size === 0 || a.size === b.size) continue;
      try {
        verifyConsistency(
          a.size,
          b.size,
          await log.consistencyProof(a.size, b.size),
          a.root,
          b.root,
        );
      } catch (error) {
        findings.push({
          index: b.size,
          kind: "anchor-inconsistent",
          message: `the tree of ${b.size} leaves is not proven to extend the anchored tree of ${a.size}: ${(error as Error).message}`,
        });
      }
    }
  }
  return findings;
}
