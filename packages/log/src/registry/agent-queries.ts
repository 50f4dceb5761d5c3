/**
 * The registry's queries: pages of agents matching filters (keyset cursors
 * over registration time and id), and the signing state Proof of Agency
 * reads, locked, in its writer's transaction.
 * @module
 */
import { type Address, CAPABILITY_PATTERN, fail } from "@chaoscore/core";
import type { Db } from "../store/db.js";
import {
  AGENT_STATUSES,
  type AgentPage,
  type AgentSigningState,
  type AgentStatus,
  type ListAgentsQuery,
} from "./agent.js";
import { AGENT_COLUMNS, type AgentRow, toRecord } from "./agent-rows.js";
import { ADDRESS_ANY_CASE } from "./registry-checks.js";
import type { RegistryContext } from "./registry-context.js";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const MAX_SIGNING_STATE_IDS = 10_000;
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ISO_US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

function decodeCursor(cursor: unknown): [string, string] {
  let value: unknown;
  if (typeof cursor === "string" && cursor.length <= 256 && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    try {
      value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    } catch {
      value = undefined;
    }
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== "string" ||
    !CURSOR_TIME.test(value[0]) ||
    Number.isNaN(Date.parse(value[0])) ||
    typeof value[1] !== "string" ||
    !/^0x[0-9a-f]{40}$/.test(value[1])
  ) {
    fail("AGENT_REQUEST_MALFORMED", "cursor is not one returned by list()");
  }
  return [value[0], value[1]];
}

type ParsedQuery = {
  capability?: string;
  owner?: string;
  status?: AgentStatus;
  text?: string;
  limit: number;
  cursor?: [string, string];
};

const QUERY_KEYS = new Set(["capability", "owner", "status", "text", "limit", "cursor"]);
const CAPABILITY_RE = new RegExp(CAPABILITY_PATTERN);

function badQuery(field: string, expected: string): never {
  fail("AGENT_REQUEST_MALFORMED", `agent query: ${field} must be ${expected}`, { field });
}

/** Checks a list() query; absent and `undefined` fields are the same. */
function parseQuery(query: unknown): ParsedQuery {
  if (typeof query !== "object" || query === null || Array.isArray(query)) {
    badQuery("query", "an object");
  }
  const q = query as Record<string, unknown>;
  for (const key of Object.keys(q)) if (!QUERY_KEYS.has(key)) badQuery(key, "absent");
  const out: ParsedQuery = { limit: DEFAULT_LIMIT };
  if (q.capability !== undefined) {
    if (typeof q.capability !== "string" || !CAPABILITY_RE.test(q.capability)) {
      badQuery("capability", "a capability tag");
    }
    out.capability = q.capability;
  }
  if (q.owner !== undefined) {
    if (typeof q.owner !== "string" || !ADDRESS_ANY_CASE.test(q.owner)) {
      badQuery("owner", "an address");
    }
    out.owner = q.owner.toLowerCase();
  }
  if (q.status !== undefined) {
    if (!AGENT_STATUSES.includes(q.status as AgentStatus)) {
      badQuery("status", AGENT_STATUSES.join(" | "));
    }
    out.status = q.status as AgentStatus;
  }
  if (q.text !== undefined) {
    if (typeof q.text !== "string" || q.text.length > 256 || q.text.includes("\u0000")) {
      badQuery("text", "a string of at most 256 characters");
    }
    if (q.text !== "") out.text = q.text;
  }
  if (q.limit !== undefined) {
    if (!Number.isInteger(q.limit) || (q.limit as number) < 1 || (q.limit as number) > MAX_LIMIT) {
      badQuery("limit", `an integer in 1..${MAX_LIMIT}`);
    }
    out.limit = q.limit as number;
  }
  if (q.cursor !== undefined) out.cursor = decodeCursor(q.cursor);
  return out;
}

/** A page of agents matching `query`; see {@link AgentRegistryInterface.list}. */
export async function listAgents(
  ctx: RegistryContext,
  query: ListAgentsQuery = {},
): Promise<AgentPage> {
  const q = parseQuery(query);
  const limit = q.limit;
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (q.capability !== undefined) where.push(`capabilities @> ARRAY[${param(q.capability)}]`);
  if (q.owner !== undefined) where.push(`owner = ${param(q.owner)}`);
  if (q.status !== undefined) where.push(`status = ${param(q.status)}`);
  if (q.text !== undefined) {
    const p = param(`%${q.text.replace(/[\\%_]/g, "\\$&")}%`);
    where.push(`(name ILIKE ${p} ESCAPE '\\' OR card->>'description' ILIKE ${p} ESCAPE '\\')`);
  }
  if (q.cursor !== undefined) {
    const [createdAt, id] = q.cursor;
    where.push(`(created_at, id) > (${param(createdAt)}::timestamptz, ${param(id)})`);
  }
  const rows = await ctx.db.query<AgentRow & { created_key: string }>(
    `SELECT ${AGENT_COLUMNS},
       to_char(created_at AT TIME ZONE 'UTC', ${ISO_US}) AS created_key
     FROM agents ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
     ORDER BY created_at, id LIMIT ${limit + 1}`,
    params,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toRecord),
    nextCursor:
      rows.length > limit && last !== undefined ? encodeCursor(last.created_key, last.id) : null,
  };
}

/** Each agent's signer, status and last action nonce; locked `FOR UPDATE` when read in `tx`. */
export async function signingState(
  ctx: RegistryContext,
  ids: readonly string[],
  tx?: Db,
): Promise<Map<string, AgentSigningState>> {
  if (
    !Array.isArray(ids) ||
    ids.length > MAX_SIGNING_STATE_IDS ||
    !ids.every((id) => typeof id === "string")
  ) {
    fail("AGENT_REQUEST_MALFORMED", `ids must be at most ${MAX_SIGNING_STATE_IDS} strings`);
  }
  const result = new Map<string, AgentSigningState>();
  if (ids.length === 0) return result;
  const rows = await (tx ?? ctx.db).query<{
    id: string;
    signer: string;
    status: AgentStatus;
    action_nonce: string | null;
  }>(
    `SELECT id, signer, status, action_nonce::text AS action_nonce FROM agents
     WHERE id = ANY($1::text[]) ORDER BY id${tx === undefined ? "" : " FOR UPDATE"}`,
    [[...new Set(ids)]],
  );
  for (const r of rows) {
    result.set(r.id, {
      signer: r.signer as Address,
      status: r.status,
      actionNonce: r.action_nonce === null ? null : BigInt(r.action_nonce),
    });
  }
  return result;
}
