/**
 * Assignment: who may take a task (the task's role and capabilities, an
 * active agent, the reputation floor), and whether a task's dependencies
 * are done.
 * @module
 */
import { type Address, fail } from "@chaoscore/core";
import { reputationDimension, type Studio, type Task } from "./model.js";
import type { TaskContext } from "./task-context.js";
import { findTask, getTask } from "./task-queries.js";

/** A dependency is done when it was evaluated as not failed, or rewarded. */
function isDone(t: Pick<Task, "state" | "verdict">): boolean {
  return t.state === "rewarded" || (t.state === "evaluated" && t.verdict !== "failure");
}

/**
 * The members who may be assigned the task (the task's role, its
 * capabilities, active, and at least its reputation), best reputation first.
 * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND.
 */
export async function eligibleAgents(
  ctx: TaskContext,
  studioId: string,
  taskId: string,
): Promise<{ agent: Address; reputation: number | null }[]> {
  const studio = await ctx.studios.get(studioId);
  const task = await getTask(ctx, studioId, taskId);
  const out: { agent: Address; reputation: number | null }[] = [];
  for (const m of await ctx.studios.members(studioId)) {
    if (!m.roles.includes(task.role)) continue;
    const reputation = await ineligibility(ctx, studio, task, m.agent);
    if (typeof reputation === "string") continue;
    out.push({ agent: m.agent, reputation });
  }
  return out.sort((a, b) => (b.reputation ?? -1) - (a.reputation ?? -1));
}

/** Checks that `agent` may be assigned the task (active, a member with its role, eligible). */
export async function assertEligible(
  ctx: TaskContext,
  studio: Studio,
  task: Task,
  agent: Address,
): Promise<void> {
  const record = await ctx.registry.get(agent);
  if (record.identity.status !== "active") {
    fail("AGENT_NOT_ACTIVE", `agent ${agent} is ${record.identity.status}`, { agent });
  }
  const roles = await ctx.studios.rolesOf(studio.id, agent);
  if (roles === null) {
    fail("STUDIO_NOT_MEMBER", `${agent} is not a member of ${studio.id}`, { agent });
  }
  if (!roles.includes(task.role)) {
    fail("STUDIO_ROLE_FORBIDDEN", `${agent} does not have role ${task.role}`, {
      agent,
      role: task.role,
      roles,
    });
  }
  const problem = await ineligibility(ctx, studio, task, agent);
  if (typeof problem === "string") {
    fail("STUDIO_ASSIGNEE_INELIGIBLE", problem, { agent, task: task.id });
  }
}

/** Why the agent may not take the task (capabilities, reputation), or its reputation. */
export async function ineligibility(
  ctx: Pick<TaskContext, "registry" | "reputation">,
  studio: Studio,
  task: Task,
  agent: Address,
): Promise<string | number | null> {
  const record = await ctx.registry.get(agent);
  if (record.identity.status !== "active") return `agent ${agent} is not active`;
  const has = new Set(record.metadata.card.capabilities);
  const missing = task.capabilities.filter((c) => !has.has(c));
  if (missing.length > 0) return `the agent card lacks the capabilities ${missing.join(", ")}`;
  const min = task.minReputation ?? studio.rules.minReputation ?? null;
  const dimension = reputationDimension(studio);
  const score = ctx.reputation === undefined ? null : await ctx.reputation.get(agent, dimension);
  if (min !== null && min > 0 && (score === null || score < min)) {
    return `reputation ${score ?? "none"} in ${dimension} is below ${min}`;
  }
  return score;
}

/** Checks that every dependency of the task is done. */
export async function assertDependenciesDone(
  ctx: Pick<TaskContext, "db" | "now">,
  task: Task,
): Promise<void> {
  const pending: string[] = [];
  for (const dep of task.dependsOn) {
    const t = await findTask(ctx, task.studio, dep);
    if (t === null || !isDone(t)) pending.push(dep);
  }
  if (pending.length > 0) {
    fail("STUDIO_TASK_BLOCKED", `task ${task.id} waits for ${pending.join(", ")}`, {
      task: task.id,
      pending,
    });
  }
}
