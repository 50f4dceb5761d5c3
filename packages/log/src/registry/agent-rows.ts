/**
 * The registry's storage: the `agents` row and how it reads back as an
 * {@link AgentRecord}, and the rows that keep an agent's history (card
 * versions, status changes).
 * @module
 */
import {
  type Address,
  type AgentCard,
  AgentCardSchema,
  bytesToHex,
  EIP712_TYPES,
  fail,
  type Hex,
  type MessageKind,
  type TypedMessage,
} from "@chaoscore/core";
import type { Db } from "../store/db.js";
import type { AgentRecord, AgentStatus, AgentStatusChange } from "./agent.js";

/** A timestamp read back from the database, as ISO 8601. */
export function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

/** A bytea read back from the database, as 0x-hex. */
export function hexOf(value: unknown): Hex {
  return bytesToHex(value as Uint8Array);
}

/** Rebuilds a typed message (read back from jsonb) with its fields in EIP-712 order. */
export function orderMessage<K extends MessageKind>(kind: K, value: unknown): TypedMessage<K> {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of EIP712_TYPES[kind]) out[field.name] = record[field.name];
  return out as TypedMessage<K>;
}

/** Rebuilds a card (read back from jsonb) with its fields in schema order. */
export function orderCard(value: unknown): AgentCard {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(AgentCardSchema.properties)) out[key] = record[key];
  out.endpoints = (record.endpoints as { name: string; endpoint: string }[]).map((e) => ({
    name: e.name,
    endpoint: e.endpoint,
  }));
  return out as AgentCard;
}

/** An `agents` row as {@link AGENT_COLUMNS} selects it. */
export type AgentRow = {
  id: string;
  signer: string;
  public_key: string;
  status: AgentStatus;
  registry_nonce: string;
  card: unknown;
  card_hash: Uint8Array;
  card_version: number;
  created_at: unknown;
  updated_at: unknown;
};

/** The columns of an {@link AgentRow}. */
export const AGENT_COLUMNS = `id, signer, public_key, status, registry_nonce::text AS registry_nonce,
  card, card_hash, card_version, created_at, updated_at`;

/** The public record of an `agents` row. */
export function toRecord(row: AgentRow): AgentRecord {
  return {
    identity: {
      id: row.id as Address,
      signer: row.signer as Address,
      publicKey: row.public_key as Hex,
      status: row.status,
      registryNonce: row.registry_nonce,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    },
    metadata: {
      card: orderCard(row.card),
      version: Number(row.card_version),
      cardHash: hexOf(row.card_hash),
    },
  };
}

/** @throws ChaosCoreError AGENT_NOT_FOUND. */
export async function readAgent(db: Db, id: string): Promise<AgentRecord> {
  const [row] = await db.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`, [id]);
  if (row === undefined) fail("AGENT_NOT_FOUND", "no agent is registered under this id", { id });
  return toRecord(row);
}

/** Reads the agent's row and locks it until the transaction ends. */
export async function lockAgent(
  tx: Db,
  id: string,
  mode: "FOR UPDATE" | "FOR SHARE" = "FOR UPDATE",
): Promise<AgentRow> {
  const [row] = await tx.query<AgentRow>(
    `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1 ${mode}`,
    [id],
  );
  if (row === undefined) fail("AGENT_NOT_FOUND", "no agent is registered under this id", { id });
  return row;
}

/** Stores version `version` of the agent's card with the message that signed it. */
export async function insertCardVersion(
  tx: Db,
  agent: string,
  version: number,
  card: AgentCard,
  cardHash: Hex,
  message: unknown,
  signature: Hex,
  at: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO agent_card_versions (agent_id, version, card, card_hash, message, signature,
       created_at)
     VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6, $7::timestamptz)`,
    [
      agent,
      version,
      JSON.stringify(card),
      Buffer.from(cardHash.slice(2), "hex"),
      JSON.stringify(message),
      signature,
      at,
    ],
  );
}

/** Stores the agent's next status change (after its last one). */
export async function appendStatusChange(
  tx: Db,
  agent: string,
  status: AgentStatus,
  reason: string,
  at: string,
  proof: AgentStatusChange["proof"],
): Promise<void> {
  const [row] = await tx.query<{ next: number }>(
    "SELECT COALESCE(max(seq), -1) + 1 AS next FROM agent_status_changes WHERE agent_id = $1",
    [agent],
  );
  await insertStatusChange(tx, agent, Number(row?.next ?? 0), status, reason, at, proof);
}

/** Stores status change `seq` of the agent with its proof, if any. */
export async function insertStatusChange(
  tx: Db,
  agent: string,
  seq: number,
  status: AgentStatus,
  reason: string,
  at: string,
  proof: AgentStatusChange["proof"],
): Promise<void> {
  await tx.query(
    `INSERT INTO agent_status_changes (agent_id, seq, status, reason, proof, created_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::timestamptz)`,
    [agent, seq, status, reason, proof === null ? null : JSON.stringify(proof), at],
  );
}
