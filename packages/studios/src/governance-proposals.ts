/**
 * Proposals: the operator's signed `governance.propose` opens one (checked
 * against the DAO, recorded with its row in one transaction), and the
 * analysis tasks of a proposal.
 * @module
 */
import { fail } from "@chaoscore/core";
import type { GovernancePayloads } from "./client.js";
import { assertProposalFits, parseProposal } from "./dao.js";
import {
  daoOf,
  findProposal,
  type GovernanceContext,
  getProposal,
  type ProposalRecord,
  prepareStep,
  recordStep,
  seconds,
} from "./governance-context.js";
import type { Task } from "./model.js";
import { preverifyActions } from "./task-checks.js";

/** Opens a proposal (see GovernanceStudio.propose). */
export async function propose(
  ctx: GovernanceContext,
  studioId: string,
  signed: { entry: unknown; payload: unknown },
): Promise<ProposalRecord> {
  const g = await prepareStep(ctx, studioId, signed, "propose", ["operator"]);
  const payload = g.payload as GovernancePayloads["propose"];
  const proposal = parseProposal(payload.proposal);
  if (g.entry.message.task !== proposal.id || g.entry.message.parents.length > 0) {
    fail("STUDIO_ENTRY_INVALID", "a propose entry names the proposal as its task, no parents");
  }
  const exists = (p: ProposalRecord | null): ProposalRecord | null => {
    if (p === null) return null;
    if (p.actions.propose === g.id) return p;
    return fail("STUDIO_PROPOSAL_INVALID", `proposal ${proposal.id} exists`, {
      proposal: proposal.id,
    });
  };
  const existing = exists(await findProposal(ctx.db, studioId, proposal.id));
  if (existing !== null) return existing;
  const dao = await daoOf(ctx, g.studio);
  assertProposalFits(dao.state, proposal);
  const now = seconds(ctx);
  const latest = now + dao.state.parameters.votingPeriodSeconds + 300;
  if (payload.votingEndsAt <= now || payload.votingEndsAt > latest) {
    fail("STUDIO_PROPOSAL_INVALID", "votingEndsAt must be within the DAO's voting period", {
      votingEndsAt: payload.votingEndsAt,
      latest,
    });
  }
  await preverifyActions(ctx.registry, [g.entry]);
  const opened = await recordStep(ctx, { entry: g.entry, payload }, async (tx) => {
    // The DAO's row orders proposals with executions on every engine: the DAO
    // the proposal was checked against is still the DAO.
    const [row] = await tx.query<{ version: number }>(
      "SELECT version FROM governance_daos WHERE studio_id = $1 FOR UPDATE",
      [studioId],
    );
    if (Number(row?.version) !== dao.version) {
      fail("STUDIO_TRANSITION_INVALID", "the DAO changed concurrently");
    }
    const at = ctx.now();
    const inserted = await tx.query(
      `INSERT INTO governance_proposals (studio_id, id, proposal, state, voting_ends_at,
                                         last_action, actions, created_at, updated_at)
       VALUES ($1, $2, $3::jsonb, 'voting', $4, decode($5, 'hex'), $6::jsonb, $7, $7)
       ON CONFLICT (studio_id, id) DO NOTHING RETURNING id`,
      [
        studioId,
        proposal.id,
        JSON.stringify(proposal),
        payload.votingEndsAt,
        g.id.slice(2),
        JSON.stringify({ propose: g.id }),
        at,
      ],
    );
    // Opened concurrently (by this same step, or another proposal with its id).
    return inserted.length === 0 ? exists(await findProposal(tx, studioId, proposal.id)) : null;
  });
  return opened ?? getProposal(ctx.db, studioId, proposal.id);
}

/** The analysis tasks of a proposal (ids `<proposal>/<agent>`), by id. */
export async function proposalTasks(
  ctx: Pick<GovernanceContext, "db" | "tasks">,
  studioId: string,
  proposalId: string,
): Promise<Task[]> {
  const rows = await ctx.db.query<{ id: string }>(
    "SELECT id FROM studio_tasks WHERE studio_id = $1 AND id LIKE $2 ORDER BY id",
    [studioId, `${proposalId}/%`],
  );
  const tasks: Task[] = [];
  for (const r of rows) tasks.push(await ctx.tasks.getTask(studioId, r.id));
  return tasks;
}
