import { type Address, fail, type Hex, type OutcomeEntry } from "@chaoscore/core";
import type { RecordResult } from "@chaoscore/log";
import {
  type ReputationPort,
  type RewardPort,
  reputationDimension,
  type SignedTransition,
  type StudioActor,
  TASK_TRANSITIONS,
  type Task,
  type TaskPayloads,
  type TaskState,
  type TaskTransition,
  type TaskTransitionRecord,
} from "./model.js";
import type { StudioManager } from "./studio-manager.js";
import { assertDependenciesDone, assertEligible, eligibleAgents } from "./task-assignment.js";
import {
  assertAttestation,
  assertReward,
  assertSigner,
  checkOutcome,
  prepareTransition,
  preverify,
  type SignedOutcome,
  signerAddress,
} from "./task-checks.js";
import { nowSeconds, type TaskContext } from "./task-context.js";
import { createTasks } from "./task-create.js";
import { assertExpirable, assertNotExpired, expireOverdue, isOverdue } from "./task-deadlines.js";
import { claimPayout, lockTaskRow } from "./task-locks.js";
import { findTask, getTask, insertTransition, listTasks, taskHistory } from "./task-queries.js";

export { preverifyActions, type SignedOutcome, signerAddress } from "./task-checks.js";
export { findCycle } from "./task-create.js";

/** Options of {@link TaskOrchestrator}. */
export type TaskOrchestratorOptions = {
  db: TaskContext["db"];
  agency: TaskContext["agency"];
  registry: TaskContext["registry"];
  studios: StudioManager;
  /** Reputation: read for assignment (`minReputation`), written on evaluation. */
  reputation?: ReputationPort;
  /** Rewards: paid on the reward transition. */
  rewards?: RewardPort;
  /** The clock for deadlines (default the system clock). */
  now?: () => Date;
};

/** The result of a transition. */
export type TransitionResult = {
  task: Task;
  /** The transition's signed action. */
  actionId: Hex;
  leafIndex: number;
  /** The evaluator's outcome, on an evaluate transition that carried one. */
  outcomeId?: Hex;
  /** The payout, on a reward transition. */
  payout?: { readonly actionId?: Hex; readonly txHash?: Hex; readonly duplicate?: boolean };
  /** True when this exact signed transition had been applied before (nothing changed). */
  duplicate: boolean;
};

/**
 * Task orchestration inside studios. Every transition is an action signed by
 * its actor — `studio.task.<transition>`, with the studio and task ids, the
 * transition's data as payload and the previous transition's action as its
 * parent — recorded in the Proof of Agency log; the studio's tables keep the
 * state and the action ids. A transition is checked completely (membership,
 * role, state, parent, dependencies, deadline, attestation, budget, the
 * signature and nonce) before anything is written: a rejected transition
 * changes nothing.
 *
 * No lock in the process: each write is one database transaction (a
 * transition under its task row's lock; a plan of creates with its actions),
 * so every engine on the database is serialised the same way; a transition
 * whose parent is no longer the task's last action is refused.
 *
 * @example
 * ```ts
 * const tasks = new TaskOrchestrator({ db, agency, registry, studios, reputation, rewards });
 * await tasks.createTask(studio.id, signTaskTransition({ ..., transition: "create", payload }));
 * ```
 *
 * Its parts: checks (task-checks.ts), creating a plan (task-create.ts),
 * assignment (task-assignment.ts), deadlines (task-deadlines.ts), queries
 * (task-queries.ts), row locks (task-locks.ts).
 */
export class TaskOrchestrator {
  readonly #ctx: TaskContext;

  constructor(options: TaskOrchestratorOptions) {
    this.#ctx = {
      db: options.db,
      agency: options.agency,
      registry: options.registry,
      studios: options.studios,
      reputation: options.reputation,
      rewards: options.rewards,
      now: options.now ?? (() => new Date()),
    };
  }

  /** The chain id transitions are signed for. */
  get chainId(): bigint {
    return this.#ctx.agency.chainId;
  }

  /** The studios this orchestrator works in. */
  get studios(): StudioManager {
    return this.#ctx.studios;
  }

  /** Now, in unix seconds, on the orchestrator's clock. */
  nowSeconds(): number {
    return nowSeconds(this.#ctx);
  }

  // ---- creating tasks -----------------------------------------------------------------------

  /**
   * Creates a task from the operator's signed `studio.task.create` (parents
   * empty; the entry's `task` is the new task's id).
   * @throws ChaosCoreError as {@link createTasks}.
   */
  async createTask(studioId: string, signed: SignedTransition): Promise<TransitionResult> {
    const [result] = await this.createTasks(studioId, [signed]);
    return result as TransitionResult;
  }

  /**
   * Creates several tasks at once (a plan): their dependencies may name each
   * other and existing tasks, and must form a DAG.
   * @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_ARCHIVED, STUDIO_ENTRY_INVALID,
   * STUDIO_NOT_MEMBER, STUDIO_ROLE_FORBIDDEN, STUDIO_TASK_EXISTS,
   * STUDIO_TASK_NOT_FOUND (an unknown dependency), STUDIO_TASK_CYCLE,
   * AGENT_NOT_FOUND, AGENT_NOT_ACTIVE, AGENCY_BAD_SIGNATURE,
   * AGENCY_NONCE_NOT_INCREASING, and the errors of recording an action.
   */
  createTasks(studioId: string, signed: readonly SignedTransition[]): Promise<TransitionResult[]> {
    return createTasks(this.#ctx, studioId, signed);
  }

  // ---- transitions --------------------------------------------------------------------------

  /** Assigns an open task (operator). @throws ChaosCoreError as {@link transition}. */
  assign(studioId: string, signed: SignedTransition): Promise<TransitionResult> {
    return this.transition(studioId, signed, "assign");
  }

  /** Starts an assigned task (its assignee). @throws ChaosCoreError as {@link transition}. */
  start(studioId: string, signed: SignedTransition): Promise<TransitionResult> {
    return this.transition(studioId, signed, "start");
  }

  /** Submits a running task's result (its assignee). @throws ChaosCoreError as {@link transition}. */
  submit(studioId: string, signed: SignedTransition): Promise<TransitionResult> {
    return this.transition(studioId, signed, "submit");
  }

  /**
   * Evaluates a submission (an evaluator or the operator), optionally with the
   * evaluator's signed outcome on the submit action, which then updates the
   * assignee's reputation. @throws ChaosCoreError as {@link transition}.
   */
  evaluate(
    studioId: string,
    signed: SignedTransition & { outcome?: SignedOutcome },
  ): Promise<TransitionResult> {
    return this.transition(studioId, signed, "evaluate");
  }

  /** Rewards an evaluated task (operator) and pays it. @throws ChaosCoreError as {@link transition}. */
  reward(studioId: string, signed: SignedTransition): Promise<TransitionResult> {
    return this.transition(studioId, signed, "reward");
  }

  /** Fails a task in progress. @throws ChaosCoreError as {@link transition}. */
  fail(studioId: string, signed: SignedTransition): Promise<TransitionResult> {
    return this.transition(studioId, signed, "fail");
  }

  /** Reopens a failed or expired task (operator). @throws ChaosCoreError as {@link transition}. */
  reopen(studioId: string, signed: SignedTransition): Promise<TransitionResult> {
    return this.transition(studioId, signed, "reopen");
  }

  /**
   * Applies any signed transition except create (the transition is the
   * entry's action type, `studio.task.<transition>`).
   * @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_ARCHIVED, STUDIO_ENTRY_INVALID,
   * STUDIO_TASK_NOT_FOUND, STUDIO_NOT_MEMBER, STUDIO_ROLE_FORBIDDEN,
   * STUDIO_TRANSITION_INVALID (illegal from the current state, or the parent is
   * not the task's last action), STUDIO_TASK_EXPIRED, STUDIO_TASK_BLOCKED,
   * STUDIO_ASSIGNEE_INELIGIBLE, STUDIO_ATTESTATION_REQUIRED,
   * STUDIO_RETRIES_EXHAUSTED, STUDIO_REWARD_INVALID, STUDIO_BUDGET_EXCEEDED,
   * AGENT_NOT_FOUND, AGENT_NOT_ACTIVE, AGENCY_BAD_SIGNATURE,
   * AGENCY_NONCE_NOT_INCREASING, and the errors of recording an action or
   * outcome and of the reward port.
   */
  transition(
    studioId: string,
    signed: SignedTransition & { outcome?: SignedOutcome },
    expected?: TaskTransition,
  ): Promise<TransitionResult> {
    // No in-process lock: the task row is locked in the database (transitionInTransaction),
    // so every engine on the database is serialised the same way.
    return this.#transition(studioId, signed, expected);
  }

  async #transition(
    studioId: string,
    signed: SignedTransition & { outcome?: SignedOutcome },
    expected?: TaskTransition,
  ): Promise<TransitionResult> {
    const ctx = this.#ctx;
    const p = await prepareTransition(ctx, studioId, signed, expected ?? null);
    if (p.transition === "create") {
      fail("STUDIO_ENTRY_INVALID", "use createTask for a create transition");
    }
    const task = await findTask(ctx, studioId, p.entry.message.task);
    if (task === null) {
      fail("STUDIO_TASK_NOT_FOUND", `no task ${p.entry.message.task} in ${studioId}`, {
        task: p.entry.message.task,
      });
    }
    if (task.lastAction === p.id) {
      // The same signed transition again: already applied.
      const [r] = await ctx.db.query<{ leaf_index: number }>(
        "SELECT leaf_index FROM actions WHERE id = decode($1, 'hex')",
        [p.id.slice(2)],
      );
      return { task, actionId: p.id, leafIndex: Number(r?.leaf_index ?? -1), duplicate: true };
    }
    const rule = TASK_TRANSITIONS[p.transition];
    const from = task.state;
    if (!(rule.from as readonly TaskState[]).includes(from)) {
      fail(
        "STUDIO_TRANSITION_INVALID",
        `a task in state ${from} cannot ${p.transition} (from: ${rule.from.join(", ")})`,
        { task: task.id, state: from, transition: p.transition },
      );
    }
    assertSigner(p, task);
    const parents = p.entry.message.parents;
    if (parents.length !== 1 || parents[0] !== task.lastAction) {
      fail(
        "STUDIO_TRANSITION_INVALID",
        "the transition's parent must be the task's last action (the task moved on, or the parent is wrong)",
        { task: task.id, lastAction: task.lastAction, parents },
      );
    }
    const now = nowSeconds(ctx);
    const overdue = isOverdue(task, now);
    assertNotExpired(task, p.transition, now);
    let changes: Record<string, unknown> = {};
    let outcome: { entry: OutcomeEntry; metrics: unknown; id: Hex } | null = null;
    let amount = 0n;
    switch (p.transition) {
      case "assign": {
        const { agent } = p.payload as TaskPayloads["assign"];
        await assertEligible(ctx, p.studio, task, agent);
        await assertDependenciesDone(ctx, task);
        changes = { assignee: agent };
        break;
      }
      case "start":
        await assertDependenciesDone(ctx, task);
        break;
      case "submit": {
        const payload = p.payload as TaskPayloads["submit"];
        const kind = ctx.studios.kind(p.studio.kind);
        const problem = kind?.validateResult?.(payload.result, task) ?? null;
        if (problem !== null) {
          fail(
            "STUDIO_ENTRY_INVALID",
            `the result does not fit a ${p.studio.kind} task: ${problem}`,
          );
        }
        assertAttestation(p, task, payload, signed.attestation);
        changes = { result: JSON.stringify(payload.result), submit_action: p.id.slice(2) };
        break;
      }
      case "evaluate": {
        const payload = p.payload as TaskPayloads["evaluate"];
        if (signed.outcome !== undefined) {
          outcome = checkOutcome(signed.outcome, task, p, payload.verdict);
        }
        changes = { verdict: payload.verdict, score: payload.score };
        break;
      }
      case "reward": {
        const payload = p.payload as TaskPayloads["reward"];
        amount = BigInt(payload.amount);
        assertReward(ctx, p.studio, task, amount);
        changes = { reward: payload.amount, payout_id: payload.payoutId };
        break;
      }
      case "reopen": {
        const payload = p.payload as TaskPayloads["reopen"];
        if (task.retries >= task.maxRetries) {
          fail("STUDIO_RETRIES_EXHAUSTED", `task ${task.id} was reopened ${task.retries} times`, {
            task: task.id,
            retries: task.retries,
            maxRetries: task.maxRetries,
          });
        }
        if (payload.deadline !== undefined && payload.deadline <= now) {
          fail("STUDIO_ENTRY_INVALID", "the new deadline has already passed", { task: task.id });
        }
        changes = {
          retries: task.retries + 1,
          assignee: null,
          result: null,
          submit_action: null,
          verdict: null,
          score: null,
          deadline: payload.deadline ?? (overdue ? null : task.deadline),
        };
        break;
      }
      case "expire": {
        assertExpirable(task, p.payload as TaskPayloads["expire"], now);
        break;
      }
      case "fail":
        break;
    }
    await preverify(ctx, [p]);
    let payout: TransitionResult["payout"];
    if (p.transition === "reward") {
      // One payout per task across every engine: claim it in the database first
      // (only this payout id, and only while the task is where it was read).
      const payoutId = (p.payload as TaskPayloads["reward"]).payoutId;
      await claimPayout(ctx.db, studioId, task.id, task.lastAction, payoutId);
      const rewards = ctx.rewards as RewardPort;
      payout = await rewards.pay({
        studio: studioId,
        payoutId,
        recipients: [{ agent: task.assignee as Address, amount }],
      });
    }
    const to = rule.to as TaskState;
    const at = ctx.now();
    let recorded: RecordResult | undefined;
    let published: () => void = () => undefined;
    // The outcome, the action and the task in one transaction, under the task row's lock.
    await ctx.db.transaction(async (tx) => {
      await lockTaskRow(tx, studioId, task.id, task.lastAction);
      const written = await ctx.agency.recordInTransaction(tx, [
        ...(outcome === null
          ? []
          : [{ kind: "outcome" as const, entry: outcome.entry, metrics: outcome.metrics }]),
        {
          kind: "action" as const,
          entry: p.entry,
          payload: p.payload,
          ...(signed.attestation === undefined ? {} : { attestation: signed.attestation }),
        },
      ]);
      recorded = written.results[written.results.length - 1];
      published = written.commit;
      const sets = Object.keys(changes).map((k, i) => {
        const cast = k === "result" ? "::jsonb" : "";
        const value = k === "submit_action" ? `decode($${i + 6}, 'hex')` : `$${i + 6}${cast}`;
        return `${k} = ${value}`;
      });
      const rows = await tx.query(
        `UPDATE studio_tasks SET state = $3, seq = seq + 1, last_action = decode($4, 'hex'),
                updated_at = $5${sets.length > 0 ? `, ${sets.join(", ")}` : ""}
         WHERE studio_id = $1 AND id = $2 AND last_action = decode($${sets.length + 6}, 'hex')
         RETURNING seq`,
        [
          studioId,
          task.id,
          to,
          p.id.slice(2),
          at,
          ...Object.values(changes),
          task.lastAction.slice(2),
        ],
      );
      const seq = Number((rows[0] as { seq: number } | undefined)?.seq ?? 0);
      if (seq === 0) {
        fail("STUDIO_TRANSITION_INVALID", `task ${task.id} moved on concurrently`, {
          task: task.id,
        });
      }
      await insertTransition(tx, studioId, task.id, seq, p.transition, from, to, p, at);
      if (amount > 0n) {
        await tx.query("UPDATE studios SET spent = spent + $2::numeric WHERE id = $1", [
          studioId,
          amount.toString(),
        ]);
      }
    });
    published();
    if (recorded === undefined)
      fail("STUDIO_TRANSITION_INVALID", "the transition was not recorded");
    const updated = (await findTask(ctx, studioId, task.id)) as Task;
    if (outcome !== null && ctx.reputation !== undefined) {
      const m = outcome.entry.message;
      await ctx.reputation.applyOutcome({
        agent: task.assignee as Address,
        studio: studioId,
        task: task.id,
        dimension: reputationDimension(p.studio),
        actionId: m.action,
        outcomeId: outcome.id,
        status: m.status,
        value: (p.payload as TaskPayloads["evaluate"]).score,
        evaluator: m.agent,
        at: Number(m.timestamp),
      });
    }
    return {
      task: updated,
      actionId: recorded.id,
      leafIndex: recorded.leafIndex,
      ...(outcome === null ? {} : { outcomeId: outcome.id }),
      ...(payout === undefined ? {} : { payout }),
      duplicate: false,
    };
  }

  /**
   * Expires every overdue task (open, assigned or running past its deadline)
   * of the active studios where `signer` is an operator, each with a signed
   * `studio.task.expire`. Reads already report such tasks as expired.
   * @returns the expired tasks.
   */
  tick(signer: StudioActor, now?: Date): Promise<{ studio: string; task: string }[]> {
    return expireOverdue(this.#ctx, this, signer, now);
  }

  /** The next action nonce of an actor: its own counter, or the registry's last nonce plus one. */
  async nextNonce(actor: StudioActor): Promise<bigint> {
    if (actor.nextNonce !== undefined) return BigInt(actor.nextNonce());
    const agent = signerAddress(actor);
    const state = (await this.#ctx.registry.signingState([agent])).get(agent);
    return (state?.actionNonce ?? 0n) + 1n;
  }

  // ---- reads --------------------------------------------------------------------------------

  /**
   * A task. A task past its deadline that is still open, assigned or running
   * reads as `expired` (with `overdue: true`) until `tick` records it.
   * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND.
   */
  getTask(studioId: string, taskId: string): Promise<Task> {
    return getTask(this.#ctx, studioId, taskId);
  }

  /**
   * The tasks of a studio, by id, a page at a time.
   * @throws ChaosCoreError INVALID_INPUT (a bad limit or cursor).
   */
  listTasks(
    studioId: string,
    query: { state?: TaskState; limit?: number; cursor?: string } = {},
  ): Promise<{ items: Task[]; nextCursor: string | null }> {
    return listTasks(this.#ctx, studioId, query);
  }

  /** Every transition of a task, in order, with its signed action's id. */
  history(studioId: string, taskId: string): Promise<TaskTransitionRecord[]> {
    return taskHistory(this.#ctx.db, studioId, taskId, 10_000);
  }

  /**
   * The members who may be assigned the task (the task's role, its
   * capabilities, active, and at least its reputation), best reputation first.
   * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND.
   */
  eligibleAgents(
    studioId: string,
    taskId: string,
  ): Promise<{ agent: Address; reputation: number | null }[]> {
    return eligibleAgents(this.#ctx, studioId, taskId);
  }
}
