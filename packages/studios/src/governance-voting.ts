/**
 * Voting and the tally: a voter's signed `governance.vote`, the tally the
 * recorded votes give, and the operator's signed `governance.tally`. Each
 * step is one transaction under the proposal row's lock.
 * @module
 */
import { type Address, fail, type Hex } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import type { GovernancePayloads } from "./client.js";
import { type Tally, tallyVotes, type VoteChoice } from "./dao.js";
import {
  assertParent,
  daoOf,
  findProposal,
  type GovernanceContext,
  getProposal,
  governanceStudio,
  iso,
  type ProposalRecord,
  prepareStep,
  proposalOf,
  recordStep,
  same,
  seconds,
  updateProposal,
  type VoteRecord,
  voterRole,
} from "./governance-context.js";
import { preverifyActions } from "./task-checks.js";

/** The votes on a proposal, by agent. */
export async function votes(db: Db, studioId: string, proposalId: string): Promise<VoteRecord[]> {
  const rows = await db.query<{
    agent_id: string;
    choice: VoteChoice;
    reason: string;
    action_id: string;
    at: Date | string;
  }>(
    `SELECT agent_id, choice, reason, encode(action_id, 'hex') AS action_id, at FROM governance_votes
     WHERE studio_id = $1 AND proposal_id = $2 ORDER BY agent_id`,
    [studioId, proposalId],
  );
  return rows.map((r) => ({
    agent: r.agent_id as Address,
    choice: r.choice,
    reason: r.reason,
    actionId: `0x${r.action_id}` as Hex,
    at: iso(r.at),
  }));
}

async function voteOf(db: Db, studioId: string, proposalId: string, agent: Address) {
  return (await votes(db, studioId, proposalId)).find((v) => v.agent === agent);
}

/** Locks the proposal's row for the rest of `tx` and reads it again. */
async function lockProposal(tx: Db, p: ProposalRecord): Promise<ProposalRecord> {
  const locked = await findProposal(tx, p.studio, p.id, true);
  if (locked === null || locked.lastAction !== p.lastAction) {
    fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} moved on concurrently`);
  }
  return locked;
}

/** Records a vote (see GovernanceStudio.vote). */
export async function vote(
  ctx: GovernanceContext,
  studioId: string,
  signed: { entry: unknown; payload: unknown },
): Promise<VoteRecord> {
  const studio = await governanceStudio(ctx, studioId);
  const g = await prepareStep(ctx, studioId, signed, "vote", [voterRole(studio)]);
  const payload = g.payload as GovernancePayloads["vote"];
  const p = await proposalOf(ctx, g);
  const prior = await voteOf(ctx.db, studioId, p.id, g.agent);
  const assertFirst = (v: VoteRecord | undefined): VoteRecord | undefined => {
    if (v === undefined || v.actionId === g.id) return v;
    return fail("STUDIO_VOTE_INVALID", `${g.agent} has already voted on ${p.id}`, {
      agent: g.agent,
    });
  };
  if (assertFirst(prior) !== undefined) return prior as VoteRecord;
  const assertOpen = (q: ProposalRecord) => {
    if (q.state !== "voting" || seconds(ctx) >= q.votingEndsAt) {
      fail("STUDIO_VOTE_INVALID", `voting on ${q.id} is closed`, { state: q.state });
    }
  };
  assertOpen(p);
  assertParent(g, p.actions.propose);
  await preverifyActions(ctx.registry, [g.entry]);
  await recordStep(ctx, { entry: g.entry, payload }, async (tx) => {
    // Under the proposal's lock: still open (no tally since), still this agent's first vote.
    assertOpen(await lockProposal(tx, p));
    if (assertFirst(await voteOf(tx, studioId, p.id, g.agent)) !== undefined) return;
    await tx.query(
      `INSERT INTO governance_votes (studio_id, proposal_id, agent_id, choice, reason, action_id, at)
       VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), $7)`,
      [studioId, p.id, g.agent, payload.choice, payload.reason, g.id.slice(2), ctx.now()],
    );
  });
  return (await voteOf(ctx.db, studioId, p.id, g.agent)) as VoteRecord;
}

/** The tally the operator must sign now (see GovernanceStudio.computeTally). */
export async function computeTally(
  ctx: GovernanceContext,
  studioId: string,
  proposalId: string,
): Promise<Tally> {
  const studio = await governanceStudio(ctx, studioId);
  const role = voterRole(studio);
  const voters = (await ctx.studios.members(studioId)).filter((m) => m.roles.includes(role));
  const cast = await votes(ctx.db, studioId, proposalId);
  const { state: dao } = await daoOf(ctx, studio);
  return tallyVotes(
    cast.map((v) => v.choice),
    voters.length,
    dao.parameters.quorum,
  );
}

/** Closes the vote (see GovernanceStudio.tally). */
export async function tally(
  ctx: GovernanceContext,
  studioId: string,
  signed: { entry: unknown; payload: unknown },
): Promise<ProposalRecord> {
  const g = await prepareStep(ctx, studioId, signed, "tally", ["operator"]);
  const p = await proposalOf(ctx, g);
  if (p.state !== "voting") {
    fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} is ${p.state}, not voting`, {
      state: p.state,
    });
  }
  assertParent(g, p.actions.propose);
  const expected = await computeTally(ctx, studioId, p.id);
  const cast = expected.for + expected.against + expected.abstain;
  if (seconds(ctx) < p.votingEndsAt && cast < expected.voters) {
    fail("STUDIO_TRANSITION_INVALID", `voting on ${p.id} is still open`, {
      votingEndsAt: p.votingEndsAt,
      cast,
      voters: expected.voters,
    });
  }
  if (!same(g.payload, { proposal: p.id, ...expected })) {
    fail("STUDIO_ENTRY_INVALID", "the signed tally is not the tally of the votes", {
      expected,
    });
  }
  await preverifyActions(ctx.registry, [g.entry]);
  await recordStep(ctx, { entry: g.entry, payload: g.payload }, async (tx) => {
    // Under the proposal's lock (votes take it too): no vote came in since the tally was computed.
    await lockProposal(tx, p);
    if ((await votes(tx, studioId, p.id)).length !== cast) {
      fail("STUDIO_TRANSITION_INVALID", `a vote on ${p.id} came in: tally again`);
    }
    await updateProposal(tx, ctx.now(), p, expected.passed ? "passed" : "rejected", g.id, "tally", {
      tally: expected,
    });
  });
  return getProposal(ctx.db, studioId, p.id);
}
