/**
 * The audit of a transparency log's tree: rebuilds it from the stored leaves
 * and checks it against the stored nodes, the log size and every signed
 * checkpoint, naming the leaf index of every row edited, removed or
 * reordered in the database. Entry content is checked by the caller's
 * `checkEntry` (Proof of Agency: entry-audit.ts).
 * @module
 */
import {
  ChaosCoreError,
  type Checkpoint,
  CompactRange,
  equalBytes,
  leafHash,
  openCheckpoint,
} from "@chaoscore/core";
import { fromDbHex } from "../store/bytes.js";
import type { Db } from "../store/db.js";
import { isStoredLevel } from "./stored-nodes.js";
import type { TransparencyLog } from "./transparency-log.js";

/** One problem found by {@link TransparencyLog.audit}. */
export type AuditFinding = {
  /** The leaf index the problem was found at (or the checkpoint size for checkpoint problems). */
  index: number;
  kind:
    | "missing-leaf"
    | "unexpected-leaf"
    | "leaf-hash-mismatch"
    | "node-mismatch"
    | "checkpoint-root-mismatch"
    | "checkpoint-signature-invalid"
    | "size-mismatch"
    | "entry-invalid";
  message: string;
};

/** What {@link auditTree} reports. */
export type TreeAuditReport = {
  size: number;
  rootHash: Uint8Array;
  checkpoints: number;
  findings: AuditFinding[];
};

const AUDIT_CHUNK = 5000;

/**
 * Audits the tree of `log` (stored in `db`); see {@link TransparencyLog.audit}.
 */
export async function auditTree(
  db: Db,
  log: TransparencyLog,
  checkEntry: (index: number, entry: Uint8Array) => Promise<string | null> | string | null,
  onProgress?: (done: number, total: number) => void,
): Promise<TreeAuditReport> {
  const findings: AuditFinding[] = [];
  const nodeSpans = new Map<AuditFinding, number>();
  const size = await log.size();
  const checkpoints = await log.checkpoints();
  const bySize = new Map(checkpoints.map((c) => [c.size, c]));
  const range = new CompactRange();
  const checkRoot = () => {
    const cp = bySize.get(range.size);
    if (cp === undefined) return;
    try {
      const opened: Checkpoint = openCheckpoint(cp.note, log.verifierKey);
      if (
        opened.size !== cp.size ||
        !equalBytes(opened.rootHash, cp.rootHash) ||
        opened.origin !== log.origin
      ) {
        throw new ChaosCoreError("LOG_AUDIT_FAILED", "note does not match the stored row");
      }
    } catch (error) {
      findings.push({
        index: cp.size,
        kind: "checkpoint-signature-invalid",
        message: `checkpoint at size ${cp.size}: ${(error as Error).message}`,
      });
    }
    if (!equalBytes(range.root(), cp.rootHash)) {
      findings.push({
        index: cp.size,
        kind: "checkpoint-root-mismatch",
        message: `the leaves do not produce the root signed in the checkpoint at size ${cp.size}`,
      });
    }
  };
  checkRoot();
  let expected = 0;
  const last = await db.query<{ max: number | null }>(
    "SELECT max(idx) AS max FROM log_leaves WHERE log_id = $1",
    [log.id],
  );
  const maxIdx = Math.max(Number(last[0]?.max ?? -1), size - 1);
  for (let start = 0; start <= maxIdx; start += AUDIT_CHUNK) {
    const end = start + AUDIT_CHUNK;
    const leaves = await log.entries(start, end);
    const stored = await storedNodesIn(db, log.id, start, end);
    for (const { index, entry } of leaves) {
      while (expected < index) {
        findings.push({
          index: expected,
          kind: "missing-leaf",
          message: `leaf ${expected} is missing`,
        });
        expected++;
      }
      expected = index + 1;
      if (index >= size) {
        findings.push({
          index,
          kind: "unexpected-leaf",
          message: `leaf ${index} is beyond the log size ${size}`,
        });
        continue;
      }
      const problem = await checkEntry(index, entry);
      if (problem !== null)
        findings.push({ index, kind: "entry-invalid", message: `leaf ${index}: ${problem}` });
      // Past a missing leaf, continue with its stored hash so later leaves are still checked.
      while (range.size < index) {
        range.append(stored.get(`0/${range.size}`) ?? new Uint8Array(32));
      }
      for (const node of range.append(leafHash(entry))) {
        // Only the tile levels are stored; the others are computed from them.
        if (!isStoredLevel(node.level)) continue;
        const want = stored.get(`${node.level}/${node.index}`);
        if (want === undefined || !equalBytes(want, node.hash)) {
          const first = node.index * 2 ** node.level;
          const finding: AuditFinding = {
            index: node.level === 0 ? index : first,
            kind: node.level === 0 ? "leaf-hash-mismatch" : "node-mismatch",
            message:
              node.level === 0
                ? `leaf ${index} does not hash to the stored leaf hash (edited or reordered)`
                : `subtree of leaves [${first}, ${first + 2 ** node.level}) differs from the stored node`,
          };
          findings.push(finding);
          nodeSpans.set(finding, 2 ** node.level);
        }
      }
      checkRoot();
    }
    onProgress?.(Math.min(end, maxIdx + 1), maxIdx + 1);
  }
  while (expected < size) {
    findings.push({
      index: expected,
      kind: "missing-leaf",
      message: `leaf ${expected} is missing`,
    });
    expected++;
  }
  for (const cp of checkpoints) {
    if (cp.size > size) {
      findings.push({
        index: cp.size,
        kind: "size-mismatch",
        message: `checkpoint at size ${cp.size} is beyond the log size ${size} (leaves removed)`,
      });
    }
  }
  // A node mismatch that covers a leaf already named adds nothing: keep the leaf.
  const named = findings.filter((f) => f.kind !== "node-mismatch").map((f) => f.index);
  const useful = findings.filter(
    (f) =>
      f.kind !== "node-mismatch" ||
      !named.some((i) => i >= f.index && i < f.index + (nodeSpans.get(f) ?? 1)),
  );
  return {
    size,
    rootHash: range.root(),
    checkpoints: checkpoints.length,
    findings: useful,
  };
}

/** Stored nodes whose last leaf is in [start, end): those appending these leaves creates. */
async function storedNodesIn(
  db: Db,
  logId: string,
  start: number,
  end: number,
): Promise<Map<string, Uint8Array>> {
  const rows = await db.query<{ level: number; idx: number; hash: string }>(
    `SELECT level, idx, encode(hash, 'hex') AS hash FROM log_nodes
     WHERE log_id = $1
       AND (idx + 1) * (1::bigint << level) > $2 AND (idx + 1) * (1::bigint << level) <= $3`,
    [logId, start, end],
  );
  const map = new Map<string, Uint8Array>();
  for (const r of rows) map.set(`${Number(r.level)}/${Number(r.idx)}`, fromDbHex(r.hash));
  return map;
}
