/**
 * The stored checkpoints of a transparency log and their witness
 * cosignatures: the rows, and how a checkpoint reads back as a signed note
 * carrying the log's signature first, then the cosignature lines stored so
 * far (C2SP tlog-cosignature).
 * @module
 */
import { addSignatureLines } from "@chaoscore/core";
import type { Db } from "../store/db.js";

/**
 * A signed checkpoint as stored: the C2SP signed note and what it says. The
 * note carries the log's signature first, then the witnesses' cosignature
 * lines stored so far (C2SP tlog-cosignature).
 */
export type StoredCheckpoint = {
  size: number;
  rootHash: Uint8Array;
  note: string;
  createdAt: string;
  /** How many witness cosignatures the note carries. */
  cosignatures?: number;
};

type CheckpointRow = {
  size: number;
  root_hash: Uint8Array;
  note: string;
  created_at: Date | string;
  lines: string[] | null;
};

const CHECKPOINT_COLUMNS = `size, root_hash, note, created_at,
  (SELECT array_agg(line ORDER BY created_at, witness) FROM log_cosignatures w
    WHERE w.log_id = c.log_id AND w.size = c.size) AS lines`;

/** Stores the signed checkpoint `note` of the tree of `size` leaves. */
export async function insertCheckpoint(
  tx: Db,
  logId: string,
  size: number,
  rootHash: Uint8Array,
  note: string,
): Promise<StoredCheckpoint> {
  const [created] = await tx.query<{ created_at: Date | string }>(checkpointInsertSql(1, 2, 3, 4), [
    logId,
    size,
    rootHash,
    note,
  ]);
  return storedCheckpoint(size, rootHash, note, created?.created_at);
}

/**
 * The insert of a checkpoint row from the parameters numbered `logId`, `size`,
 * `rootHash` and `note`, answering its `created_at`; the writer's append runs
 * it as the last part of its statement.
 */
export function checkpointInsertSql(logId: number, size: number, rootHash: number, note: number) {
  return `INSERT INTO log_checkpoints (log_id, size, root_hash, note)
  VALUES ($${logId}, $${size}, $${rootHash}, $${note}) RETURNING created_at`;
}

/** A checkpoint just inserted (no cosignatures yet). */
export function storedCheckpoint(
  size: number,
  rootHash: Uint8Array,
  note: string,
  createdAt: Date | string | undefined,
): StoredCheckpoint {
  return {
    size,
    rootHash,
    note,
    createdAt: new Date(createdAt ?? 0).toISOString(),
    cosignatures: 0,
  };
}

/** The first stored checkpoint of log `logId` matching `where` (params from `$2`). */
export async function readCheckpoint(
  db: Db,
  logId: string,
  where: string,
  params: unknown[],
): Promise<StoredCheckpoint | undefined> {
  const [row] = await db.query<CheckpointRow>(
    `SELECT ${CHECKPOINT_COLUMNS} FROM log_checkpoints c WHERE log_id = $1 AND ${where}`,
    [logId, ...params],
  );
  return row === undefined ? undefined : toCheckpoint(row);
}

/** Every stored checkpoint of log `logId`, oldest first. */
export async function readCheckpoints(db: Db, logId: string): Promise<StoredCheckpoint[]> {
  const rows = await db.query<CheckpointRow>(
    `SELECT ${CHECKPOINT_COLUMNS} FROM log_checkpoints c WHERE log_id = $1 ORDER BY size`,
    [logId],
  );
  return rows.map(toCheckpoint);
}

/** The size of the checkpoint a receipt for leaf `index` should carry (see checkpointCovering). */
export async function bestCheckpointSizeCovering(
  db: Db,
  logId: string,
  index: number,
): Promise<number | undefined> {
  const [best] = await db.query<{ size: number }>(
    `SELECT c.size FROM log_checkpoints c
     LEFT JOIN log_cosignatures w ON w.log_id = c.log_id AND w.size = c.size
     WHERE c.log_id = $1 AND c.size > $2
     GROUP BY c.size ORDER BY count(w.witness) DESC, c.size DESC LIMIT 1`,
    [logId, index],
  );
  return best === undefined ? undefined : Number(best.size);
}

/** Stores witness cosignature lines of the checkpoint of `size` (the first per witness kept). */
export async function insertCosignatures(
  db: Db,
  logId: string,
  size: number,
  cosignatures: readonly { witness: string; line: string }[],
): Promise<void> {
  if (cosignatures.length === 0) return;
  await db.query(
    `INSERT INTO log_cosignatures (log_id, size, witness, line)
     SELECT $1, $2, u.witness, u.line FROM unnest($3::text[], $4::text[]) AS u(witness, line)
     ON CONFLICT (log_id, size, witness) DO NOTHING`,
    [logId, size, cosignatures.map((c) => c.witness), cosignatures.map((c) => c.line.trimEnd())],
  );
}

/** The witnesses (`name+keyId`) whose cosignature of the checkpoint of `size` is stored. */
export async function readCosigners(db: Db, logId: string, size: number): Promise<string[]> {
  const rows = await db.query<{ witness: string }>(
    "SELECT witness FROM log_cosignatures WHERE log_id = $1 AND size = $2 ORDER BY witness",
    [logId, size],
  );
  return rows.map((r) => r.witness);
}

function toCheckpoint(r: CheckpointRow): StoredCheckpoint {
  const lines = r.lines ?? [];
  return {
    size: Number(r.size),
    rootHash: r.root_hash,
    // The log's own signature first, then the cosignatures (verified before they were stored).
    note: lines.length === 0 ? r.note : addSignatureLines(r.note, lines),
    createdAt: new Date(r.created_at).toISOString(),
    cosignatures: lines.length,
  };
}
