import { randomBytes } from "node:crypto";
import { type Address, compileParser, fail, type JsonValue } from "@chaoscore/core";
import type { AgentRegistry, Db } from "@chaoscore/log";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { GOVERNANCE_KIND } from "./dao.js";
import {
  GENERIC_KIND,
  type RewardPolicy,
  RewardPolicySchema,
  ROLE_PATTERN,
  STUDIO_ID_PATTERN,
  STUDIO_ROLES,
  type Studio,
  type StudioKind,
  type StudioMember,
  type StudioRules,
  StudioRulesSchema,
  type StudioStatus,
} from "./model.js";

/** Options of {@link StudioManager}. */
export type StudioManagerOptions = {
  db: Db;
  /** Members must be registered, active agents. */
  registry: Pick<AgentRegistry, "get">;
  /** Extra studio kinds (`generic` and `governance` are built in). */
  kinds?: readonly StudioKind[];
  now?: () => Date;
};

/** The input of {@link StudioManager.create}. */
export type CreateStudioInput = {
  /** A lowercase slug; default `studio-<random hex>`. */
  id?: string;
  kind: string;
  name: string;
  /** The operator agent: registered and active; becomes a member with role `operator`. */
  operator: string;
  config: unknown;
  rules: unknown;
  rewardPolicy: unknown;
};

/** Filters of {@link StudioManager.list}; ordered by id. */
export type ListStudiosQuery = {
  kind?: string;
  status?: StudioStatus;
  /** 1..100, default 50. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
};

type StudioRow = {
  id: string;
  kind: string;
  name: string;
  operator: string;
  config: JsonValue;
  rules: StudioRules;
  reward_policy: RewardPolicy;
  spent: string;
  status: StudioStatus;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
};

const parseRules = compileParser(StudioRulesSchema, "STUDIO_CONFIG_INVALID", "studio rules");
const parsePolicy = compileParser(RewardPolicySchema, "STUDIO_CONFIG_INVALID", "reward policy");
const ID_RE = new RegExp(STUDIO_ID_PATTERN);
const ROLE_RE = new RegExp(ROLE_PATTERN);
const iso = (v: Date | string) => new Date(v).toISOString();

/** Reads a JSON column: PGlite and pg both parse jsonb, but be safe with text. */
function json<T>(v: unknown): T {
  return (typeof v === "string" ? JSON.parse(v) : v) as T;
}

/** @internal The row → Studio mapping, shared with the task orchestrator. */
export function toStudio(r: StudioRow): Studio {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    operator: r.operator as Address,
    config: json<JsonValue>(r.config),
    rules: json<StudioRules>(r.rules),
    rewardPolicy: json<RewardPolicy>(r.reward_policy),
    spent: String(r.spent),
    status: r.status,
    version: Number(r.version),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/**
 * Creates and administers studios: their config (validated by the schema of
 * the studio's kind), rules, reward policy and members. These are operator
 * calls (authenticated by the gateway); the work inside a studio — its tasks —
 * goes through signed actions ({@link TaskOrchestrator}).
 *
 * @example
 * ```ts
 * const studios = new StudioManager({ db: engine.db, registry: engine.registry });
 * const s = await studios.create({ kind: "generic", name: "Labelling", operator,
 *   config: {}, rules: { attestationRequired: false },
 *   rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "10" } });
 * await studios.addMember(s.id, agent, ["agent"]);
 * ```
 */
export class StudioManager {
  readonly #db: Db;
  readonly #registry: Pick<AgentRegistry, "get">;
  readonly #kinds = new Map<string, { kind: StudioKind; check: (v: unknown) => string | null }>();
  readonly #now: () => Date;

  constructor(options: StudioManagerOptions) {
    this.#db = options.db;
    this.#registry = options.registry;
    this.#now = options.now ?? (() => new Date());
    for (const kind of [GENERIC_KIND, GOVERNANCE_KIND, ...(options.kinds ?? [])]) {
      this.registerKind(kind);
    }
  }

  /** Adds (or replaces) a studio kind. */
  registerKind(kind: StudioKind): void {
    const checker = TypeCompiler.Compile(kind.configSchema);
    this.#kinds.set(kind.kind, {
      kind,
      check: (v) => {
        if (checker.Check(v)) return null;
        const first = checker.Errors(v).First();
        return first === undefined ? "invalid" : `${first.path || "/"} ${first.message}`;
      },
    });
  }

  /** The definition of a kind, or undefined. */
  kind(kind: string): StudioKind | undefined {
    return this.#kinds.get(kind)?.kind;
  }

  /**
   * Creates a studio; its operator becomes a member with role `operator`.
   * @throws ChaosCoreError STUDIO_CONFIG_INVALID (unknown kind, bad id, name,
   * config, rules or reward policy), STUDIO_EXISTS, AGENT_NOT_FOUND,
   * AGENT_NOT_ACTIVE (the operator).
   */
  async create(input: CreateStudioInput): Promise<Studio> {
    const id = input?.id ?? `studio-${randomBytes(8).toString("hex")}`;
    if (typeof id !== "string" || !ID_RE.test(id)) {
      fail("STUDIO_CONFIG_INVALID", `a studio id must match ${STUDIO_ID_PATTERN}`, { field: "id" });
    }
    if (typeof input.name !== "string" || input.name.length < 1 || input.name.length > 200) {
      fail("STUDIO_CONFIG_INVALID", "a studio name is 1 to 200 characters", { field: "name" });
    }
    const { config, rules, rewardPolicy } = this.#validate(
      input.kind,
      input.config,
      input.rules,
      input.rewardPolicy,
    );
    const operator = await this.#activeAgent(input.operator);
    const at = this.#now();
    return this.#db.transaction(async (tx) => {
      const [exists] = await tx.query("SELECT 1 FROM studios WHERE id = $1", [id]);
      if (exists !== undefined) fail("STUDIO_EXISTS", `a studio ${id} exists`, { studio: id });
      const [row] = await tx.query<StudioRow>(
        `INSERT INTO studios (id, kind, name, operator, config, rules, reward_policy, status, version,
                              created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, 'active', 1, $8, $8) RETURNING *`,
        [
          id,
          input.kind,
          input.name,
          operator,
          JSON.stringify(config),
          JSON.stringify(rules),
          JSON.stringify(rewardPolicy),
          at,
        ],
      );
      await tx.query(
        "INSERT INTO studio_members (studio_id, agent_id, roles, added_at) VALUES ($1, $2, $3, $4)",
        [id, operator, [STUDIO_ROLES.operator], at],
      );
      return toStudio(row as StudioRow);
    });
  }

  /**
   * Replaces the config, rules and/or reward policy of an active studio
   * (validated as at creation); the version goes up by one.
   * @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_ARCHIVED, STUDIO_CONFIG_INVALID.
   */
  async configure(
    id: string,
    changes: { name?: string; config?: unknown; rules?: unknown; rewardPolicy?: unknown },
  ): Promise<Studio> {
    const current = await this.get(id);
    if (current.status !== "active") fail("STUDIO_ARCHIVED", `studio ${id} is archived`);
    if (
      changes.name !== undefined &&
      (typeof changes.name !== "string" || changes.name.length < 1 || changes.name.length > 200)
    ) {
      fail("STUDIO_CONFIG_INVALID", "a studio name is 1 to 200 characters", { field: "name" });
    }
    const { config, rules, rewardPolicy } = this.#validate(
      current.kind,
      changes.config === undefined ? current.config : changes.config,
      changes.rules === undefined ? current.rules : changes.rules,
      changes.rewardPolicy === undefined ? current.rewardPolicy : changes.rewardPolicy,
    );
    if (BigInt(rewardPolicy.budget) < BigInt(current.spent)) {
      fail("STUDIO_CONFIG_INVALID", "the budget is below what the studio has already paid", {
        field: "rewardPolicy.budget",
        spent: current.spent,
      });
    }
    const [row] = await this.#db.query<StudioRow>(
      `UPDATE studios SET name = $2, config = $3::jsonb, rules = $4::jsonb, reward_policy = $5::jsonb,
              version = version + 1, updated_at = $6
       WHERE id = $1 AND version = $7 AND status = 'active' RETURNING *`,
      [
        id,
        changes.name ?? current.name,
        JSON.stringify(config),
        JSON.stringify(rules),
        JSON.stringify(rewardPolicy),
        this.#now(),
        current.version,
      ],
    );
    if (row === undefined) {
      fail("STUDIO_TRANSITION_INVALID", `studio ${id} changed concurrently; read it and retry`);
    }
    return toStudio(row);
  }

  /**
   * Adds a registered, active agent as a member with `roles` (or replaces its roles).
   * @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_ARCHIVED, STUDIO_CONFIG_INVALID
   * (a role the kind does not have), AGENT_NOT_FOUND, AGENT_NOT_ACTIVE.
   */
  async addMember(id: string, agent: string, roles: readonly string[]): Promise<StudioMember> {
    const studio = await this.get(id);
    if (studio.status !== "active") fail("STUDIO_ARCHIVED", `studio ${id} is archived`);
    const allowed = this.#kinds.get(studio.kind)?.kind.roles ?? Object.values(STUDIO_ROLES);
    if (
      !Array.isArray(roles) ||
      roles.length === 0 ||
      roles.length > 8 ||
      !roles.every((r) => typeof r === "string" && ROLE_RE.test(r) && allowed.includes(r))
    ) {
      fail("STUDIO_CONFIG_INVALID", `roles must be 1 to 8 of: ${allowed.join(", ")}`, {
        field: "roles",
      });
    }
    const member = await this.#activeAgent(agent);
    const at = this.#now();
    const unique = [...new Set(roles)].sort();
    const [row] = await this.#db.query<{ added_at: Date | string }>(
      `INSERT INTO studio_members (studio_id, agent_id, roles, added_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (studio_id, agent_id) DO UPDATE SET roles = EXCLUDED.roles RETURNING added_at`,
      [id, member, unique, at],
    );
    return { agent: member, roles: unique, addedAt: iso(row?.added_at ?? at) };
  }

  /**
   * Removes a member (not the studio's operator). Tasks assigned to it stay
   * assigned until they expire or fail.
   * @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_ARCHIVED, STUDIO_NOT_MEMBER,
   * STUDIO_ROLE_FORBIDDEN (removing the operator).
   */
  async removeMember(id: string, agent: string): Promise<void> {
    const studio = await this.get(id);
    if (studio.status !== "active") fail("STUDIO_ARCHIVED", `studio ${id} is archived`);
    const a = String(agent).toLowerCase();
    if (a === studio.operator) {
      fail("STUDIO_ROLE_FORBIDDEN", "the studio's operator cannot be removed");
    }
    const rows = await this.#db.query(
      "DELETE FROM studio_members WHERE studio_id = $1 AND agent_id = $2 RETURNING agent_id",
      [id, a],
    );
    if (rows.length === 0) fail("STUDIO_NOT_MEMBER", `${a} is not a member of ${id}`);
  }

  /** The members of a studio, by agent id. @throws ChaosCoreError STUDIO_NOT_FOUND. */
  async members(id: string): Promise<StudioMember[]> {
    await this.get(id);
    const rows = await this.#db.query<{
      agent_id: string;
      roles: string[];
      added_at: Date | string;
    }>(
      "SELECT agent_id, roles, added_at FROM studio_members WHERE studio_id = $1 ORDER BY agent_id",
      [id],
    );
    return rows.map((r) => ({
      agent: r.agent_id as Address,
      roles: [...r.roles],
      addedAt: iso(r.added_at),
    }));
  }

  /** A member's roles, or null when the agent is not a member. */
  async rolesOf(id: string, agent: string, db: Db = this.#db): Promise<string[] | null> {
    const [row] = await db.query<{ roles: string[] }>(
      "SELECT roles FROM studio_members WHERE studio_id = $1 AND agent_id = $2",
      [id, String(agent).toLowerCase()],
    );
    return row === undefined ? null : [...row.roles];
  }

  /** A studio. @throws ChaosCoreError STUDIO_NOT_FOUND. */
  async get(id: string, db: Db = this.#db): Promise<Studio> {
    if (typeof id !== "string" || !ID_RE.test(id)) fail("STUDIO_NOT_FOUND", `no studio ${id}`);
    const [row] = await db.query<StudioRow>("SELECT * FROM studios WHERE id = $1", [id]);
    if (row === undefined) fail("STUDIO_NOT_FOUND", `no studio ${id}`, { studio: id });
    return toStudio(row);
  }

  /**
   * Studios matching the filters, ordered by id, a page at a time.
   * @throws ChaosCoreError INVALID_INPUT (a bad limit, status or cursor).
   */
  async list(
    query: ListStudiosQuery = {},
  ): Promise<{ items: Studio[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      fail("INVALID_INPUT", "limit must be an integer in [1, 100]");
    }
    if (query.status !== undefined && query.status !== "active" && query.status !== "archived") {
      fail("INVALID_INPUT", "status must be active or archived");
    }
    if (query.cursor !== undefined && !ID_RE.test(query.cursor)) {
      fail("INVALID_INPUT", "malformed cursor");
    }
    const rows = await this.#db.query<StudioRow>(
      `SELECT * FROM studios
       WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR status = $2)
         AND ($3::text IS NULL OR id > $3)
       ORDER BY id LIMIT ${limit + 1}`,
      [query.kind ?? null, query.status ?? null, query.cursor ?? null],
    );
    const items = rows.slice(0, limit).map(toStudio);
    return {
      items,
      nextCursor: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null,
    };
  }

  /**
   * Archives a studio: it keeps its history and accepts no more changes.
   * @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_ARCHIVED.
   */
  async archive(id: string): Promise<Studio> {
    const current = await this.get(id);
    if (current.status !== "active") fail("STUDIO_ARCHIVED", `studio ${id} is already archived`);
    const [row] = await this.#db.query<StudioRow>(
      `UPDATE studios SET status = 'archived', updated_at = $2 WHERE id = $1 AND status = 'active'
       RETURNING *`,
      [id, this.#now()],
    );
    if (row === undefined) fail("STUDIO_ARCHIVED", `studio ${id} is already archived`);
    return toStudio(row);
  }

  #validate(kind: unknown, config: unknown, rules: unknown, rewardPolicy: unknown) {
    const def = typeof kind === "string" ? this.#kinds.get(kind) : undefined;
    if (def === undefined) {
      fail("STUDIO_CONFIG_INVALID", `unknown studio kind ${String(kind)}`, {
        field: "kind",
        kinds: [...this.#kinds.keys()],
      });
    }
    const problem = def.check(config);
    if (problem !== null) {
      fail("STUDIO_CONFIG_INVALID", `the ${def.kind.kind} config is malformed: ${problem}`, {
        field: "config",
        problem,
      });
    }
    const r = parseRules(rules);
    const p = parsePolicy(rewardPolicy);
    if (r.attestationRequired === false && r.allowedMeasurements !== undefined) {
      fail("STUDIO_CONFIG_INVALID", "allowedMeasurements needs attestationRequired", {
        field: "rules.allowedMeasurements",
      });
    }
    return { config: config as JsonValue, rules: r, rewardPolicy: p };
  }

  async #activeAgent(agent: unknown): Promise<Address> {
    if (typeof agent !== "string") fail("AGENT_NOT_FOUND", "an agent id is a string");
    const record = await this.#registry.get(agent);
    if (record.identity.status !== "active") {
      fail("AGENT_NOT_ACTIVE", `agent ${agent} is ${record.identity.status}`, {
        agent,
        status: record.identity.status,
      });
    }
    return record.identity.id;
  }
}
