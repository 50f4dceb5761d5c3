/**
 * Execution and rewards: the operator's signed `governance.execute` applies a
 * passed proposal to the mock DAO (one transaction with the action, under the
 * DAO's and the proposal's locks); the evaluator's judgement of each
 * recommendation; the rewards due and their payment within the budget.
 * @module
 */

import type { Address } from "@chaoscore/core";
import { fail, type Hex, parseEntry } from "@chaoscore/core";
import type { GovernancePayloads } from "./client.js";
import {
  applyProposal,
  assertProposalFits,
  judgeRecommendation,
  type RecommendationJudgement,
  type SimulationResult,
} from "./dao.js";
import {
  assertParent,
  daoOf,
  findProposal,
  type GovernanceContext,
  getProposal,
  governanceStudio,
  type ProposalRecord,
  prepareStep,
  proposalOf,
  recordStep,
  same,
  updateProposal,
} from "./governance-context.js";
import { proposalTasks } from "./governance-proposals.js";
import type { SignedTransition, Task, TaskPayloads } from "./model.js";
import { preverifyActions, type SignedOutcome } from "./task-checks.js";
import type { TransitionResult } from "./task-orchestrator.js";

/** Executes a passed proposal on the mock DAO (see GovernanceStudio.execute). */
export async function execute(
  ctx: GovernanceContext,
  studioId: string,
  signed: { entry: unknown; payload: unknown },
): Promise<ProposalRecord> {
  const g = await prepareStep(ctx, studioId, signed, "execute", ["operator"]);
  const payload = g.payload as GovernancePayloads["execute"];
  const p = await proposalOf(ctx, g);
  if (p.state !== "passed") {
    fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} is ${p.state}, not passed`, {
      state: p.state,
    });
  }
  assertParent(g, p.actions.tally as Hex);
  const dao = await daoOf(ctx, g.studio);
  assertProposalFits(dao.state, p.proposal);
  const after = applyProposal(dao.state, p.proposal);
  if (!same(payload.before, dao.state) || !same(payload.after, after)) {
    fail("STUDIO_ENTRY_INVALID", "the signed DAO states are not the DAO before and after", {
      before: dao.state,
      after,
    });
  }
  await preverifyActions(ctx.registry, [g.entry]);
  await recordStep(ctx, { entry: g.entry, payload }, async (tx) => {
    // The DAO first, then the proposal (the order propose takes them in too).
    const rows = await tx.query(
      `UPDATE governance_daos SET state = $2::jsonb, version = version + 1, updated_at = $3
       WHERE studio_id = $1 AND version = $4 RETURNING version`,
      [studioId, JSON.stringify(after), ctx.now(), dao.version],
    );
    if (rows.length === 0) fail("STUDIO_TRANSITION_INVALID", "the DAO changed concurrently");
    const locked = await findProposal(tx, studioId, p.id, true);
    if (locked?.lastAction !== p.lastAction) {
      fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} moved on concurrently`);
    }
    await updateProposal(tx, ctx.now(), p, "executed", g.id, "execute", {
      daoBefore: dao.state,
      daoAfter: after,
    });
  });
  return getProposal(ctx.db, studioId, p.id);
}

/** How an analysis task's recommendation is judged (see GovernanceStudio.judge). */
export async function judge(
  ctx: GovernanceContext,
  studioId: string,
  taskId: string,
): Promise<RecommendationJudgement> {
  const task = await ctx.tasks.getTask(studioId, taskId);
  const proposalId = taskId.slice(0, taskId.indexOf("/"));
  const p = await getProposal(ctx.db, studioId, proposalId);
  if (p.state === "voting" || p.state === "passed") {
    fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} is ${p.state}: tally and execute first`, {
      state: p.state,
    });
  }
  if (task.result === null) {
    fail("STUDIO_TRANSITION_INVALID", `task ${taskId} has no submitted result`);
  }
  return judgeRecommendation(
    task.result as SimulationResult,
    p.state === "executed",
    p.state === "executed" ? p.daoAfter : null,
  );
}

/** Evaluates an analysis task (see GovernanceStudio.evaluate). */
export async function evaluate(
  ctx: GovernanceContext,
  studioId: string,
  signed: SignedTransition & { outcome: SignedOutcome },
): Promise<TransitionResult> {
  const taskId = taskOf(signed.entry);
  const judgement = await judge(ctx, studioId, taskId);
  const payload = signed.payload as Partial<TaskPayloads["evaluate"]> | undefined;
  if (
    payload?.verdict !== judgement.verdict ||
    payload.score !== judgement.score ||
    !same(signed.outcome?.metrics ?? null, judgement.metrics)
  ) {
    fail("STUDIO_ENTRY_INVALID", "the evaluation is not the judgement of the recommendation", {
      expected: judgement,
    });
  }
  return ctx.tasks.evaluate(studioId, signed);
}

/** The rewards due for a proposal (see GovernanceStudio.rewardPlan). */
export async function rewardPlan(
  ctx: GovernanceContext,
  studioId: string,
  proposalId: string,
): Promise<{ task: Task; agent: Address; amount: bigint }[]> {
  const studio = await governanceStudio(ctx, studioId);
  const tasks = (await proposalTasks(ctx, studioId, proposalId)).filter(
    (t) => t.state === "evaluated" && t.verdict === "success" && t.assignee !== null,
  );
  const policy = studio.rewardPolicy;
  return tasks
    .map((task) => ({
      task,
      agent: task.assignee as Address,
      amount:
        policy.kind === "fixed"
          ? BigInt(policy.perRole?.[task.role] ?? policy.amountPerSuccess)
          : BigInt(policy.pool) / BigInt(tasks.length),
    }))
    .filter((r) => r.amount > 0n);
}

/** Rewards a proposal's successful tasks (see GovernanceStudio.reward). */
export async function reward(
  ctx: GovernanceContext,
  studioId: string,
  signed: readonly SignedTransition[],
): Promise<TransitionResult[]> {
  const studio = await governanceStudio(ctx, studioId);
  let total = 0n;
  for (const s of signed) {
    const amount = (s.payload as Partial<TaskPayloads["reward"]> | undefined)?.amount;
    if (typeof amount !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(amount)) {
      fail("STUDIO_ENTRY_INVALID", "a reward payload has a decimal amount");
    }
    total += BigInt(amount);
  }
  const remaining = BigInt(studio.rewardPolicy.budget) - BigInt(studio.spent);
  if (total > remaining) {
    fail(
      "STUDIO_BUDGET_EXCEEDED",
      `the rewards ${total} exceed the remaining budget ${remaining}`,
      {
        total: total.toString(),
        remaining: remaining.toString(),
      },
    );
  }
  const results: TransitionResult[] = [];
  for (const s of signed) results.push(await ctx.tasks.reward(studioId, s));
  return results;
}

function taskOf(entry: unknown): string {
  try {
    const parsed = parseEntry(entry);
    if (parsed.kind === "action") return parsed.message.task;
  } catch {
    // reported below
  }
  return fail("STUDIO_ENTRY_INVALID", "the entry is not a signed action entry");
}
