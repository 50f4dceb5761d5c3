/**
 * The anchor records: the rows of `anchors` (checkpoints) and `agent_anchors`
 * (agent cards) as the service reads and writes them.
 *
 * @module
 */
import type { Address, Hex } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import type { AnchoringContext } from "./anchoring-context.js";

/** The life of an anchor: `pending` → `mined` → `final`, or `dropped`. */
export type AnchorStatus = "pending" | "mined" | "final" | "dropped";

/** One attempt to anchor a checkpoint, as stored in `anchors`. */
export type AnchorRecord = {
  readonly id: number;
  /** The engine's log id (the `logs` row), not the on-chain log id. */
  readonly logId: string;
  readonly size: number;
  readonly root: Hex;
  readonly chainId: string;
  readonly contract: Address;
  /** Position in the contract's history of this log (known once sent). */
  readonly index: number | null;
  readonly txHash: Hex | null;
  readonly blockNumber: number | null;
  readonly blockHash: Hex | null;
  readonly status: AnchorStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
};

/** An agent card hash registered in the IdentityRegistry, as stored in `agent_anchors`. */
export type AgentAnchorRecord = {
  readonly id: number;
  readonly agentId: string;
  readonly cardVersion: number;
  readonly cardHash: Hex;
  readonly chainId: string;
  readonly contract: Address;
  /** The ERC-721 token id (ERC-8004 agentId), known once the registration is mined. */
  readonly tokenId: bigint | null;
  /** The card version on chain (1 at registration, +1 per update). */
  readonly chainVersion: number | null;
  readonly txHash: Hex | null;
  readonly blockNumber: number | null;
  readonly blockHash: Hex | null;
  readonly status: AnchorStatus;
  readonly attempts: number;
  readonly lastError: string | null;
};

/** The statuses a reconcile still follows. */
export const LIVE = "('pending', 'mined')";

export type AnchorRow = {
  id: number;
  log_id: string;
  size: number;
  root: string;
  chain_id: string;
  contract: string;
  anchor_index: number | null;
  tx_hash: string | null;
  block_number: number | null;
  block_hash: string | null;
  status: AnchorStatus;
  attempts: number;
  last_error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
};

export function anchorColumns(a = ""): string {
  const p = a === "" ? "" : `${a}.`;
  return `${p}id, ${p}log_id, ${p}size, encode(${p}root, 'hex') AS root, ${p}chain_id, ${p}contract,
    ${p}anchor_index, ${p}tx_hash, ${p}block_number, ${p}block_hash, ${p}status, ${p}attempts,
    ${p}last_error, ${p}created_at, ${p}updated_at`;
}
export const ANCHOR_COLUMNS = anchorColumns();

export type AgentAnchorRow = {
  id: number;
  agent_id: string;
  card_version: number;
  card_hash: string;
  chain_id: string;
  contract: string;
  token_id: string | null;
  chain_version: number | null;
  tx_hash: string | null;
  block_number: number | null;
  block_hash: string | null;
  status: AnchorStatus;
  attempts: number;
  last_error: string | null;
};

export const AGENT_ANCHOR_COLUMNS = `id, agent_id, card_version, encode(card_hash, 'hex') AS card_hash, chain_id,
  contract, token_id::text AS token_id, chain_version, tx_hash, block_number, block_hash, status,
  attempts, last_error`;

export const UPDATABLE = new Set([
  "anchor_index",
  "tx_hash",
  "block_number",
  "block_hash",
  "status",
  "attempts",
  "last_error",
  "token_id",
  "chain_version",
]);

export async function updateRow(
  db: Db,
  table: "anchors" | "agent_anchors",
  id: number,
  fields: Record<string, unknown>,
  now: Date,
): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [id, now.toISOString()];
  for (const [column, value] of Object.entries(fields)) {
    if (!UPDATABLE.has(column)) throw new Error(`not an updatable column: ${column}`);
    params.push(value);
    sets.push(`${column} = $${params.length}${column === "token_id" ? "::numeric" : ""}`);
  }
  await db.query(
    `UPDATE ${table} SET ${[...sets, "updated_at = $2"].join(", ")} WHERE id = $1`,
    params,
  );
}

export function toRecord(r: AnchorRow): AnchorRecord {
  return {
    id: Number(r.id),
    logId: r.log_id,
    size: Number(r.size),
    root: `0x${r.root}`,
    chainId: r.chain_id,
    contract: r.contract as Address,
    index: r.anchor_index === null ? null : Number(r.anchor_index),
    txHash: r.tx_hash as Hex | null,
    blockNumber: r.block_number === null ? null : Number(r.block_number),
    blockHash: r.block_hash as Hex | null,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export function toAgentRecord(r: AgentAnchorRow): AgentAnchorRecord {
  return {
    id: Number(r.id),
    agentId: r.agent_id,
    cardVersion: Number(r.card_version),
    cardHash: `0x${r.card_hash}`,
    chainId: r.chain_id,
    contract: r.contract as Address,
    tokenId: r.token_id === null ? null : BigInt(r.token_id),
    chainVersion: r.chain_version === null ? null : Number(r.chain_version),
    txHash: r.tx_hash as Hex | null,
    blockNumber: r.block_number === null ? null : Number(r.block_number),
    blockHash: r.block_hash as Hex | null,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
  };
}

export async function insertAnchorRecord(
  ctx: AnchoringContext,
  size: number,
  root: Hex,
): Promise<number> {
  const now = ctx.now().toISOString();
  const [row] = await ctx.db.query<{ id: number }>(
    `INSERT INTO anchors (log_id, size, root, chain_id, contract, status, attempts, created_at,
       updated_at)
     VALUES ($1, $2, decode($3, 'hex'), $4, $5, 'pending', 1, $6, $6) RETURNING id`,
    [ctx.log.id, size, root.slice(2), ctx.chainId, ctx.contract, now],
  );
  return Number(row?.id);
}

export async function updateAnchor(
  ctx: AnchoringContext,
  id: number,
  fields: Record<string, unknown>,
): Promise<void> {
  await updateRow(ctx.db, "anchors", id, fields, ctx.now());
}

export async function anchorRecord(ctx: AnchoringContext, id: number): Promise<AnchorRecord> {
  const [row] = await ctx.db.query<AnchorRow>(
    `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE id = $1`,
    [id],
  );
  return toRecord(row as AnchorRow);
}

export async function liveAnchorRecord(
  ctx: AnchoringContext,
  size: number,
): Promise<AnchorRecord | undefined> {
  const [row] = await ctx.db.query<AnchorRow>(
    `SELECT ${ANCHOR_COLUMNS} FROM anchors
     WHERE log_id = $1 AND chain_id = $2 AND contract = $3 AND size = $4 AND status <> 'dropped'`,
    [ctx.log.id, ctx.chainId, ctx.contract, size],
  );
  return row === undefined ? undefined : toRecord(row);
}

export async function recentFinalRecords(
  ctx: AnchoringContext,
  limit: number,
): Promise<AnchorRecord[]> {
  const rows = await ctx.db.query<AnchorRow>(
    `SELECT ${ANCHOR_COLUMNS} FROM anchors
     WHERE log_id = $1 AND chain_id = $2 AND contract = $3 AND status = 'final'
     ORDER BY size DESC LIMIT $4`,
    [ctx.log.id, ctx.chainId, ctx.contract, limit],
  );
  return rows.map(toRecord);
}

export async function liveAnchorRecords(ctx: AnchoringContext): Promise<AnchorRecord[]> {
  const rows = await ctx.db.query<AnchorRow>(
    `SELECT ${ANCHOR_COLUMNS} FROM anchors
     WHERE log_id = $1 AND chain_id = $2 AND contract = $3 AND status IN ${LIVE} ORDER BY size`,
    [ctx.log.id, ctx.chainId, ctx.contract],
  );
  return rows.map(toRecord);
}

export async function anchorCounts(ctx: AnchoringContext): Promise<Record<AnchorStatus, number>> {
  const counts: Record<AnchorStatus, number> = { pending: 0, mined: 0, final: 0, dropped: 0 };
  const rows = await ctx.db.query<{ status: AnchorStatus; n: number }>(
    `SELECT status, count(*)::int AS n FROM anchors
     WHERE log_id = $1 AND chain_id = $2 AND contract = $3 GROUP BY status`,
    [ctx.log.id, ctx.chainId, ctx.contract],
  );
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/** Every anchor record of this log on this chain and contract, oldest first. */
export async function listAnchorRecords(ctx: AnchoringContext): Promise<AnchorRecord[]> {
  const rows = await ctx.db.query<AnchorRow>(
    `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE log_id = $1 AND chain_id = $2 AND contract = $3
     ORDER BY id`,
    [ctx.log.id, ctx.chainId, ctx.contract],
  );
  return rows.map(toRecord);
}

export async function updateAgentAnchor(
  ctx: AnchoringContext,
  id: number,
  fields: Record<string, unknown>,
): Promise<void> {
  await updateRow(ctx.db, "agent_anchors", id, fields, ctx.now());
}

export async function agentAnchorRecord(
  ctx: AnchoringContext,
  id: number,
): Promise<AgentAnchorRecord> {
  const [row] = await ctx.db.query<AgentAnchorRow>(
    `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors WHERE id = $1`,
    [id],
  );
  return toAgentRecord(row as AgentAnchorRow);
}

export async function liveAgentAnchorRecords(ctx: AnchoringContext): Promise<AgentAnchorRecord[]> {
  if (ctx.identity === undefined) return [];
  const rows = await ctx.db.query<AgentAnchorRow>(
    `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors
     WHERE chain_id = $1 AND contract = $2 AND status IN ${LIVE} ORDER BY id`,
    [ctx.chainId, ctx.identity.address.toLowerCase()],
  );
  return rows.map(toAgentRecord);
}

/** Every agent card record on this chain, oldest first. */
export async function listAgentAnchorRecords(ctx: AnchoringContext): Promise<AgentAnchorRecord[]> {
  if (ctx.identity === undefined) return [];
  const rows = await ctx.db.query<AgentAnchorRow>(
    `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors WHERE chain_id = $1 AND contract = $2
     ORDER BY id`,
    [ctx.chainId, ctx.identity.address.toLowerCase()],
  );
  return rows.map(toAgentRecord);
}
