/**
 * Reading recorded actions: one by id, or pages of those matching filters,
 * in log order.
 * @module
 */
import { type Address, fail, type Hex, isHex } from "@chaoscore/core";
import type { Db } from "../store/db.js";

/** A recorded action as stored. */
export type ActionRecord = {
  id: Hex;
  /** The shard (log id) whose leaf it is. */
  log: string;
  leafIndex: number;
  agent: Address;
  studio: string;
  task: string;
  actionType: string;
  nonce: string;
  timestamp: string;
  payloadHash: Hex;
  hasPayload: boolean;
  outcomeId: Hex | null;
  recordedAt: string;
};

/** Filters of {@link ProofOfAgency.query}; results are ordered by leaf index. */
export type ActionQuery = {
  agent?: string;
  studio?: string;
  task?: string;
  actionType?: string;
  /** ISO time or unix seconds: actions with timestamp ≥ from. */
  from?: string;
  /** ISO time or unix seconds: actions with timestamp < to. */
  to?: string;
  limit?: number;
  cursor?: string;
};

const UNIX_RE = /^[0-9]{1,12}$/;

/**
 * The action `id` of the log family `logId` (any of its shards).
 * @throws ChaosCoreError AGENCY_ACTION_NOT_FOUND.
 */
export async function getAction(db: Db, logId: string, id: string): Promise<ActionRecord> {
  if (!isHex(id, 32)) fail("AGENCY_ACTION_NOT_FOUND", "action ids are 32-byte lowercase 0x-hex");
  const items = await selectActions(db, logId, "a.id = decode($1, 'hex')", [id.slice(2)], 1);
  const item = items[0];
  if (item === undefined) fail("AGENCY_ACTION_NOT_FOUND", `no action ${id}`);
  return item;
}

/**
 * Actions of the log family `logId` matching every given filter, in log order
 * (shard by shard, leaf by leaf), a page at a time. A cursor is `<leaf>` in
 * shard 0 and `<shard>:<leaf>` after it.
 * @throws ChaosCoreError INVALID_INPUT on a malformed cursor, time or limit.
 */
export async function queryActions(
  db: Db,
  logId: string,
  q: ActionQuery,
): Promise<{ items: ActionRecord[]; nextCursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace("?", `$${params.length}`));
  };
  if (q.agent !== undefined) add("a.agent_id = ?", q.agent.toLowerCase());
  if (q.studio !== undefined) add("a.studio = ?", q.studio);
  if (q.task !== undefined) add("a.task = ?", q.task);
  if (q.actionType !== undefined) add("a.action_type = ?", q.actionType);
  if (q.from !== undefined) add("a.ts >= ?", toTime(q.from));
  if (q.to !== undefined) add("a.ts < ?", toTime(q.to));
  if (q.cursor !== undefined) {
    const m = /^(?:([0-9]{1,9}):)?([0-9]{1,15})$/.exec(q.cursor);
    if (m === null) fail("INVALID_INPUT", "malformed cursor");
    params.push(Number(m[1] ?? 0), Number(m[2]));
    where.push(`(l.shard, a.leaf_index) > ($${params.length - 1}::int, $${params.length}::bigint)`);
  }
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    fail("INVALID_INPUT", "limit must be an integer in [1, 1000]");
  }
  const items = await selectActions(db, logId, where.join(" AND ") || "true", params, limit + 1);
  const more = items.length > limit;
  const page = items.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page, nextCursor: more && last !== undefined ? cursorOf(last) : null };
}

const shardOf = new WeakMap<ActionRecord, number>();

function cursorOf(r: ActionRecord): string {
  const shard = shardOf.get(r) ?? 0;
  return shard === 0 ? String(r.leafIndex) : `${shard}:${r.leafIndex}`;
}

async function selectActions(
  db: Db,
  logId: string,
  where: string,
  params: unknown[],
  limit: number,
): Promise<ActionRecord[]> {
  const rows = await db.query<{
    id: string;
    log_id: string;
    shard: number;
    leaf_index: number;
    agent_id: string;
    studio: string;
    task: string;
    action_type: string;
    nonce: string;
    ts: number;
    payload_hash: string;
    has_payload: boolean;
    outcome_id: string | null;
    recorded_at: Date | string;
  }>(
    `SELECT encode(a.id, 'hex') AS id, a.log_id, l.shard, a.leaf_index, a.agent_id, a.studio, a.task, a.action_type,
            a.nonce::text AS nonce, extract(epoch FROM a.ts)::float8 AS ts,
            encode(a.payload_hash, 'hex') AS payload_hash, a.payload IS NOT NULL AS has_payload,
            (SELECT encode(o.id, 'hex') FROM outcomes o WHERE o.action_id = a.id
              ORDER BY o.leaf_index LIMIT 1) AS outcome_id, a.recorded_at
     FROM actions a JOIN logs l ON l.id = a.log_id
     WHERE l.family_id = $${params.length + 1} AND ${where}
     ORDER BY l.shard, a.leaf_index LIMIT ${limit}`,
    [...params, logId],
  );
  return rows.map((r): ActionRecord => {
    const record: ActionRecord = {
      id: `0x${r.id}`,
      log: r.log_id,
      leafIndex: Number(r.leaf_index),
      agent: r.agent_id as Address,
      studio: r.studio,
      task: r.task,
      actionType: r.action_type,
      nonce: r.nonce,
      timestamp: String(Math.round(Number(r.ts))),
      payloadHash: `0x${r.payload_hash}`,
      hasPayload: r.has_payload,
      outcomeId: r.outcome_id === null ? null : `0x${r.outcome_id}`,
      recordedAt: new Date(r.recorded_at).toISOString(),
    };
    shardOf.set(record, Number(r.shard));
    return record;
  });
}

/** The times a query may name: years 1 to 9999 (Postgres refuses a timestamp it cannot write back). */
const EARLIEST = Date.parse("0001-01-01T00:00:00Z");
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function toTime(value: string): Date {
  const t = UNIX_RE.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (Number.isNaN(t)) fail("INVALID_INPUT", `not a time: ${value}`);
  if (t < EARLIEST || t > LATEST) {
    fail("INVALID_INPUT", `a time in a query is between the years 1 and 9999: ${value}`);
  }
  return new Date(t);
}
