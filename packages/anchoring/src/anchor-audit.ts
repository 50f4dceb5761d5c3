/**
 * The stored anchor records against the chain (issue 18, AUDIT18): every FINAL
 * record of a log in `anchors` — what the gateway serves at /v1/log/anchors
 * and puts into receipts (size, root, on-chain index, tx hash, block) — must
 * name a checkpoint the CheckpointAnchor contract holds for that log at that
 * index, with the record's size, root and block. A record whose index the
 * contract does not hold, or holds for another checkpoint, gives receipts that
 * fail on chain (the batch-anchor bug fixed in c3ba2b4 stored such indexes).
 * @module
 */
import type { ChainCheckpoint, Db } from "@chaoscore/log";
import { ANCHOR_COLUMNS, type AnchorRecord, type AnchorRow, toRecord } from "./anchor-records.js";

/** What {@link auditStoredAnchors} found; `index` is the record's tree size (as the anchor findings). */
export type AnchorRecordFinding = {
  index: number;
  kind: "anchor-record-not-on-chain" | "anchor-record-mismatch";
  message: string;
  /** The `anchors` row. */
  anchorId: number;
  /** The index the record names (null: none stored). */
  recordIndex: number | null;
  /** The index at which the contract holds the record's size and root, or null: nowhere. */
  chainIndex: number | null;
};

/**
 * Checks every final anchor record of `log` on `chain.chainId` / `chain.contract` against the
 * contract's history of the log (`chain.checkpoints`, index order, as read with `history`):
 * the checkpoint at the record's index must exist and have the record's size, root and, when
 * both are known, block. Records of other chains or contracts are not checked. Pass the `db` of
 * the audit's snapshot. Returns the number of records checked and one finding per bad record.
 * @throws ChaosCoreError STORE_* from the database.
 * @example
 * ```ts
 * const { findings } = await auditStoredAnchors(db, { id: log.id, origin: log.origin }, history);
 * ```
 */
export async function auditStoredAnchors(
  db: Db,
  log: { id: string; origin: string },
  chain: { chainId: string; contract: string; checkpoints: readonly ChainCheckpoint[] },
): Promise<{ checked: number; findings: AnchorRecordFinding[] }> {
  const rows = await db.query<AnchorRow>(
    `SELECT ${ANCHOR_COLUMNS} FROM anchors
     WHERE log_id = $1 AND chain_id = $2 AND contract = $3 AND status = 'final' ORDER BY size, id`,
    [log.id, chain.chainId, chain.contract.toLowerCase()],
  );
  const bySize = new Map(chain.checkpoints.map((cp) => [cp.size, cp]));
  const findings: AnchorRecordFinding[] = [];
  for (const record of rows.map(toRecord)) {
    const finding = checkRecord(record, log.origin, chain.checkpoints, bySize);
    if (finding !== undefined) findings.push(finding);
  }
  return { checked: rows.length, findings };
}

function checkRecord(
  record: AnchorRecord,
  origin: string,
  checkpoints: readonly ChainCheckpoint[],
  bySize: ReadonlyMap<number, ChainCheckpoint>,
): AnchorRecordFinding | undefined {
  const root = record.root.toLowerCase();
  const sameSize = bySize.get(record.size);
  const chainIndex =
    sameSize !== undefined && sameSize.root.toLowerCase() === root ? sameSize.index : null;
  const where =
    chainIndex === null
      ? `the contract holds no checkpoint of size ${record.size} with root ${root} for this log`
      : `the contract holds it at index ${chainIndex}`;
  const base = {
    index: record.size,
    anchorId: record.id,
    recordIndex: record.index,
    chainIndex,
  };
  const what = `anchor record ${record.id} (size ${record.size}, tx ${record.txHash ?? "none"})`;
  if (record.index === null) {
    // Not served in receipts (no index), but listed: it must still be on chain.
    if (chainIndex !== null) return undefined;
    return {
      ...base,
      kind: "anchor-record-not-on-chain",
      message: `${what} is final but ${where} (origin ${origin})`,
    };
  }
  const cp = checkpoints[record.index];
  if (cp === undefined || cp.index !== record.index) {
    return {
      ...base,
      kind: "anchor-record-not-on-chain",
      message: `${what} names on-chain checkpoint ${record.index}, but the contract holds ${checkpoints.length} of origin ${origin}; ${where}`,
    };
  }
  const sizeRootOk = cp.size === record.size && cp.root.toLowerCase() === root;
  const blockOk =
    cp.blockNumber === undefined ||
    record.blockNumber === null ||
    cp.blockNumber === record.blockNumber;
  if (sizeRootOk && blockOk) return undefined;
  return {
    ...base,
    kind: "anchor-record-mismatch",
    message: sizeRootOk
      ? `${what} names on-chain checkpoint ${record.index}, anchored in block ${cp.blockNumber}, but the record says block ${record.blockNumber}`
      : `${what} names on-chain checkpoint ${record.index}, which is size ${cp.size} root ${cp.root}, not the record's root ${root}; ${where}`,
  };
}

/** A record {@link repairStoredAnchors} changed. */
export type RepairedAnchor = { anchorId: number; from: number | null; to: number };

/**
 * Repairs the final anchor records of `findings` whose size and root the contract holds at
 * another index (`chainIndex` known): the record takes that index and goes back to `mined`,
 * so the next reconcile of any anchoring process (`serve --anchor-every`, `chaoscore anchor`)
 * re-reads its transaction and block and makes it final again; receipts carry no anchor of it
 * meanwhile rather than a wrong one. Records the contract does not hold at all are left for
 * the operator. Only rows still `final` with the index the finding names are changed.
 * @throws ChaosCoreError STORE_* from the database.
 */
export async function repairStoredAnchors(
  db: Db,
  findings: readonly AnchorRecordFinding[],
  now: Date = new Date(),
): Promise<RepairedAnchor[]> {
  const repaired: RepairedAnchor[] = [];
  for (const f of findings) {
    if (f.chainIndex === null) continue;
    const rows = await db.query<{ id: number }>(
      `UPDATE anchors SET anchor_index = $2, status = 'mined', updated_at = $3,
         last_error = $4
       WHERE id = $1 AND status = 'final' AND anchor_index IS NOT DISTINCT FROM $5 RETURNING id`,
      [
        f.anchorId,
        f.chainIndex,
        now.toISOString(),
        `log audit --repair-anchors: index ${f.recordIndex ?? "none"} → ${f.chainIndex}, which the contract holds`,
        f.recordIndex,
      ],
    );
    if (rows.length > 0)
      repaired.push({ anchorId: f.anchorId, from: f.recordIndex, to: f.chainIndex });
  }
  return repaired;
}
