import { randomBytes } from "node:crypto";
import {
  type Address,
  AddressHex,
  type AgentCard,
  AgentCardSchema,
  agentCardHash,
  bytesToHex,
  CAPABILITY_PATTERN,
  ChaosCoreError,
  compileParser,
  EIP712_TYPES,
  type ErrorCode,
  type Hex,
  isChaosCoreError,
  type KeyRotation,
  type MessageKind,
  ProveAgentControlRequestSchema,
  parseAgentCard,
  publicKeyToAddress,
  RegisterAgentRequestSchema,
  RevokeAgentRequestSchema,
  RotateAgentKeyRequestSchema,
  recoverPublicKey,
  type SigningDomain,
  type TypedMessage,
  typedDataDigest,
  UpdateAgentCardRequestSchema,
} from "@chaoscore/core";
import type { Db } from "../store/db.js";
import {
  AGENT_STATUSES,
  type AgentCardVersion,
  type AgentChallenge,
  type AgentControlProof,
  type AgentKey,
  type AgentPage,
  type AgentRecord,
  type AgentRegistryInterface,
  type AgentSigningState,
  type AgentStatus,
  type AgentStatusChange,
  type ListAgentsQuery,
  type ProveAgentControlRequest,
  type RegisterAgentRequest,
  type RevokeAgentRequest,
  type RotateAgentKeyRequest,
  type UpdateAgentCardRequest,
} from "./agent.js";

/** Options of {@link AgentRegistry}. */
export type AgentRegistryOptions = {
  db: Db;
  /** The chain id every registry message must be signed for (the EIP-712 domain's). */
  chainId: bigint;
  /**
   * The deployment every registry message must be signed for (the EIP-712
   * domain's `verifyingContract`): a message signed for another deployment
   * does not verify here.
   */
  verifyingContract: Address;
  /** The clock (for expiries, challenges and timestamps); default `() => new Date()`. */
  now?: () => Date;
};

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const DEFAULT_CHALLENGE_TTL = 300;
const MAX_CHALLENGE_TTL = 86_400;
const MAX_SIGNING_STATE_IDS = 10_000;
const MAX_UINT64 = (1n << 64n) - 1n;

const parseRegister = compileParser(
  RegisterAgentRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "RegisterAgent request",
);
const parseUpdate = compileParser(
  UpdateAgentCardRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "UpdateAgentCard request",
);
const parseRotate = compileParser(
  RotateAgentKeyRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "RotateAgentKey request",
);
const parseRevoke = compileParser(
  RevokeAgentRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "RevokeAgent request",
);
const parseProve = compileParser(
  ProveAgentControlRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "ProveAgentControl request",
);
const parseAddress = compileParser(AddressHex, "AGENT_REQUEST_MALFORMED", "address");

const ADDRESS_ANY_CASE = /^0x[0-9a-fA-F]{40}$/;
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ISO_US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new ChaosCoreError(code, message, details === undefined ? {} : { details });
}

/** Agent ids are lowercase addresses; mixed case (EIP-55) is accepted and lowered. */
function normalizeId(id: unknown): Address {
  if (typeof id !== "string" || !ADDRESS_ANY_CASE.test(id)) {
    fail("AGENT_NOT_FOUND", "no agent is registered under this id", {
      id: typeof id === "string" ? id.slice(0, 80) : typeof id,
    });
  }
  return id.toLowerCase() as Address;
}

function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

function hexOf(value: unknown): Hex {
  return bytesToHex(value as Uint8Array);
}

/** Rebuilds a typed message (read back from jsonb) with its fields in EIP-712 order. */
function orderMessage<K extends MessageKind>(kind: K, value: unknown): TypedMessage<K> {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of EIP712_TYPES[kind]) out[field.name] = record[field.name];
  return out as TypedMessage<K>;
}

/** Rebuilds a card (read back from jsonb) with its fields in schema order. */
function orderCard(value: unknown): AgentCard {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(AgentCardSchema.properties)) out[key] = record[key];
  out.endpoints = (record.endpoints as { name: string; endpoint: string }[]).map((e) => ({
    name: e.name,
    endpoint: e.endpoint,
  }));
  return out as AgentCard;
}

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

function parseReason(reason: unknown): string {
  if (typeof reason !== "string" || reason.length > 1000 || reason.includes("\u0000")) {
    fail("AGENT_REQUEST_MALFORMED", "reason must be a string of at most 1000 characters");
  }
  return reason;
}

type AgentRow = {
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

const AGENT_COLUMNS = `id, signer, public_key, status, registry_nonce::text AS registry_nonce,
  card, card_hash, card_version, created_at, updated_at`;

function toRecord(row: AgentRow): AgentRecord {
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

/** A verified signature: who made it. */
type Signer = { address: Address; publicKey: Hex };

/**
 * The agent registry on Postgres (PGlite or a server).
 *
 * @example
 * const registry = new AgentRegistry({ db, chainId: 31337n, verifyingContract: DEVELOPMENT_DEPLOYMENT });
 * const card = parseAgentCard(json);
 * const message = { agent, cardHash: agentCardHash(card), nonce: "1", expiry: "1900000000" };
 * const signature = signTypedMessage("RegisterAgent", message, registry.domain, key);
 * const record = await registry.register({ chainId: "31337", card, message, signature });
 */
export class AgentRegistry implements AgentRegistryInterface {
  readonly #db: Db;
  readonly #chainId: bigint;
  /** The chain and deployment registry messages are signed for. */
  readonly domain: SigningDomain;
  readonly #now: () => Date;

  constructor(options: AgentRegistryOptions) {
    this.#db = options.db;
    this.#chainId = options.chainId;
    this.domain = { chainId: options.chainId, verifyingContract: options.verifyingContract };
    this.#now = options.now ?? (() => new Date());
  }

  async register(request: RegisterAgentRequest): Promise<AgentRecord> {
    const { chainId, card: rawCard, message, signature } = parseRegister(request);
    const now = this.#now();
    const digest = this.#checkEnvelope("RegisterAgent", chainId, message, now);
    const card = parseAgentCard(rawCard);
    const cardHash = this.#checkCardHash(card, message.cardHash);
    const signer = this.#recover(digest, signature);
    if (signer.address !== message.agent) {
      fail("AGENT_BAD_SIGNATURE", "RegisterAgent is not signed by the agent's key", {
        agent: message.agent,
        signer: signer.address,
      });
    }
    const at = now.toISOString();
    return this.#db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO agents (id, signer, public_key, status, card, card_hash, card_version, name,
           owner, capabilities, registry_nonce, action_nonce, created_at, updated_at)
         VALUES ($1, $1, $2, 'active', $3::jsonb, $4, 1, $5, $6, $7::text[], $8::numeric, NULL,
           $9::timestamptz, $9::timestamptz)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          message.agent,
          signer.publicKey,
          JSON.stringify(card),
          Buffer.from(cardHash.slice(2), "hex"),
          card.name,
          card.owner,
          card.capabilities,
          message.nonce,
          at,
        ],
      );
      if (inserted.length === 0) {
        fail("AGENT_ALREADY_REGISTERED", "an agent is already registered under this id", {
          id: message.agent,
        });
      }
      await this.#insertCardVersion(tx, message.agent, 1, card, cardHash, message, signature, at);
      await tx.query(
        `INSERT INTO agent_keys (agent_id, seq, signer, public_key, rotation, created_at)
         VALUES ($1, 0, $1, $2, NULL, $3::timestamptz)`,
        [message.agent, signer.publicKey, at],
      );
      await this.#insertStatusChange(tx, message.agent, 0, "active", "registered", at, {
        kind: "RegisterAgent",
        message,
        signature,
      });
      return this.#read(tx, message.agent);
    });
  }

  async get(id: string): Promise<AgentRecord> {
    return this.#read(this.#db, normalizeId(id));
  }

  async list(query: ListAgentsQuery = {}): Promise<AgentPage> {
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
    const rows = await this.#db.query<AgentRow & { created_key: string }>(
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

  async updateCard(request: UpdateAgentCardRequest): Promise<AgentRecord> {
    const { chainId, card: rawCard, message, signature } = parseUpdate(request);
    const now = this.#now();
    const digest = this.#checkEnvelope("UpdateAgentCard", chainId, message, now);
    const card = parseAgentCard(rawCard);
    const cardHash = this.#checkCardHash(card, message.cardHash);
    const signer = this.#recover(digest, signature);
    const at = now.toISOString();
    return this.#db.transaction(async (tx) => {
      const current = await this.#lock(tx, message.agent);
      this.#checkSigner(current, signer, "UpdateAgentCard");
      this.#checkActive(current);
      this.#checkNonce(current, message.nonce);
      const expected = BigInt(current.card_version) + 1n;
      if (BigInt(message.version) !== expected) {
        fail("AGENT_VERSION_INVALID", `UpdateAgentCard.version must be ${expected}`, {
          expected: expected.toString(),
          got: message.version,
        });
      }
      const version = Number(expected);
      await tx.query(
        `UPDATE agents SET card = $2::jsonb, card_hash = $3, card_version = $4, name = $5,
           owner = $6, capabilities = $7::text[], registry_nonce = $8::numeric,
           updated_at = $9::timestamptz
         WHERE id = $1`,
        [
          message.agent,
          JSON.stringify(card),
          Buffer.from(cardHash.slice(2), "hex"),
          version,
          card.name,
          card.owner,
          card.capabilities,
          message.nonce,
          at,
        ],
      );
      await this.#insertCardVersion(
        tx,
        message.agent,
        version,
        card,
        cardHash,
        message,
        signature,
        at,
      );
      return this.#read(tx, message.agent);
    });
  }

  async cardHistory(id: string): Promise<AgentCardVersion[]> {
    const agent = normalizeId(id);
    await this.#read(this.#db, agent);
    const rows = await this.#db.query<{
      version: number;
      card: unknown;
      card_hash: Uint8Array;
      message: unknown;
      signature: string;
      created_at: unknown;
    }>(
      `SELECT version, card, card_hash, message, signature, created_at
       FROM agent_card_versions WHERE agent_id = $1 ORDER BY version`,
      [agent],
    );
    return rows.map((r): AgentCardVersion => {
      const common = {
        version: Number(r.version),
        card: orderCard(r.card),
        cardHash: hexOf(r.card_hash),
        signature: r.signature as Hex,
        createdAt: iso(r.created_at),
      };
      return Number(r.version) === 1
        ? { ...common, kind: "RegisterAgent", message: orderMessage("RegisterAgent", r.message) }
        : {
            ...common,
            kind: "UpdateAgentCard",
            message: orderMessage("UpdateAgentCard", r.message),
          };
    });
  }

  async rotateKey(request: RotateAgentKeyRequest): Promise<AgentRecord> {
    const { chainId, message, signature, newKeyProof } = parseRotate(request);
    const now = this.#now();
    const digest = this.#checkEnvelope("RotateAgentKey", chainId, message, now);
    const signer = this.#recover(digest, signature);
    const newKey = this.#recover(digest, newKeyProof, "AGENT_KEY_PROOF_INVALID");
    if (newKey.address !== message.newSigner) {
      fail("AGENT_KEY_PROOF_INVALID", "newKeyProof is not signed by the new key", {
        newSigner: message.newSigner,
        signer: newKey.address,
      });
    }
    const at = now.toISOString();
    return this.#db.transaction(async (tx) => {
      const current = await this.#lock(tx, message.agent);
      this.#checkSigner(current, signer, "RotateAgentKey");
      this.#checkActive(current);
      this.#checkNonce(current, message.nonce);
      const keys = await tx.query<{ seq: number; signer: string }>(
        "SELECT seq, signer FROM agent_keys WHERE agent_id = $1 ORDER BY seq",
        [message.agent],
      );
      if (keys.some((k) => k.signer === message.newSigner)) {
        fail("AGENT_KEY_REUSED", "the new key is, or was, a key of this agent", {
          newSigner: message.newSigner,
        });
      }
      const seq = keys.length;
      await tx.query(
        `INSERT INTO agent_keys (agent_id, seq, signer, public_key, rotation, created_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::timestamptz)`,
        [
          message.agent,
          seq,
          message.newSigner,
          newKey.publicKey,
          JSON.stringify({ message, signature, newKeyProof }),
          at,
        ],
      );
      await tx.query(
        `UPDATE agents SET signer = $2, public_key = $3, registry_nonce = $4::numeric,
           updated_at = $5::timestamptz
         WHERE id = $1`,
        [message.agent, message.newSigner, newKey.publicKey, message.nonce, at],
      );
      return this.#read(tx, message.agent);
    });
  }

  async keyRotations(id: string, upToSigner?: string): Promise<KeyRotation[]> {
    const agent = normalizeId(id);
    await this.#read(this.#db, agent);
    const rows = await this.#db.query<{ seq: number; signer: string; rotation: unknown }>(
      "SELECT seq, signer, rotation FROM agent_keys WHERE agent_id = $1 ORDER BY seq",
      [agent],
    );
    let end = rows.length;
    if (upToSigner !== undefined) {
      const target = parseAddress(
        typeof upToSigner === "string" ? upToSigner.toLowerCase() : upToSigner,
      );
      end = rows.findIndex((r) => r.signer === target) + 1;
      if (end === 0) {
        fail("AGENT_SIGNER_UNKNOWN", "the address was never a signing key of this agent", {
          agent,
          signer: target,
        });
      }
    }
    return rows.slice(1, end).map((r) => {
      const rotation = r.rotation as { message: unknown; signature: Hex };
      return {
        message: orderMessage("RotateAgentKey", rotation.message),
        signature: rotation.signature,
      };
    });
  }

  async keyHistory(id: string): Promise<AgentKey[]> {
    const agent = normalizeId(id);
    await this.#read(this.#db, agent);
    const rows = await this.#db.query<{
      seq: number;
      signer: string;
      public_key: string;
      created_at: unknown;
    }>(
      `SELECT seq, signer, public_key, created_at FROM agent_keys
       WHERE agent_id = $1 ORDER BY seq`,
      [agent],
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      signer: r.signer as Address,
      publicKey: r.public_key as Hex,
      createdAt: iso(r.created_at),
    }));
  }

  async suspend(id: string, reason: string): Promise<AgentRecord> {
    return this.#operatorChange(id, reason, ["active"], "suspended");
  }

  async reactivate(id: string, reason: string): Promise<AgentRecord> {
    return this.#operatorChange(id, reason, ["suspended"], "active");
  }

  async revokeByOperator(id: string, reason: string): Promise<AgentRecord> {
    return this.#operatorChange(id, reason, ["active", "suspended"], "revoked");
  }

  async revoke(request: RevokeAgentRequest): Promise<AgentRecord> {
    const { chainId, message, signature } = parseRevoke(request);
    const now = this.#now();
    const digest = this.#checkEnvelope("RevokeAgent", chainId, message, now);
    const signer = this.#recover(digest, signature);
    const at = now.toISOString();
    return this.#db.transaction(async (tx) => {
      const current = await this.#lock(tx, message.agent);
      this.#checkSigner(current, signer, "RevokeAgent");
      this.#checkTransition(current, ["active", "suspended"], "revoked");
      this.#checkNonce(current, message.nonce);
      await tx.query(
        `UPDATE agents SET status = 'revoked', registry_nonce = $2::numeric,
           updated_at = $3::timestamptz
         WHERE id = $1`,
        [message.agent, message.nonce, at],
      );
      await this.#appendStatusChange(tx, message.agent, "revoked", "revoked by the agent", at, {
        kind: "RevokeAgent",
        message,
        signature,
      });
      return this.#read(tx, message.agent);
    });
  }

  async statusHistory(id: string): Promise<AgentStatusChange[]> {
    const agent = normalizeId(id);
    await this.#read(this.#db, agent);
    const rows = await this.#db.query<{
      seq: number;
      status: AgentStatus;
      reason: string | null;
      proof: { kind: "RegisterAgent" | "RevokeAgent"; message: unknown; signature: Hex } | null;
      created_at: unknown;
    }>(
      `SELECT seq, status, reason, proof, created_at FROM agent_status_changes
       WHERE agent_id = $1 ORDER BY seq`,
      [agent],
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      status: r.status,
      reason: r.reason,
      proof:
        r.proof === null
          ? null
          : {
              kind: r.proof.kind,
              message: orderMessage(r.proof.kind, r.proof.message),
              signature: r.proof.signature,
            },
      createdAt: iso(r.created_at),
    }));
  }

  async createChallenge(id: string, ttlSeconds = DEFAULT_CHALLENGE_TTL): Promise<AgentChallenge> {
    const agent = normalizeId(id);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_CHALLENGE_TTL) {
      fail("AGENT_REQUEST_MALFORMED", `ttlSeconds must be an integer in 1..${MAX_CHALLENGE_TTL}`, {
        ttlSeconds: String(ttlSeconds),
      });
    }
    const now = this.#now();
    const challenge = bytesToHex(randomBytes(32));
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    return this.#db.transaction(async (tx) => {
      const current = await this.#lock(tx, agent, "FOR SHARE");
      if (current.status === "revoked") {
        fail("AGENT_NOT_ACTIVE", "the agent is revoked", { id: agent, status: current.status });
      }
      // Expired or answered challenges of this agent are dead: an unknown challenge is refused too.
      await tx.query(
        `DELETE FROM agent_challenges
         WHERE agent_id = $1 AND (expires_at <= $2::timestamptz OR answered_at IS NOT NULL)`,
        [agent, now.toISOString()],
      );
      await tx.query(
        `INSERT INTO agent_challenges (challenge, agent_id, expires_at, answered_at)
         VALUES ($1, $2, $3::timestamptz, NULL)`,
        [challenge, agent, expiresAt],
      );
      return { challenge, expiresAt };
    });
  }

  async verify(request: ProveAgentControlRequest): Promise<AgentControlProof> {
    const { chainId, message, signature } = parseProve(request);
    const now = this.#now();
    const digest = this.#checkEnvelope("ProveAgentControl", chainId, message, now);
    const signer = this.#recover(digest, signature);
    const at = now.toISOString();
    return this.#db.transaction(async (tx) => {
      const current = await this.#lock(tx, message.agent, "FOR SHARE");
      this.#checkSigner(current, signer, "ProveAgentControl");
      if (current.status === "revoked") {
        fail("AGENT_NOT_ACTIVE", "the agent is revoked", { id: current.id, status: "revoked" });
      }
      const answered = await tx.query(
        `UPDATE agent_challenges SET answered_at = $3::timestamptz
         WHERE challenge = $1 AND agent_id = $2 AND answered_at IS NULL
           AND expires_at > $3::timestamptz
         RETURNING challenge`,
        [message.nonce, message.agent, at],
      );
      if (answered.length === 0) {
        fail("AGENT_CHALLENGE_INVALID", "the challenge is unknown, expired or already answered", {
          agent: message.agent,
          challenge: message.nonce,
        });
      }
      return {
        agent: message.agent,
        signer: signer.address,
        status: current.status,
        verifiedAt: at,
      };
    });
  }

  async signingState(ids: readonly string[], tx?: Db): Promise<Map<string, AgentSigningState>> {
    if (
      !Array.isArray(ids) ||
      ids.length > MAX_SIGNING_STATE_IDS ||
      !ids.every((id) => typeof id === "string")
    ) {
      fail("AGENT_REQUEST_MALFORMED", `ids must be at most ${MAX_SIGNING_STATE_IDS} strings`);
    }
    const result = new Map<string, AgentSigningState>();
    if (ids.length === 0) return result;
    const rows = await (tx ?? this.#db).query<{
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

  // -- checks ---------------------------------------------------------------

  /** Chain id, uint64 ranges and expiry; returns the EIP-712 digest. */
  #checkEnvelope<K extends MessageKind>(
    kind: K,
    chainId: string,
    message: TypedMessage<K>,
    now: Date,
  ): Uint8Array {
    for (const field of EIP712_TYPES[kind]) {
      const value = (message as Record<string, unknown>)[field.name];
      if (field.type === "uint64" && BigInt(value as string) > MAX_UINT64) {
        fail("AGENT_REQUEST_MALFORMED", `${kind}.${field.name} is larger than a uint64`, {
          field: field.name,
        });
      }
    }
    if (BigInt(chainId) !== this.#chainId) {
      fail("AGENT_WRONG_CHAIN", `${kind} was signed for chain ${chainId}`, {
        expected: this.#chainId.toString(),
        got: chainId,
      });
    }
    const expiry = BigInt((message as { expiry: string }).expiry);
    const nowSeconds = BigInt(Math.floor(now.getTime() / 1000));
    if (expiry <= nowSeconds) {
      fail("AGENT_EXPIRED", `${kind} expired`, {
        expiry: expiry.toString(),
        now: nowSeconds.toString(),
      });
    }
    try {
      return typedDataDigest(kind, message, this.domain);
    } catch (cause) {
      throw new ChaosCoreError("AGENT_REQUEST_MALFORMED", `${kind} cannot be encoded`, { cause });
    }
  }

  #checkCardHash(card: AgentCard, signed: Hex): Hex {
    const cardHash = agentCardHash(card);
    if (cardHash !== signed) {
      fail("AGENT_CARD_HASH_MISMATCH", "the signed card hash is not the hash of the card", {
        expected: cardHash,
        got: signed,
      });
    }
    return cardHash;
  }

  #recover(digest: Uint8Array, signature: Hex, code: ErrorCode = "AGENT_BAD_SIGNATURE"): Signer {
    try {
      const publicKey = recoverPublicKey(digest, signature);
      return { address: publicKeyToAddress(publicKey), publicKey: bytesToHex(publicKey) };
    } catch (cause) {
      if (!isChaosCoreError(cause)) throw cause;
      throw new ChaosCoreError(code, `signature is unusable: ${cause.message}`, { cause });
    }
  }

  #checkSigner(current: AgentRow, signer: Signer, kind: MessageKind): void {
    if (signer.address !== current.signer) {
      fail("AGENT_BAD_SIGNATURE", `${kind} is not signed by the agent's current key`, {
        agent: current.id,
        expected: current.signer,
        signer: signer.address,
      });
    }
  }

  #checkActive(current: AgentRow): void {
    if (current.status !== "active") {
      fail("AGENT_NOT_ACTIVE", `the agent is ${current.status}`, {
        id: current.id,
        status: current.status,
      });
    }
  }

  #checkNonce(current: AgentRow, nonce: string): void {
    if (BigInt(nonce) <= BigInt(current.registry_nonce)) {
      fail("AGENT_NONCE_NOT_INCREASING", "the nonce must be larger than the last accepted one", {
        last: current.registry_nonce,
        got: nonce,
      });
    }
  }

  #checkTransition(current: AgentRow, from: readonly AgentStatus[], to: AgentStatus): void {
    if (!from.includes(current.status)) {
      fail(
        "AGENT_STATUS_TRANSITION_INVALID",
        `the agent cannot go from ${current.status} to ${to}`,
        {
          id: current.id,
          from: current.status,
          to,
        },
      );
    }
  }

  // -- storage --------------------------------------------------------------

  async #read(db: Db, id: string): Promise<AgentRecord> {
    const [row] = await db.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`, [
      id,
    ]);
    if (row === undefined) fail("AGENT_NOT_FOUND", "no agent is registered under this id", { id });
    return toRecord(row);
  }

  /** Reads the agent's row and locks it until the transaction ends. */
  async #lock(
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

  async #operatorChange(
    id: string,
    reason: string,
    from: readonly AgentStatus[],
    to: AgentStatus,
  ): Promise<AgentRecord> {
    const agent = normalizeId(id);
    const why = parseReason(reason);
    const at = this.#now().toISOString();
    return this.#db.transaction(async (tx) => {
      const current = await this.#lock(tx, agent);
      this.#checkTransition(current, from, to);
      await tx.query("UPDATE agents SET status = $2, updated_at = $3::timestamptz WHERE id = $1", [
        agent,
        to,
        at,
      ]);
      await this.#appendStatusChange(tx, agent, to, why, at, null);
      return this.#read(tx, agent);
    });
  }

  async #insertCardVersion(
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

  async #appendStatusChange(
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
    await this.#insertStatusChange(tx, agent, Number(row?.next ?? 0), status, reason, at, proof);
  }

  async #insertStatusChange(
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
}
