/**
 * Who is calling: operator API keys (hashed, scoped, revocable) and
 * agent-signed requests (EIP-712 `Request`, single-use nonces). Routes state
 * what they need; {@link assertMayWrite} checks an entry against the caller.
 * @module
 */
import { createHash, hash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  type Address,
  ChaosCoreError,
  type Hex,
  isChaosCoreError,
  isHex,
  type SigningDomain,
  sha256Hex,
  verifyTypedMessage,
} from "@chaoscore/core";
import type { AgentRegistry, Db } from "@chaoscore/log";
import { fail } from "./problem.js";

/**
 * An API key scope. `read`: read what is not public — the payloads (tool
 * inputs and outputs) of every agent's actions; `read-only` is its former
 * name and means the same.
 */
export type Scope = "admin" | "read" | "read-only" | "ingest" | `studio:${string}`;

const STUDIO_SCOPE_RE = /^studio:[a-z0-9][a-z0-9._-]{0,63}$/;

/** True when `value` is a valid scope. */
export function isScope(value: unknown): value is Scope {
  return (
    value === "admin" ||
    value === "read" ||
    value === "read-only" ||
    value === "ingest" ||
    (typeof value === "string" && STUDIO_SCOPE_RE.test(value))
  );
}

/** The caller of a request. */
export type Principal =
  | { kind: "key"; id: string; scopes: readonly Scope[] }
  | { kind: "agent"; agent: Address }
  | { kind: "anonymous" };

/** What a route needs from its caller. */
export type Access =
  /** anyone */
  | "public"
  /** an agent (as itself), or a key scoped admin, ingest or studio:<id> (for that studio's entries) */
  | "ingest"
  /** an agent that is a member of the route's studio `:id` (as itself), or a key scoped admin or studio:<:id> */
  | "studio"
  /** a key scoped admin or studio:<the route's :id>; agents are refused */
  | "studio-key"
  /** an agent registering itself, or an admin key */
  | "register"
  /** an admin key */
  | "admin";

/** An API key as listed (never its secret). */
export type ApiKeyInfo = {
  id: string;
  scopes: Scope[];
  label: string;
  createdAt: string;
  revokedAt: string | null;
};

const KEY_RE = /^cck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const CACHE_MS = 5_000;

/** SHA-256 of a key's secret (one-shot `hash`: no Hash object per request). */
const hashSecret = (secret: string) => hash("sha256", secret, "buffer");

/** What a gateway keeps of a stored key: the hash of its secret, its scopes, whether it is revoked. */
interface StoredKey {
  hash: Buffer;
  scopes: Scope[];
  revoked: boolean;
}

/** A look-up of a key by its id: when it was asked, its answer, and the key once found. */
interface KeyLookup {
  at: number;
  key: Promise<StoredKey | undefined>;
  found?: StoredKey;
}

/**
 * Operator API keys: `cck_<id>_<secret>`, stored as SHA-256 of the secret,
 * shown once. Lookups are cached for 5 s (a revocation through this store
 * takes effect at once; through another gateway within 5 s).
 */
export class ApiKeyStore {
  readonly #db: Db;
  /**
   * Lookups by key id, each kept for {@link CACHE_MS} from when it was asked;
   * a lookup under way is shared by every request that needs it, so a key's
   * expiry under load costs one query, not one per connection.
   */
  readonly #cache = new Map<string, KeyLookup>();

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Creates a key; the returned `key` is the only time the secret is visible.
   * @throws ChaosCoreError GATEWAY_REQUEST_INVALID on a bad scope or label.
   */
  async create(input: {
    scopes: readonly string[];
    label?: string;
  }): Promise<ApiKeyInfo & { key: string }> {
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0 || !scopes.every(isScope)) {
      fail("GATEWAY_REQUEST_INVALID", "scopes are admin, read, ingest or studio:<studio id>", {
        scopes: input.scopes,
      });
    }
    const label = input.label ?? "";
    if (label.length > 200) fail("GATEWAY_REQUEST_INVALID", "a label has at most 200 characters");
    const id = randomBytes(8).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const [row] = await this.#db.query<{ created_at: Date | string }>(
      `INSERT INTO api_keys (id, secret_hash, scopes, label, created_at)
       VALUES ($1, $2, $3, $4, now()) RETURNING created_at`,
      [id, hashSecret(secret), scopes, label],
    );
    return {
      id,
      key: `cck_${id}_${secret}`,
      scopes: scopes as Scope[],
      label,
      createdAt: new Date(row?.created_at ?? 0).toISOString(),
      revokedAt: null,
    };
  }

  /** Every key, newest first (without secrets). */
  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.#db.query<{
      id: string;
      scopes: string[];
      label: string;
      created_at: Date | string;
      revoked_at: Date | string | null;
    }>("SELECT id, scopes, label, created_at, revoked_at FROM api_keys ORDER BY created_at DESC");
    return rows.map((r) => ({
      id: r.id,
      scopes: r.scopes as Scope[],
      label: r.label,
      createdAt: new Date(r.created_at).toISOString(),
      revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
    }));
  }

  /**
   * Revokes a key; the last live admin key cannot be revoked (the operator
   * would be locked out: create another admin key first).
   * @throws ChaosCoreError GATEWAY_API_KEY_NOT_FOUND when there is no such
   * live key, GATEWAY_LAST_ADMIN_KEY for the last live admin key.
   */
  async revoke(id: string): Promise<void> {
    const outcome = await this.#db.transaction(async (tx) => {
      // One revocation at a time: two concurrent ones must not both see another admin key.
      await tx.query("SELECT pg_advisory_xact_lock(7271731)");
      const rows = await tx.query<{ admin: boolean; others: number }>(
        `SELECT 'admin' = ANY(scopes) AS admin,
                (SELECT count(*)::int FROM api_keys o WHERE o.id <> k.id
                   AND o.revoked_at IS NULL AND 'admin' = ANY(o.scopes)) AS others
         FROM api_keys k WHERE id = $1 AND revoked_at IS NULL`,
        [id],
      );
      const [row] = rows;
      if (row === undefined) return "missing";
      if (row.admin && row.others === 0) return "last-admin";
      await tx.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1", [id]);
      return "revoked";
    });
    this.#cache.delete(id);
    if (outcome === "missing") fail("GATEWAY_API_KEY_NOT_FOUND", `no live API key ${id}`);
    if (outcome === "last-admin") {
      fail(
        "GATEWAY_LAST_ADMIN_KEY",
        "this is the last live admin key: create another admin key before revoking it",
        { keyId: id },
      );
    }
  }

  /** The key behind a bearer token. @throws ChaosCoreError GATEWAY_API_KEY_INVALID. */
  async authenticate(token: string): Promise<{ id: string; scopes: readonly Scope[] }> {
    const m = KEY_RE.exec(token);
    if (m === null) fail("GATEWAY_API_KEY_INVALID", "an API key looks like cck_<id>_<secret>");
    const [, id, secret] = m as unknown as [string, string, string];
    let lookup = this.#cache.get(id);
    if (lookup === undefined || Date.now() - lookup.at > CACHE_MS) {
      const mine: KeyLookup = { at: Date.now(), key: this.#lookup(id) };
      this.#cache.set(id, mine);
      // An unknown id or a failed query is not kept: the next request asks again.
      const forget = () => {
        if (this.#cache.get(id) === mine) this.#cache.delete(id);
      };
      mine.key.then((key) => {
        if (key === undefined) forget();
        else mine.found = key;
      }, forget);
      lookup = mine;
    }
    // A found key is read without waiting: no promise per request once it is cached.
    const cached = lookup.found ?? (await lookup.key);
    if (cached === undefined) fail("GATEWAY_API_KEY_INVALID", "unknown API key");
    if (cached.revoked || !timingSafeEqual(cached.hash, hashSecret(secret))) {
      fail("GATEWAY_API_KEY_INVALID", "unknown or revoked API key");
    }
    return { id, scopes: cached.scopes };
  }

  async #lookup(id: string): Promise<StoredKey | undefined> {
    const [row] = await this.#db.query<{
      secret_hash: Uint8Array;
      scopes: string[];
      revoked_at: unknown;
    }>("SELECT secret_hash, scopes, revoked_at FROM api_keys WHERE id = $1", [id]);
    if (row === undefined) return undefined;
    return {
      hash: Buffer.from(row.secret_hash),
      scopes: row.scopes as Scope[],
      revoked: row.revoked_at !== null,
    };
  }
}

/** The origin a gateway accepts signed requests for when it is told none: what `fastify.inject` uses. */
export const DEFAULT_ORIGIN = "http://localhost";

/** The longest an agent-signed request may be valid for. */
export const MAX_REQUEST_TTL_SECONDS = 300;

/** The headers of an agent-signed request, lower-cased. */
const AGENT_HEADERS = [
  "chaoscore-agent",
  "chaoscore-origin",
  "chaoscore-nonce",
  "chaoscore-expiry",
  "chaoscore-signature",
] as const;

/** True when the request carries any agent-signing header. */
export function hasAgentSignature(headers: Record<string, unknown>): boolean {
  return AGENT_HEADERS.some((h) => headers[h] !== undefined);
}

/**
 * Verifies agent-signed requests and consumes their nonces (a nonce is kept
 * until its request expires, then purged). The gateway releases the nonce of
 * a request it rejects ({@link release}), so a rejected request writes
 * nothing; an accepted one can never be replayed.
 */
export class RequestVerifier {
  readonly #db: Db;
  readonly #registry: AgentRegistry;
  readonly #domain: SigningDomain;
  readonly #origins: () => readonly string[];
  readonly #now: () => number;
  #lastPurge = 0;

  constructor(options: {
    db: Db;
    registry: AgentRegistry;
    /** The origins (`scheme://host[:port]`) this gateway answers at; default {@link DEFAULT_ORIGIN}. */
    origins?: readonly string[] | (() => readonly string[]);
    now?: () => number;
  }) {
    this.#db = options.db;
    this.#registry = options.registry;
    this.#domain = options.registry.domain;
    const origins = options.origins ?? [DEFAULT_ORIGIN];
    this.#origins = typeof origins === "function" ? origins : () => origins;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /**
   * Checks the four headers against the method, target and body; then
   * records the nonce.
   * @throws ChaosCoreError GATEWAY_REQUEST_SIGNATURE_INVALID, GATEWAY_REQUEST_EXPIRED,
   * GATEWAY_REQUEST_REPLAYED.
   */
  async verify(input: {
    /** Accept an agent that is not registered yet, signing with the key its id derives from. */
    allowUnregistered?: boolean;
    headers: Record<string, unknown>;
    method: string;
    target: string;
    body: Uint8Array;
  }): Promise<Address> {
    const h = Object.fromEntries(AGENT_HEADERS.map((k) => [k, input.headers[k]]));
    const agent = h["chaoscore-agent"];
    const origin = h["chaoscore-origin"];
    const nonce = h["chaoscore-nonce"];
    const expiry = h["chaoscore-expiry"];
    const signature = h["chaoscore-signature"];
    if (
      !isHex(agent, 20) ||
      typeof origin !== "string" ||
      !isHex(nonce, 32) ||
      typeof expiry !== "string" ||
      !/^[0-9]{1,12}$/.test(expiry) ||
      !isHex(signature, 65)
    ) {
      fail(
        "GATEWAY_REQUEST_SIGNATURE_INVALID",
        "an agent-signed request has ChaosCore-Agent (lowercase address), ChaosCore-Origin (the gateway's origin), ChaosCore-Nonce (32 bytes hex), ChaosCore-Expiry (unix seconds) and ChaosCore-Signature (65 bytes hex)",
      );
    }
    const origins = this.#origins();
    if (!origins.includes(origin)) {
      fail(
        "GATEWAY_REQUEST_WRONG_ORIGIN",
        `the request was signed for ${origin.slice(0, 200)}; this gateway answers at ${origins.join(", ")}`,
        { origin: origin.slice(0, 200), origins: [...origins] },
      );
    }
    const now = this.#now();
    const exp = Number(expiry);
    if (exp < now || exp > now + MAX_REQUEST_TTL_SECONDS) {
      fail(
        "GATEWAY_REQUEST_EXPIRED",
        `the request expires at ${exp}; the gateway accepts expiries in [${now}, ${now + MAX_REQUEST_TTL_SECONDS}]`,
        { expiry: exp, now },
      );
    }
    const state = (await this.#registry.signingState([agent])).get(agent);
    if (state === undefined && input.allowUnregistered !== true) {
      fail("GATEWAY_REQUEST_SIGNATURE_INVALID", `no agent ${agent} is registered`, { agent });
    }
    const signer = state?.signer ?? agent;
    const message = {
      agent,
      origin,
      method: input.method.toUpperCase(),
      path: input.target,
      bodyHash: sha256Hex(input.body),
      nonce,
      expiry,
    };
    try {
      verifyTypedMessage("Request", message, this.#domain, signature, signer);
    } catch (cause) {
      if (!isChaosCoreError(cause)) throw cause;
      throw new ChaosCoreError(
        "GATEWAY_REQUEST_SIGNATURE_INVALID",
        "the request signature is not the agent's current key over this origin, method, path, body, nonce and expiry, for this deployment",
        { cause, details: { agent } },
      );
    }
    const inserted = await this.#db.query(
      `INSERT INTO request_nonces (agent_id, nonce, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING agent_id`,
      [agent, Buffer.from(nonce.slice(2), "hex"), exp],
    );
    if (inserted.length === 0) {
      fail("GATEWAY_REQUEST_REPLAYED", "this request nonce was used before", { agent, nonce });
    }
    if (now - this.#lastPurge > 60) {
      // Expired nonces need not be kept: their requests are refused as expired anyway.
      this.#lastPurge = now;
      await this.#db.query("DELETE FROM request_nonces WHERE expires_at < $1", [now]);
    }
    return agent;
  }

  /** Frees the nonce of a request that was rejected after its signature was checked. */
  async release(agent: string, nonce: string): Promise<void> {
    await this.#db.query("DELETE FROM request_nonces WHERE agent_id = $1 AND nonce = $2", [
      agent,
      Buffer.from(nonce.slice(2), "hex"),
    ]);
  }
}

/** Throws GATEWAY_FORBIDDEN unless the principal's key has one of `scopes`. */
export function assertScope(principal: Principal, scopes: readonly Scope[]): void {
  if (principal.kind === "key" && principal.scopes.some((s) => scopes.includes(s))) return;
  fail("GATEWAY_FORBIDDEN", `this route needs a key scoped ${scopes.join(" or ")}`, {
    required: scopes,
  });
}

/**
 * Checks that the caller may write an entry of `agent` in `studio` ("" for
 * none): an agent only as itself; a key scoped admin always, ingest outside
 * studio routes, studio:<id> only in that studio.
 * @throws ChaosCoreError GATEWAY_FORBIDDEN, GATEWAY_UNAUTHENTICATED.
 */
export function assertMayWrite(
  principal: Principal,
  target: { agent: string | undefined; studio: string | undefined; route: "ingest" | "studio" },
): void {
  if (principal.kind === "anonymous") {
    fail("GATEWAY_UNAUTHENTICATED", "sign the request as the agent or send an API key");
  }
  if (principal.kind === "agent") {
    if (target.agent !== principal.agent) {
      fail(
        "GATEWAY_FORBIDDEN",
        `agent ${principal.agent} cannot write an entry of ${target.agent ?? "another agent"}`,
        { agent: principal.agent, entryAgent: target.agent ?? null },
      );
    }
    return;
  }
  const scopes = principal.scopes;
  if (scopes.includes("admin")) return;
  if (target.route === "ingest" && scopes.includes("ingest")) return;
  const studio = target.studio ?? "";
  if (studio !== "" && scopes.includes(`studio:${studio}`)) return;
  fail(
    "GATEWAY_FORBIDDEN",
    studio === ""
      ? "this key's scopes do not allow this write"
      : `this key's scopes do not include studio:${studio}`,
    { required: studio === "" ? ["admin", "ingest"] : ["admin", `studio:${studio}`] },
  );
}

/**
 * Whether the caller may read the payload of an action of `owner` in `studio`
 * ("" for none): the owning agent (a signed request), or a key scoped admin,
 * read (`read-only`) or studio:<the action's studio>. Entries, proofs,
 * checkpoints and tiles are public — verification needs them; payloads (tool
 * inputs and outputs) are not (issue 19 item 5).
 */
export function mayReadPayload(
  principal: Principal,
  action: { owner: string; studio: string },
): boolean {
  if (principal.kind === "agent") return principal.agent === action.owner;
  if (principal.kind === "anonymous") return false;
  return principal.scopes.some(
    (s) =>
      s === "admin" ||
      s === "read" ||
      s === "read-only" ||
      (action.studio !== "" && s === `studio:${action.studio}`),
  );
}

/**
 * The one place that decides whether `principal` may call a route of access
 * `access` (app.ts calls it for every request; routes add only what depends
 * on the body, such as an agent writing as itself: {@link assertMayWrite}).
 * `isMember` is asked for agents on `studio` routes.
 * @throws ChaosCoreError GATEWAY_UNAUTHENTICATED, GATEWAY_FORBIDDEN, STUDIO_NOT_MEMBER.
 */
export async function authorize(
  principal: Principal,
  access: Access,
  studio: string,
  isMember: (studio: string, agent: Address) => Promise<boolean | null>,
): Promise<void> {
  if (access === "public") return;
  if (principal.kind === "anonymous") {
    fail(
      "GATEWAY_UNAUTHENTICATED",
      "this route needs an API key (Authorization: Bearer …) or an agent-signed request",
    );
  }
  if (access === "admin") return assertScope(principal, ["admin"]);
  if (principal.kind === "agent") {
    if (access === "studio-key") {
      fail("GATEWAY_FORBIDDEN", "this route needs the studio's API key (admin or studio:<id>)");
    }
    if (access === "studio") {
      // null: no such studio (the route answers STUDIO_NOT_FOUND)
      if ((await isMember(studio, principal.agent)) === false) {
        fail("STUDIO_NOT_MEMBER", `agent ${principal.agent} is not a member of studio ${studio}`, {
          studio,
          agent: principal.agent,
        });
      }
    }
    return; // routes check that an agent writes only as itself
  }
  if (access === "register") return assertScope(principal, ["admin"]);
  if (access === "ingest") {
    const scoped = principal.scopes.some((s) => s.startsWith("studio:"));
    if (!scoped) assertScope(principal, ["admin", "ingest"]);
    return;
  }
  assertScope(principal, ["admin", `studio:${studio}`]);
}

/** A stable id of the principal (rate limits, idempotency keys). */
export function principalId(principal: Principal, ip: string): string {
  if (principal.kind === "key") return `key:${principal.id}`;
  if (principal.kind === "agent") return `agent:${principal.agent}`;
  return `ip:${ip}`;
}

/** The hash of a request for idempotency: method, target and body. */
export function requestHash(method: string, target: string, body: Uint8Array): Buffer {
  return createHash("sha256").update(`${method.toUpperCase()} ${target}\n`).update(body).digest();
}

export type { Hex };
