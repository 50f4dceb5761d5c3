/**
 * Creating tasks: a plan of signed create transitions whose dependencies
 * form a DAG (cycle detection, dependencies-first order).
 * @module
 */
import { fail } from "@chaoscore/core";
import { type SignedTransition, TASK_ID_PATTERN, type Task, type TaskPayloads } from "./model.js";
import { assertSigner, prepareTransition, preverify } from "./task-checks.js";
import { nowSeconds, type Prepared, TASK_RE, type TaskContext } from "./task-context.js";
import type { TransitionResult } from "./task-orchestrator.js";
import { findTask, insertTransition, taskHistory } from "./task-queries.js";

/**
 * Creates several tasks at once (a plan) from the operator's signed create
 * transitions: checked completely, then recorded, then written parents first
 * in one transaction. See TaskOrchestrator.createTasks.
 */
export async function createTasks(
  ctx: TaskContext,
  studioId: string,
  signed: readonly SignedTransition[],
): Promise<TransitionResult[]> {
  if (!Array.isArray(signed) || signed.length < 1 || signed.length > 100) {
    fail("STUDIO_ENTRY_INVALID", "send 1 to 100 signed create transitions");
  }
  const plan: { p: Prepared; payload: TaskPayloads["create"]; existing: Task | null }[] = [];
  for (const s of signed) {
    const p = await prepareTransition(ctx, studioId, s, "create");
    const payload = p.payload as TaskPayloads["create"];
    const taskId = p.entry.message.task;
    if (!TASK_RE.test(taskId)) {
      fail("STUDIO_ENTRY_INVALID", `a task id must match ${TASK_ID_PATTERN}`, { task: taskId });
    }
    if (p.entry.message.parents.length > 0) {
      fail("STUDIO_ENTRY_INVALID", "a create transition has no parents", { task: taskId });
    }
    assertSigner(p, null);
    const existing = await findTask(ctx, studioId, taskId);
    if (existing !== null && existing.lastAction !== p.id) {
      const [first] = await taskHistory(ctx.db, studioId, taskId, 1);
      if (first?.actionId !== p.id) {
        fail("STUDIO_TASK_EXISTS", `task ${taskId} exists in ${studioId}`, { task: taskId });
      }
    }
    if (plan.some((x) => x.p.entry.message.task === taskId)) {
      fail("STUDIO_TASK_EXISTS", `task ${taskId} is created twice`, { task: taskId });
    }
    if (payload.deadline !== undefined && payload.deadline <= nowSeconds(ctx)) {
      fail("STUDIO_ENTRY_INVALID", "the deadline has already passed", { task: taskId });
    }
    plan.push({ p, payload, existing });
  }
  // Dependencies: known tasks or tasks of this plan, with no cycle.
  const fresh = plan.filter((x) => x.existing === null);
  const inPlan = new Map(fresh.map((x) => [x.p.entry.message.task, x.payload.dependsOn]));
  for (const x of fresh) {
    for (const dep of x.payload.dependsOn) {
      if (!inPlan.has(dep) && (await findTask(ctx, studioId, dep)) === null) {
        fail("STUDIO_TASK_NOT_FOUND", `dependency ${dep} is not a task of ${studioId}`, {
          task: x.p.entry.message.task,
          dependency: dep,
        });
      }
    }
  }
  const cycle = findCycle(inPlan);
  if (cycle !== null) {
    fail("STUDIO_TASK_CYCLE", `the dependencies form a cycle: ${cycle.join(" → ")}`, { cycle });
  }
  await preverify(
    ctx,
    fresh.map((x) => x.p),
  );
  const results: TransitionResult[] = [];
  // Parents before children, so that the dependency rows' foreign keys hold.
  const order = topologicalOrder(inPlan);
  fresh.sort(
    (a, b) => order.indexOf(a.p.entry.message.task) - order.indexOf(b.p.entry.message.task),
  );
  // The actions and the task rows in one transaction: the log's row lock orders it with every
  // other engine's writes, and a task created concurrently (on this engine or another) is refused.
  let publish: () => void = () => undefined;
  const written = await ctx.db.transaction(async (tx) => {
    const logged = await ctx.agency.recordInTransaction(
      tx,
      plan.map((x) => ({ kind: "action" as const, entry: x.p.entry, payload: x.p.payload })),
    );
    for (const { p, payload } of fresh) {
      const at = ctx.now();
      const task = p.entry.message.task;
      const inserted = await tx.query(
        `INSERT INTO studio_tasks (studio_id, id, title, role, capabilities, min_reputation, input,
                                   state, deadline, max_retries, seq, last_action, created_at,
                                   updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'open', $8, $9, 1, decode($10, 'hex'), $11, $11)
         ON CONFLICT (studio_id, id) DO NOTHING RETURNING id`,
        [
          studioId,
          task,
          payload.title,
          payload.role,
          payload.capabilities,
          payload.minReputation ?? null,
          payload.input === undefined ? null : JSON.stringify(payload.input),
          payload.deadline ?? null,
          payload.maxRetries,
          p.id.slice(2),
          at,
        ],
      );
      if (inserted.length === 0) {
        fail("STUDIO_TASK_EXISTS", `task ${task} exists in ${studioId}`, { task });
      }
      for (const dep of new Set(payload.dependsOn)) {
        await tx.query(
          "INSERT INTO studio_task_deps (studio_id, task_id, depends_on) VALUES ($1, $2, $3)",
          [studioId, task, dep],
        );
      }
      await insertTransition(tx, studioId, task, 1, "create", null, "open", p, at);
    }
    publish = logged.commit;
    return logged.results;
  });
  publish();
  for (const [i, x] of plan.entries()) {
    const r = written[i];
    if (r === undefined) continue;
    if (x.existing !== null) {
      results.push({ task: x.existing, actionId: r.id, leafIndex: r.leafIndex, duplicate: true });
    }
  }
  for (const { p } of fresh) {
    const r = written[plan.findIndex((x) => x.p === p)];
    const task = (await findTask(ctx, studioId, p.entry.message.task)) as Task;
    results.push({ task, actionId: p.id, leafIndex: r?.leafIndex ?? -1, duplicate: false });
  }
  return results;
}

/** A cycle in the dependency graph of the plan (task → its dependencies), or null. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    const s = state.get(node);
    if (s === 2) return null;
    if (s === 1) return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 1);
    stack.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (!graph.has(dep)) continue; // an existing task: it cannot depend on a new one
      const cycle = visit(dep);
      if (cycle !== null) return cycle;
    }
    stack.pop();
    state.set(node, 2);
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== null) return cycle;
  }
  return null;
}

/** The plan's tasks, dependencies first (the graph has no cycle). */
function topologicalOrder(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (node: string) => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const dep of graph.get(node) ?? []) if (graph.has(dep)) visit(dep);
    out.push(node);
  };
  for (const node of graph.keys()) visit(node);
  return out;
}
