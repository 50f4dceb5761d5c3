/**
 * What the Governance Studio's parts share: its dependencies (a
 * {@link GovernanceContext}), the records of proposals and votes, the
 * parsing and checking of a signed step, the proposal rows, and
 * {@link recordStep}, which makes a step one database transaction.
 * @module
 */
import {
  type ActionEntry,
  type Address,
  canonicalJsonBytes,
  compileParser,
  entryId,
  fail,
  type Hex,
  SafeText,
  sha256Hex,
} from "@chaoscore/core";
import type { AgentRegistry, Db, ProofOfAgency } from "@chaoscore/log";
import { Type } from "@sinclair/typebox";
import { type GovernanceAction, governanceActionType } from "./client.js";
import {
  type DaoState,
  DaoStateSchema,
  type GovernanceConfig,
  type Proposal,
  ProposalSchema,
  type Tally,
  type VoteChoice,
} from "./dao.js";
import type { Studio } from "./model.js";
import { assertStudioPayload, parseStudioAction } from "./signed-entry.js";
import type { StudioManager } from "./studio-manager.js";
import type { TaskOrchestrator } from "./task-orchestrator.js";

/** The Governance Studio's dependencies, passed to each of its parts. */
export type GovernanceContext = {
  db: Db;
  agency: Pick<ProofOfAgency, "recordInTransaction" | "chainId" | "verifyingContract">;
  registry: Pick<AgentRegistry, "get" | "signingState">;
  studios: StudioManager;
  tasks: TaskOrchestrator;
  now: () => Date;
};

/** The states of a proposal. */
export type ProposalState = "voting" | "passed" | "rejected" | "executed";

/** A proposal as the studio holds it. */
export type ProposalRecord = {
  studio: string;
  id: string;
  proposal: Proposal;
  state: ProposalState;
  /** Unix seconds. */
  votingEndsAt: number;
  tally: Tally | null;
  daoBefore: DaoState | null;
  daoAfter: DaoState | null;
  /** The signed actions of the proposal's steps. */
  actions: { propose: Hex; tally?: Hex; execute?: Hex };
  lastAction: Hex;
  createdAt: string;
  updatedAt: string;
};

/** A recorded vote. */
export type VoteRecord = {
  agent: Address;
  choice: VoteChoice;
  reason: string;
  actionId: Hex;
  at: string;
};

const Choice = Type.Union([Type.Literal("for"), Type.Literal("against"), Type.Literal("abstain")]);
const ProposalRef = Type.String({ minLength: 1, maxLength: 64 });
export const PAYLOAD_PARSERS = {
  propose: compileParser(
    Type.Object(
      { proposal: ProposalSchema, votingEndsAt: Type.Integer({ minimum: 0, maximum: 2 ** 40 }) },
      { additionalProperties: false },
    ),
    "STUDIO_PROPOSAL_INVALID",
    "the propose payload",
  ),
  vote: compileParser(
    Type.Object(
      { proposal: ProposalRef, choice: Choice, reason: SafeText({ maxLength: 1000 }) },
      { additionalProperties: false },
    ),
    "STUDIO_VOTE_INVALID",
    "the vote payload",
  ),
  tally: compileParser(
    Type.Object(
      {
        proposal: ProposalRef,
        for: Type.Integer({ minimum: 0 }),
        against: Type.Integer({ minimum: 0 }),
        abstain: Type.Integer({ minimum: 0 }),
        voters: Type.Integer({ minimum: 0 }),
        quorumMet: Type.Boolean(),
        passed: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    "STUDIO_ENTRY_INVALID",
    "the tally payload",
  ),
  execute: compileParser(
    Type.Object(
      { proposal: ProposalRef, before: DaoStateSchema, after: DaoStateSchema },
      { additionalProperties: false },
    ),
    "STUDIO_ENTRY_INVALID",
    "the execute payload",
  ),
} as const;

type ProposalRow = {
  studio_id: string;
  id: string;
  proposal: Proposal;
  state: ProposalState;
  voting_ends_at: string | number;
  tally: Tally | null;
  dao_before: DaoState | null;
  dao_after: DaoState | null;
  last_action: string;
  actions: ProposalRecord["actions"];
  created_at: Date | string;
  updated_at: Date | string;
};

export const json = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;
export const iso = (v: Date | string) => new Date(v).toISOString();
/** Whether two JSON values are canonically equal. */
export const same = (a: unknown, b: unknown) =>
  sha256Hex(canonicalJsonBytes(a)) === sha256Hex(canonicalJsonBytes(b));

/** Now, in unix seconds, on the context's clock. */
export function seconds(ctx: Pick<GovernanceContext, "now">): number {
  return Math.floor(ctx.now().getTime() / 1000);
}

/** The role that votes in a governance studio (default "agent"). */
export function voterRole(studio: Studio): string {
  return (studio.config as GovernanceConfig).voterRole ?? "agent";
}

/**
 * Runs a step's writes and records its signed action in one database
 * transaction: `write` locks the row the step changes (`SELECT … FOR UPDATE`),
 * checks again what may have changed since the step was checked, and writes
 * the studio's tables; the action is recorded in the same transaction. Every
 * engine on the database is serialised on that row; a crash or a refusal
 * leaves neither the action nor the table update. The log's new leaf is
 * published once the transaction has committed.
 */
export async function recordStep<T>(
  ctx: Pick<GovernanceContext, "db" | "agency">,
  step: { entry: ActionEntry; payload: unknown },
  write: (tx: Db) => Promise<T>,
): Promise<T> {
  let publish: () => void = () => undefined;
  const result = await ctx.db.transaction(async (tx) => {
    const out = await write(tx);
    const written = await ctx.agency.recordInTransaction(tx, [
      { kind: "action", entry: step.entry, payload: step.payload },
    ]);
    publish = written.commit;
    return out;
  });
  publish();
  return result;
}

/** A governance studio. @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_CONFIG_INVALID (another kind). */
export async function governanceStudio(
  ctx: Pick<GovernanceContext, "studios">,
  studioId: string,
): Promise<Studio> {
  const studio = await ctx.studios.get(studioId);
  if (studio.kind !== "governance") {
    fail("STUDIO_CONFIG_INVALID", `studio ${studioId} is a ${studio.kind} studio`, {
      kind: studio.kind,
    });
  }
  return studio;
}

/** The DAO row (created from the studio's config on first use). */
export async function daoOf(
  ctx: Pick<GovernanceContext, "db" | "now">,
  studio: Studio,
): Promise<{ state: DaoState; version: number }> {
  const read = async () =>
    (
      await ctx.db.query<{ state: DaoState; version: number }>(
        "SELECT state, version FROM governance_daos WHERE studio_id = $1",
        [studio.id],
      )
    )[0];
  let row = await read();
  if (row === undefined) {
    const config = studio.config as GovernanceConfig;
    await ctx.db.query(
      `INSERT INTO governance_daos (studio_id, state, version, updated_at) VALUES ($1, $2::jsonb, 1, $3)
         ON CONFLICT (studio_id) DO NOTHING`,
      [studio.id, JSON.stringify(config.dao), ctx.now()],
    );
    row = await read();
  }
  return { state: json<DaoState>(row?.state), version: Number(row?.version) };
}

/** Parses and checks a signed governance step: the studio, the entry, the payload, the signer and its roles. */
export async function prepareStep(
  ctx: Pick<GovernanceContext, "registry" | "studios">,
  studioId: string,
  signed: { entry: unknown; payload: unknown },
  action: GovernanceAction,
  roles: readonly string[],
) {
  const studio = await governanceStudio(ctx, studioId);
  if (studio.status !== "active") fail("STUDIO_ARCHIVED", `studio ${studioId} is archived`);
  if (typeof signed !== "object" || signed === null) {
    fail("STUDIO_ENTRY_INVALID", "a governance step is { entry, payload }");
  }
  const entry = parseStudioAction(signed.entry);
  const m = entry.message;
  if (m.studio !== studioId || m.actionType !== governanceActionType(action)) {
    fail("STUDIO_ENTRY_INVALID", `expected ${governanceActionType(action)} in ${studioId}`, {
      studio: m.studio,
      actionType: m.actionType,
    });
  }
  assertStudioPayload(signed.payload, m.payloadHash);
  const payload = PAYLOAD_PARSERS[action](signed.payload);
  if (
    "proposal" in payload &&
    typeof payload.proposal === "string" &&
    payload.proposal !== m.task
  ) {
    fail("STUDIO_ENTRY_INVALID", "the entry's task must be the proposal id");
  }
  // The signer: registered and active, a member with one of `roles`.
  const record = await ctx.registry.get(m.agent);
  if (record.identity.status !== "active") {
    fail("AGENT_NOT_ACTIVE", `agent ${m.agent} is ${record.identity.status}`, {
      agent: m.agent,
      status: record.identity.status,
    });
  }
  const memberRoles = await ctx.studios.rolesOf(studioId, m.agent);
  if (memberRoles === null) {
    fail("STUDIO_NOT_MEMBER", `${m.agent} is not a member of ${studioId}`, { agent: m.agent });
  }
  if (!memberRoles.some((r) => roles.includes(r))) {
    fail("STUDIO_ROLE_FORBIDDEN", `${action} is signed by: ${roles.join(", ")}`, {
      agent: m.agent,
      roles: memberRoles,
    });
  }
  return { studio, entry, id: entryId(entry), agent: m.agent, payload };
}

/** The proposal a step names (its entry's task). @throws ChaosCoreError STUDIO_PROPOSAL_NOT_FOUND. */
export async function proposalOf(
  ctx: Pick<GovernanceContext, "db">,
  g: { studio: Studio; entry: ActionEntry },
): Promise<ProposalRecord> {
  return getProposal(ctx.db, g.studio.id, g.entry.message.task);
}

/** The step's only parent is `parent` (the proposal's previous step). */
export function assertParent(g: { entry: ActionEntry }, parent: Hex): void {
  const parents = g.entry.message.parents;
  if (parents.length !== 1 || parents[0] !== parent) {
    fail("STUDIO_TRANSITION_INVALID", "the action's parent must be the proposal's previous step", {
      expected: parent,
      parents,
    });
  }
}

/** Moves a proposal on (in the step's transaction), if it is still where it was read. */
export async function updateProposal(
  tx: Db,
  now: Date,
  p: ProposalRecord,
  state: ProposalState,
  actionId: Hex,
  step: "tally" | "execute",
  fields: { tally?: Tally; daoBefore?: DaoState; daoAfter?: DaoState },
): Promise<void> {
  const rows = await tx.query(
    `UPDATE governance_proposals
       SET state = $3, last_action = decode($4, 'hex'), actions = $5::jsonb, updated_at = $6,
           tally = coalesce($7::jsonb, tally), dao_before = coalesce($8::jsonb, dao_before),
           dao_after = coalesce($9::jsonb, dao_after)
       WHERE studio_id = $1 AND id = $2 AND last_action = decode($10, 'hex') RETURNING id`,
    [
      p.studio,
      p.id,
      state,
      actionId.slice(2),
      JSON.stringify({ ...p.actions, [step]: actionId }),
      now,
      fields.tally === undefined ? null : JSON.stringify(fields.tally),
      fields.daoBefore === undefined ? null : JSON.stringify(fields.daoBefore),
      fields.daoAfter === undefined ? null : JSON.stringify(fields.daoAfter),
      p.lastAction.slice(2),
    ],
  );
  if (rows.length === 0)
    fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} moved on concurrently`);
}

/** A proposal, or null (`FOR UPDATE` with `lock`, inside a transaction). */
export async function findProposal(
  db: Db,
  studioId: string,
  proposalId: string,
  lock = false,
): Promise<ProposalRecord | null> {
  if (typeof proposalId !== "string") return null;
  const [r] = await db.query<ProposalRow>(
    `SELECT studio_id, id, proposal, state, voting_ends_at::text AS voting_ends_at, tally, dao_before,
              dao_after, encode(last_action, 'hex') AS last_action, actions, created_at, updated_at
       FROM governance_proposals WHERE studio_id = $1 AND id = $2${lock ? " FOR UPDATE" : ""}`,
    [studioId, proposalId],
  );
  if (r === undefined) return null;
  return {
    studio: r.studio_id,
    id: r.id,
    proposal: json<Proposal>(r.proposal),
    state: r.state,
    votingEndsAt: Number(r.voting_ends_at),
    tally: r.tally === null ? null : json<Tally>(r.tally),
    daoBefore: r.dao_before === null ? null : json<DaoState>(r.dao_before),
    daoAfter: r.dao_after === null ? null : json<DaoState>(r.dao_after),
    actions: json<ProposalRecord["actions"]>(r.actions),
    lastAction: `0x${r.last_action}` as Hex,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** A proposal. @throws ChaosCoreError STUDIO_PROPOSAL_NOT_FOUND. */
export async function getProposal(
  db: Db,
  studioId: string,
  proposalId: string,
): Promise<ProposalRecord> {
  const p = await findProposal(db, studioId, proposalId);
  if (p === null) {
    fail("STUDIO_PROPOSAL_NOT_FOUND", `no proposal ${proposalId} in ${studioId}`, {
      proposal: proposalId,
    });
  }
  return p;
}
