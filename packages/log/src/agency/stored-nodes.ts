/**
 * Which tree nodes a transparency log stores, and how the others are read.
 * `log_nodes` holds the complete subtrees at level 0 (the leaf hashes) and at
 * every fourth level from the first tile level on — 8, 12, 16, 20, … — and no
 * other. The tile levels (0, 8, 16, …) are what C2SP tlog-tiles serves; the
 * levels between them (12, 20, …) cost an append one row per 4,096 leaves
 * and keep an inclusion proof above level 8 to ≤ 15 stored nodes per four
 * levels instead of ≤ 255 per tile (migration 15; issue 14, docs/benchmarks.md
 * "Proof serving: a stored level between the tile levels"). A node not
 * stored, at level l, is computed from the 2^(l − b) stored nodes under it at
 * the stored level b below it: at most 128 leaf hashes (levels 1–7; a proof
 * in a full level-0 tile reads that tile whole, TileNodeCache), at most 8
 * nodes above. Level 4 is not stored: it would add a row per 16 leaves to
 * every append (migration 14 halved the rows an append writes, "Ingest,
 * seventh pass").
 * @module
 */
import { type NodeId, nodeHash } from "@chaoscore/core";
import { fromDbHex } from "../store/bytes.js";
import type { Db } from "../store/db.js";

/** Levels per tile (tlog-tiles height). */
export const TILE_HEIGHT = 8;

/** From {@link TILE_HEIGHT} up, a level is stored every this many levels. */
const STORED_STEP = 4;

/** Whether `log_nodes` holds the nodes of `level`. */
export function isStoredLevel(level: number): boolean {
  return level === 0 || (level >= TILE_HEIGHT && level % STORED_STEP === 0);
}

/** The stored nodes a node is computed from: `level`, indices [start, end). */
export type StoredRange = { level: number; start: number; end: number };

/** The stored nodes under node (level, index): itself when its level is stored. */
export function storedRangeOf(level: number, index: number): StoredRange {
  const depth = level < TILE_HEIGHT ? level : level % STORED_STEP;
  const width = 2 ** depth;
  return { level: level - depth, start: index * width, end: (index + 1) * width };
}

/** The key of node (level, index) in the maps below. */
export function nodeKeyOf(level: number, index: number): string {
  return `${level}/${index}`;
}

/**
 * The hashes `depth` levels above `hashes` (consecutive complete subtrees of
 * one level, the first at an index divisible by 2^depth): one per 2^depth of
 * them; a trailing group of fewer gives none.
 */
export function hashUp(hashes: readonly Uint8Array[], depth: number): Uint8Array[] {
  let level: readonly Uint8Array[] = hashes;
  for (let d = 0; d < depth; d++) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(nodeHash(level[i] as Uint8Array, level[i + 1] as Uint8Array));
    }
    level = next;
  }
  return level as Uint8Array[];
}

/**
 * Reads the stored nodes of log `logId` in `ranges` with one statement:
 * level/index key → hash. Overlapping ranges are read once each.
 *
 * Each range is its own scan of the primary key (a LATERAL subquery that
 * `OFFSET 0` keeps the planner from flattening): as a plain join on
 * `idx >= lo AND idx < hi`, the planner cannot tell how narrow the ranges
 * are, and once statistics exist (ANALYZE, autovacuum) it hashed the whole
 * log's nodes instead — 126 ms per proof at 1,000,000 leaves on a Postgres
 * server against 0.3 ms this way (docs/benchmarks.md, eighth pass).
 */
export async function readStoredRanges(
  db: Db,
  logId: string,
  ranges: readonly StoredRange[],
): Promise<Map<string, Uint8Array>> {
  const map = new Map<string, Uint8Array>();
  if (ranges.length === 0) return map;
  const rows = await db.query<{ level: number; idx: number; hash: string }>(
    `SELECT n.level, n.idx, encode(n.hash, 'hex') AS hash
     FROM unnest($2::smallint[], $3::bigint[], $4::bigint[]) AS r(level, lo, hi)
     CROSS JOIN LATERAL (
       SELECT level, idx, hash FROM log_nodes
       WHERE log_id = $1 AND level = r.level AND idx >= r.lo AND idx < r.hi OFFSET 0
     ) n`,
    [logId, ranges.map((r) => r.level), ranges.map((r) => r.start), ranges.map((r) => r.end)],
  );
  for (const r of rows) map.set(nodeKeyOf(Number(r.level), Number(r.idx)), fromDbHex(r.hash));
  return map;
}

/**
 * The hash of node (level, index) from the stored nodes under it in
 * `stored` (read for {@link storedRangeOf}), or undefined when one of them
 * is missing (the subtree is not complete there).
 */
export function computeNode(
  stored: ReadonlyMap<string, Uint8Array>,
  level: number,
  index: number,
): Uint8Array | undefined {
  const range = storedRangeOf(level, index);
  const under: Uint8Array[] = [];
  for (let i = range.start; i < range.end; i++) {
    const hash = stored.get(nodeKeyOf(range.level, i));
    if (hash === undefined) return undefined;
    under.push(hash);
  }
  return hashUp(under, level - range.level)[0];
}

/**
 * The hashes of the `wanted` complete subtrees of log `logId`, computed from
 * the stored nodes under them (one statement): level/index key → hash; a
 * node whose stored nodes are not all there is left out.
 */
export async function readNodes(
  db: Db,
  logId: string,
  wanted: readonly NodeId[],
): Promise<Map<string, Uint8Array>> {
  const stored = await readStoredRanges(
    db,
    logId,
    wanted.map((n) => storedRangeOf(n.level, n.index)),
  );
  const map = new Map<string, Uint8Array>();
  for (const n of wanted) {
    const hash = computeNode(stored, n.level, n.index);
    if (hash !== undefined) map.set(nodeKeyOf(n.level, n.index), hash);
  }
  return map;
}
