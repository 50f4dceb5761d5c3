/**
 * The task orchestrator's queries: task rows read into {@link Task}s (an
 * overdue task reads as expired), pages of tasks, a task's history, and the
 * history row each transition writes.
 * @module
 */
import type { Address, Hex, JsonValue } from "@chaoscore/core";
import { fail } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import type { Task, TaskState, TaskTransition, TaskTransitionRecord } from "./model.js";
import {
  ACTIVE_STATES,
  nowSeconds,
  type Prepared,
  TASK_RE,
  type TaskContext,
} from "./task-context.js";

type TaskRow = {
  studio_id: string;
  id: string;
  title: string;
  role: string;
  capabilities: string[];
  min_reputation: number | null;
  input: JsonValue | null;
  state: TaskState;
  assignee: string | null;
  deadline: string | number | null;
  max_retries: number;
  retries: number;
  result: JsonValue | null;
  submit_action: string | null;
  verdict: Task["verdict"];
  score: number | null;
  reward: string | null;
  payout_id: string | null;
  seq: number;
  last_action: string;
  created_at: Date | string;
  updated_at: Date | string;
  deps: string[] | null;
};

const iso = (v: Date | string) => new Date(v).toISOString();

/**
 * A task. A task past its deadline that is still open, assigned or running
 * reads as `expired` (with `overdue: true`) until `tick` records it.
 * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND.
 */
export async function getTask(
  ctx: Pick<TaskContext, "db" | "now">,
  studioId: string,
  taskId: string,
): Promise<Task> {
  const task = await findTask(ctx, studioId, taskId, true);
  if (task === null) {
    fail("STUDIO_TASK_NOT_FOUND", `no task ${taskId} in ${studioId}`, { task: taskId });
  }
  return task;
}

/**
 * The tasks of a studio, by id, a page at a time.
 * @throws ChaosCoreError INVALID_INPUT (a bad limit or cursor).
 */
export async function listTasks(
  ctx: Pick<TaskContext, "db" | "now">,
  studioId: string,
  query: { state?: TaskState; limit?: number; cursor?: string } = {},
): Promise<{ items: Task[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    fail("INVALID_INPUT", "limit must be an integer in [1, 100]");
  }
  if (query.cursor !== undefined && !TASK_RE.test(query.cursor)) {
    fail("INVALID_INPUT", "malformed cursor");
  }
  const rows = await selectTasks(
    ctx,
    "t.studio_id = $1 AND ($2::text IS NULL OR t.state = $2) AND ($3::text IS NULL OR t.id > $3)",
    [studioId, query.state ?? null, query.cursor ?? null],
    limit + 1,
    true,
  );
  const items = rows.slice(0, limit);
  return {
    items,
    nextCursor: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null,
  };
}

/** A task; with `overlay`, an overdue task reads as expired (reads), else its stored state. */
export async function findTask(
  ctx: Pick<TaskContext, "db" | "now">,
  studioId: string,
  taskId: string,
  overlay = false,
): Promise<Task | null> {
  if (typeof taskId !== "string" || !TASK_RE.test(taskId)) return null;
  const [task] = await selectTasks(
    ctx,
    "t.studio_id = $1 AND t.id = $2",
    [studioId, taskId],
    1,
    overlay,
  );
  return task ?? null;
}

export async function selectTasks(
  ctx: Pick<TaskContext, "db" | "now">,
  where: string,
  params: unknown[],
  limit: number,
  overlay: boolean,
): Promise<Task[]> {
  const rows = await ctx.db.query<TaskRow>(
    `SELECT t.studio_id, t.id, t.title, t.role, t.capabilities, t.min_reputation, t.input, t.state,
              t.assignee, t.deadline::text AS deadline, t.max_retries, t.retries, t.result,
              encode(t.submit_action, 'hex') AS submit_action, t.verdict, t.score,
              t.reward::text AS reward, t.payout_id, t.seq, encode(t.last_action, 'hex') AS last_action,
              t.created_at, t.updated_at,
              ARRAY(SELECT d.depends_on FROM studio_task_deps d
                    WHERE d.studio_id = t.studio_id AND d.task_id = t.id ORDER BY d.depends_on) AS deps
       FROM studio_tasks t WHERE ${where} ORDER BY t.id LIMIT ${limit}`,
    params,
  );
  const now = nowSeconds(ctx);
  return rows.map((r) => {
    const deadline = r.deadline === null ? null : Number(r.deadline);
    const overdue =
      deadline !== null &&
      now >= deadline &&
      (ACTIVE_STATES as readonly string[]).includes(r.state);
    const parse = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as JsonValue;
    return {
      studio: r.studio_id,
      id: r.id,
      title: r.title,
      role: r.role,
      capabilities: [...r.capabilities],
      minReputation: r.min_reputation === null ? null : Number(r.min_reputation),
      input: r.input === null ? null : parse(r.input),
      state: overlay && overdue ? "expired" : r.state,
      overdue,
      assignee: r.assignee as Address | null,
      deadline,
      maxRetries: Number(r.max_retries),
      retries: Number(r.retries),
      dependsOn: [...(r.deps ?? [])],
      result: r.result === null ? null : parse(r.result),
      submitAction: r.submit_action === null ? null : (`0x${r.submit_action}` as Hex),
      verdict: r.verdict,
      score: r.score === null ? null : Number(r.score),
      reward: r.reward,
      payoutId: r.payout_id,
      lastAction: `0x${r.last_action}` as Hex,
      createdAt: iso(r.created_at),
      updatedAt: iso(r.updated_at),
    } satisfies Task;
  });
}

/** The transitions of a task, in order (at most `limit`). */
export async function taskHistory(
  db: Db,
  studioId: string,
  taskId: string,
  limit: number,
): Promise<TaskTransitionRecord[]> {
  const rows = await db.query<{
    seq: number;
    transition: TaskTransition;
    from_state: TaskState | null;
    to_state: TaskState;
    actor: string;
    action_id: string;
    at: Date | string;
  }>(
    `SELECT seq, transition, from_state, to_state, actor, encode(action_id, 'hex') AS action_id, at
       FROM studio_task_transitions WHERE studio_id = $1 AND task_id = $2 ORDER BY seq LIMIT ${limit}`,
    [studioId, taskId],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    transition: r.transition,
    from: r.from_state,
    to: r.to_state,
    actor: r.actor as Address,
    actionId: `0x${r.action_id}` as Hex,
    at: iso(r.at),
  }));
}

/** Records a transition in the task's history (inside the transition's transaction). */
export async function insertTransition(
  tx: Db,
  studioId: string,
  taskId: string,
  seq: number,
  transition: TaskTransition,
  from: TaskState | null,
  to: TaskState,
  p: Prepared,
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO studio_task_transitions (studio_id, task_id, seq, transition, from_state, to_state,
                                            actor, action_id, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'), $9)`,
    [studioId, taskId, seq, transition, from, to, p.agent, p.id.slice(2), at],
  );
}
