/**
 * Deadlines: an open, assigned or running task past its deadline reads as
 * expired, takes only expire or fail, and is expired by the operator's
 * signed `studio.task.expire` (tick).
 * @module
 */
import { fail } from "@chaoscore/core";
import { signTaskTransition } from "./client.js";
import type { SignedTransition, StudioActor, Task, TaskPayloads, TaskTransition } from "./model.js";
import { signerAddress } from "./task-checks.js";
import { ACTIVE_STATES, type TaskContext } from "./task-context.js";
import { findTask } from "./task-queries.js";

/** Whether the task's deadline has passed at `now` (unix seconds). */
export function isOverdue(task: Pick<Task, "deadline">, now: number): boolean {
  return task.deadline !== null && now >= task.deadline;
}

/**
 * An active task past its deadline takes only expire or fail.
 * @throws ChaosCoreError STUDIO_TASK_EXPIRED.
 */
export function assertNotExpired(task: Task, transition: TaskTransition, now: number): void {
  if (!isOverdue(task, now) || transition === "expire" || transition === "fail") return;
  if ((ACTIVE_STATES as readonly string[]).includes(task.state)) {
    fail("STUDIO_TASK_EXPIRED", `task ${task.id}'s deadline has passed`, {
      task: task.id,
      deadline: task.deadline,
    });
  }
}

/**
 * An expire transition: the task is past its deadline, and the payload names
 * that deadline and a time at or after it.
 * @throws ChaosCoreError STUDIO_TRANSITION_INVALID.
 */
export function assertExpirable(task: Task, payload: TaskPayloads["expire"], now: number): void {
  if (
    !isOverdue(task, now) ||
    payload.deadline !== task.deadline ||
    payload.at < (task.deadline as number)
  ) {
    fail("STUDIO_TRANSITION_INVALID", `task ${task.id} is not past its deadline`, {
      task: task.id,
      deadline: task.deadline,
    });
  }
}

/**
 * Expires every overdue task (open, assigned or running past its deadline)
 * of the active studios where `signer` is an operator, each with a signed
 * `studio.task.expire`. Reads already report such tasks as expired.
 * @returns the expired tasks.
 */
export async function expireOverdue(
  ctx: TaskContext,
  steps: {
    transition: (studio: string, signed: SignedTransition, expected: "expire") => Promise<unknown>;
    nextNonce: (actor: StudioActor) => Promise<bigint>;
  },
  signer: StudioActor,
  now?: Date,
): Promise<{ studio: string; task: string }[]> {
  const clock = Math.floor((now ?? ctx.now()).getTime() / 1000);
  const agent = signerAddress(signer);
  const rows = await ctx.db.query<{ studio_id: string; id: string }>(
    `SELECT t.studio_id, t.id FROM studio_tasks t
       JOIN studios s ON s.id = t.studio_id AND s.status = 'active'
       JOIN studio_members m ON m.studio_id = t.studio_id AND m.agent_id = $1
                            AND 'operator' = ANY (m.roles)
       WHERE t.state = ANY($2::text[]) AND t.deadline IS NOT NULL AND t.deadline <= $3
       ORDER BY t.studio_id, t.id LIMIT 1000`,
    [agent, [...ACTIVE_STATES], clock],
  );
  const expired: { studio: string; task: string }[] = [];
  for (const r of rows) {
    const task = await findTask(ctx, r.studio_id, r.id);
    if (task === null || task.deadline === null) continue;
    await steps.transition(
      r.studio_id,
      signTaskTransition({
        privateKey: signer.privateKey,
        ...(signer.agent === undefined ? {} : { agent: signer.agent }),
        chainId: ctx.agency.chainId,
        verifyingContract: ctx.agency.verifyingContract,
        nonce: await steps.nextNonce(signer),
        studio: r.studio_id,
        task: r.id,
        transition: "expire",
        payload: { deadline: task.deadline, at: Math.max(clock, task.deadline) },
        previous: task.lastAction,
      }),
      "expire",
    );
    expired.push({ studio: r.studio_id, task: r.id });
  }
  return expired;
}
