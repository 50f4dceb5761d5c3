import {
  type ActionEntry,
  type Address,
  type AttestationQuote,
  attestationHash,
  ChaosCoreError,
  computeReportData,
  entryId,
  entrySigner,
  type Hex,
  hashExecutionInput,
  hashExecutionOutput,
  type JsonValue,
  type OutcomeEntry,
  parseEntry,
  parseQuote,
  privateKeyToAddress,
  ZERO_HASH,
} from "@chaoscore/core";
import type { AgentRegistry, Db, ProofOfAgency, RecordResult } from "@chaoscore/log";
import { signTaskTransition } from "./client.js";
import { fail, KeyedMutex } from "./errors.js";
import {
  parseTaskPayload,
  type ReputationPort,
  type RewardPort,
  reputationDimension,
  type SignedTransition,
  type Studio,
  type StudioActor,
  TASK_ID_PATTERN,
  TASK_TRANSITIONS,
  type Task,
  type TaskPayloads,
  type TaskState,
  type TaskTransition,
  type TaskTransitionRecord,
} from "./model.js";
import { assertStudioPayload, parseStudioAction } from "./signed-entry.js";
import type { StudioManager } from "./studio-manager.js";
import { claimPayout, lockTaskRow } from "./task-locks.js";

/** Options of {@link TaskOrchestrator}. */
export type TaskOrchestratorOptions = {
  db: Db;
  agency: Pick<
    ProofOfAgency,
    "recordAction" | "recordOutcome" | "recordInTransaction" | "chainId" | "verifyingContract"
  >;
  registry: Pick<AgentRegistry, "get" | "signingState">;
  studios: StudioManager;
  /** Reputation: read for assignment (`minReputation`), written on evaluation. */
  reputation?: ReputationPort;
  /** Rewards: paid on the reward transition. */
  rewards?: RewardPort;
  /** The clock for deadlines (default the system clock). */
  now?: () => Date;
};

/** An evaluator's signed outcome on the task's submit action (optional on evaluate). */
export type SignedOutcome = { entry: unknown; metrics: unknown };

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

type Prepared = {
  studio: Studio;
  entry: ActionEntry;
  id: Hex;
  transition: TaskTransition;
  agent: Address;
  roles: string[];
  payload: unknown;
};

const TASK_RE = new RegExp(TASK_ID_PATTERN);
const ACTIVE_STATES: readonly TaskState[] = TASK_TRANSITIONS.expire.from;
const iso = (v: Date | string) => new Date(v).toISOString();

/** A dependency is done when it was evaluated as not failed, or rewarded. */
function isDone(t: Pick<Task, "state" | "verdict">): boolean {
  return t.state === "rewarded" || (t.state === "evaluated" && t.verdict !== "failure");
}

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
 * One writer per studio (an in-process lock); a transition whose parent is no
 * longer the task's last action is refused.
 *
 * @example
 * ```ts
 * const tasks = new TaskOrchestrator({ db, agency, registry, studios, reputation, rewards });
 * await tasks.createTask(studio.id, signTaskTransition({ ..., transition: "create", payload }));
 * ```
 */
export class TaskOrchestrator {
  readonly #db: Db;
  readonly #agency: TaskOrchestratorOptions["agency"];
  readonly #registry: TaskOrchestratorOptions["registry"];
  readonly #studios: StudioManager;
  readonly #reputation: ReputationPort | undefined;
  readonly #rewards: RewardPort | undefined;
  readonly #now: () => Date;
  readonly #mutex = new KeyedMutex();

  constructor(options: TaskOrchestratorOptions) {
    this.#db = options.db;
    this.#agency = options.agency;
    this.#registry = options.registry;
    this.#studios = options.studios;
    this.#reputation = options.reputation;
    this.#rewards = options.rewards;
    this.#now = options.now ?? (() => new Date());
  }

  /** The chain id transitions are signed for. */
  get chainId(): bigint {
    return this.#agency.chainId;
  }

  /** The studios this orchestrator works in. */
  get studios(): StudioManager {
    return this.#studios;
  }

  /** Now, in unix seconds, on the orchestrator's clock. */
  nowSeconds(): number {
    return Math.floor(this.#now().getTime() / 1000);
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
    return this.#mutex.run(studioId, () => this.#createTasks(studioId, signed));
  }

  async #createTasks(
    studioId: string,
    signed: readonly SignedTransition[],
  ): Promise<TransitionResult[]> {
    if (!Array.isArray(signed) || signed.length < 1 || signed.length > 100) {
      fail("STUDIO_ENTRY_INVALID", "send 1 to 100 signed create transitions");
    }
    const plan: { p: Prepared; payload: TaskPayloads["create"]; existing: Task | null }[] = [];
    for (const s of signed) {
      const p = await this.#prepare(studioId, s, "create");
      const payload = p.payload as TaskPayloads["create"];
      const taskId = p.entry.message.task;
      if (!TASK_RE.test(taskId)) {
        fail("STUDIO_ENTRY_INVALID", `a task id must match ${TASK_ID_PATTERN}`, { task: taskId });
      }
      if (p.entry.message.parents.length > 0) {
        fail("STUDIO_ENTRY_INVALID", "a create transition has no parents", { task: taskId });
      }
      this.#assertSigner(p, null);
      const existing = await this.#find(studioId, taskId);
      if (existing !== null && existing.lastAction !== p.id) {
        const [first] = await this.#history(studioId, taskId, 1);
        if (first?.actionId !== p.id) {
          fail("STUDIO_TASK_EXISTS", `task ${taskId} exists in ${studioId}`, { task: taskId });
        }
      }
      if (plan.some((x) => x.p.entry.message.task === taskId)) {
        fail("STUDIO_TASK_EXISTS", `task ${taskId} is created twice`, { task: taskId });
      }
      if (payload.deadline !== undefined && payload.deadline <= this.nowSeconds()) {
        fail("STUDIO_ENTRY_INVALID", "the deadline has already passed", { task: taskId });
      }
      plan.push({ p, payload, existing });
    }
    // Dependencies: known tasks or tasks of this plan, with no cycle.
    const fresh = plan.filter((x) => x.existing === null);
    const inPlan = new Map(fresh.map((x) => [x.p.entry.message.task, x.payload.dependsOn]));
    for (const x of fresh) {
      for (const dep of x.payload.dependsOn) {
        if (!inPlan.has(dep) && (await this.#find(studioId, dep)) === null) {
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
    await this.#preverify(fresh.map((x) => x.p));
    const results: TransitionResult[] = [];
    const recorded: { p: Prepared; payload: TaskPayloads["create"]; leafIndex: number }[] = [];
    for (const x of plan) {
      const r = await this.#agency.recordAction({ entry: x.p.entry, payload: x.p.payload });
      if (x.existing === null)
        recorded.push({ p: x.p, payload: x.payload, leafIndex: r.leafIndex });
      else {
        results.push({
          task: x.existing,
          actionId: r.id,
          leafIndex: r.leafIndex,
          duplicate: true,
        });
      }
    }
    // Parents before children, so that the dependency rows' foreign keys hold.
    const order = topologicalOrder(inPlan);
    recorded.sort(
      (a, b) => order.indexOf(a.p.entry.message.task) - order.indexOf(b.p.entry.message.task),
    );
    await this.#db.transaction(async (tx) => {
      for (const { p, payload } of recorded) {
        const at = this.#now();
        const task = p.entry.message.task;
        await tx.query(
          `INSERT INTO studio_tasks (studio_id, id, title, role, capabilities, min_reputation, input,
                                     state, deadline, max_retries, seq, last_action, created_at,
                                     updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'open', $8, $9, 1, decode($10, 'hex'), $11, $11)`,
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
        for (const dep of new Set(payload.dependsOn)) {
          await tx.query(
            "INSERT INTO studio_task_deps (studio_id, task_id, depends_on) VALUES ($1, $2, $3)",
            [studioId, task, dep],
          );
        }
        await this.#insertTransition(tx, studioId, task, 1, "create", null, "open", p, at);
      }
    });
    for (const { p, leafIndex } of recorded) {
      const task = (await this.#find(studioId, p.entry.message.task)) as Task;
      results.push({ task, actionId: p.id, leafIndex, duplicate: false });
    }
    return results;
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
    const p = await this.#prepare(studioId, signed, expected ?? null);
    if (p.transition === "create") {
      fail("STUDIO_ENTRY_INVALID", "use createTask for a create transition");
    }
    const task = await this.#find(studioId, p.entry.message.task);
    if (task === null) {
      fail("STUDIO_TASK_NOT_FOUND", `no task ${p.entry.message.task} in ${studioId}`, {
        task: p.entry.message.task,
      });
    }
    if (task.lastAction === p.id) {
      // The same signed transition again: already applied.
      const [r] = await this.#db.query<{ leaf_index: number }>(
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
    this.#assertSigner(p, task);
    const parents = p.entry.message.parents;
    if (parents.length !== 1 || parents[0] !== task.lastAction) {
      fail(
        "STUDIO_TRANSITION_INVALID",
        "the transition's parent must be the task's last action (the task moved on, or the parent is wrong)",
        { task: task.id, lastAction: task.lastAction, parents },
      );
    }
    const now = this.nowSeconds();
    const overdue = task.deadline !== null && now >= task.deadline;
    if (overdue && p.transition !== "expire" && p.transition !== "fail") {
      if ((ACTIVE_STATES as readonly string[]).includes(from)) {
        fail("STUDIO_TASK_EXPIRED", `task ${task.id}'s deadline has passed`, {
          task: task.id,
          deadline: task.deadline,
        });
      }
    }
    let changes: Record<string, unknown> = {};
    let outcome: { entry: OutcomeEntry; metrics: unknown; id: Hex } | null = null;
    let amount = 0n;
    switch (p.transition) {
      case "assign": {
        const { agent } = p.payload as TaskPayloads["assign"];
        await this.#assertEligible(p.studio, task, agent);
        await this.#assertDependenciesDone(task);
        changes = { assignee: agent };
        break;
      }
      case "start":
        await this.#assertDependenciesDone(task);
        break;
      case "submit": {
        const payload = p.payload as TaskPayloads["submit"];
        const kind = this.#studios.kind(p.studio.kind);
        const problem = kind?.validateResult?.(payload.result, task) ?? null;
        if (problem !== null) {
          fail(
            "STUDIO_ENTRY_INVALID",
            `the result does not fit a ${p.studio.kind} task: ${problem}`,
          );
        }
        this.#assertAttestation(p, task, payload, signed.attestation);
        changes = { result: JSON.stringify(payload.result), submit_action: p.id.slice(2) };
        break;
      }
      case "evaluate": {
        const payload = p.payload as TaskPayloads["evaluate"];
        if (signed.outcome !== undefined) {
          outcome = this.#checkOutcome(signed.outcome, task, p, payload.verdict);
        }
        changes = { verdict: payload.verdict, score: payload.score };
        break;
      }
      case "reward": {
        const payload = p.payload as TaskPayloads["reward"];
        amount = BigInt(payload.amount);
        this.#assertReward(p.studio, task, amount);
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
        const payload = p.payload as TaskPayloads["expire"];
        if (!overdue || payload.deadline !== task.deadline || payload.at < task.deadline) {
          fail("STUDIO_TRANSITION_INVALID", `task ${task.id} is not past its deadline`, {
            task: task.id,
            deadline: task.deadline,
          });
        }
        break;
      }
      case "fail":
        break;
    }
    await this.#preverify([p]);
    let payout: TransitionResult["payout"];
    if (p.transition === "reward") {
      // One payout per task across every engine: claim it in the database first
      // (only this payout id, and only while the task is where it was read).
      const payoutId = (p.payload as TaskPayloads["reward"]).payoutId;
      await claimPayout(this.#db, studioId, task.id, task.lastAction, payoutId);
      const rewards = this.#rewards as RewardPort;
      payout = await rewards.pay({
        studio: studioId,
        payoutId,
        recipients: [{ agent: task.assignee as Address, amount }],
      });
    }
    const to = rule.to as TaskState;
    const at = this.#now();
    let recorded: RecordResult | undefined;
    let published: () => void = () => undefined;
    // The outcome, the action and the task in one transaction, under the task row's lock.
    await this.#db.transaction(async (tx) => {
      await lockTaskRow(tx, studioId, task.id, task.lastAction);
      const written = await this.#agency.recordInTransaction(tx, [
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
      await this.#insertTransition(tx, studioId, task.id, seq, p.transition, from, to, p, at);
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
    const updated = (await this.#find(studioId, task.id)) as Task;
    if (outcome !== null && this.#reputation !== undefined) {
      const m = outcome.entry.message;
      await this.#reputation.applyOutcome({
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
  async tick(signer: StudioActor, now?: Date): Promise<{ studio: string; task: string }[]> {
    const clock = Math.floor((now ?? this.#now()).getTime() / 1000);
    const agent = signerAddress(signer);
    const rows = await this.#db.query<{ studio_id: string; id: string }>(
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
      const task = await this.#find(r.studio_id, r.id);
      if (task === null || task.deadline === null) continue;
      await this.transition(
        r.studio_id,
        signTaskTransition({
          privateKey: signer.privateKey,
          ...(signer.agent === undefined ? {} : { agent: signer.agent }),
          chainId: this.chainId,
          verifyingContract: this.#agency.verifyingContract,
          nonce: await this.nextNonce(signer),
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

  /** The next action nonce of an actor: its own counter, or the registry's last nonce plus one. */
  async nextNonce(actor: StudioActor): Promise<bigint> {
    if (actor.nextNonce !== undefined) return BigInt(actor.nextNonce());
    const agent = signerAddress(actor);
    const state = (await this.#registry.signingState([agent])).get(agent);
    return (state?.actionNonce ?? 0n) + 1n;
  }

  // ---- reads --------------------------------------------------------------------------------

  /**
   * A task. A task past its deadline that is still open, assigned or running
   * reads as `expired` (with `overdue: true`) until `tick` records it.
   * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND.
   */
  async getTask(studioId: string, taskId: string): Promise<Task> {
    const task = await this.#find(studioId, taskId, true);
    if (task === null) {
      fail("STUDIO_TASK_NOT_FOUND", `no task ${taskId} in ${studioId}`, { task: taskId });
    }
    return task;
  }

  /**
   * The tasks of a studio, by id, a page at a time.
   * @throws ChaosCoreError INVALID_INPUT (a bad limit or cursor).
   */
  async listTasks(
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
    const rows = await this.#select(
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

  /** Every transition of a task, in order, with its signed action's id. */
  async history(studioId: string, taskId: string): Promise<TaskTransitionRecord[]> {
    return this.#history(studioId, taskId, 10_000);
  }

  /**
   * The members who may be assigned the task (the task's role, its
   * capabilities, active, and at least its reputation), best reputation first.
   * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND.
   */
  async eligibleAgents(
    studioId: string,
    taskId: string,
  ): Promise<{ agent: Address; reputation: number | null }[]> {
    const studio = await this.#studios.get(studioId);
    const task = await this.getTask(studioId, taskId);
    const out: { agent: Address; reputation: number | null }[] = [];
    for (const m of await this.#studios.members(studioId)) {
      if (!m.roles.includes(task.role)) continue;
      const reputation = await this.#ineligibility(studio, task, m.agent);
      if (typeof reputation === "string") continue;
      out.push({ agent: m.agent, reputation });
    }
    return out.sort((a, b) => (b.reputation ?? -1) - (a.reputation ?? -1));
  }

  // ---- checks -------------------------------------------------------------------------------

  /** Parses and checks what every transition shares; reads the signer's roles. */
  async #prepare(
    studioId: string,
    signed: SignedTransition,
    expected: TaskTransition | null,
  ): Promise<Prepared> {
    const studio = await this.#studios.get(studioId);
    if (studio.status !== "active") fail("STUDIO_ARCHIVED", `studio ${studioId} is archived`);
    if (typeof signed !== "object" || signed === null) {
      fail("STUDIO_ENTRY_INVALID", "a transition is { entry, payload, attestation? }");
    }
    const entry = parseStudioAction(signed.entry);
    const m = entry.message;
    if (m.studio !== studioId) {
      fail("STUDIO_ENTRY_INVALID", `the entry is signed for studio "${m.studio}"`, {
        studio: m.studio,
      });
    }
    const transition = m.actionType.startsWith("studio.task.")
      ? (m.actionType.slice("studio.task.".length) as TaskTransition)
      : null;
    if (transition === null || !Object.hasOwn(TASK_TRANSITIONS, transition)) {
      fail("STUDIO_ENTRY_INVALID", `${m.actionType} is not a task transition`, {
        actionType: m.actionType,
      });
    }
    if (expected !== null && transition !== expected) {
      fail("STUDIO_ENTRY_INVALID", `expected studio.task.${expected}, got ${m.actionType}`, {
        actionType: m.actionType,
      });
    }
    assertStudioPayload(signed.payload, m.payloadHash);
    const payload = parseTaskPayload[transition](signed.payload);
    const agent = m.agent;
    const record = await this.#registry.get(agent);
    if (record.identity.status !== "active") {
      fail("AGENT_NOT_ACTIVE", `agent ${agent} is ${record.identity.status}`, { agent });
    }
    const roles = await this.#studios.rolesOf(studioId, agent);
    if (roles === null) {
      fail("STUDIO_NOT_MEMBER", `${agent} is not a member of ${studioId}`, { agent });
    }
    return { studio, entry, id: entryId(entry), transition, agent, roles, payload };
  }

  /** The signer has a role allowed to make the transition, or is the task's assignee. */
  #assertSigner(p: Prepared, task: Task | null): void {
    const signers = TASK_TRANSITIONS[p.transition].signers as readonly string[];
    const byRole = p.roles.some((r) => signers.includes(r));
    const asAssignee = signers.includes("assignee") && task?.assignee === p.agent;
    if (!byRole && !asAssignee) {
      fail(
        "STUDIO_ROLE_FORBIDDEN",
        `${p.transition} is signed by: ${signers.join(", ")}; ${p.agent} has roles ${p.roles.join(", ")}`,
        { agent: p.agent, roles: p.roles, transition: p.transition },
      );
    }
  }

  /**
   * The signature is by the agent's current key and the nonce is fresh (also
   * checked by the log; checked first so that a payout is never made for a
   * transition the log would refuse).
   */
  #preverify(prepared: readonly Prepared[]): Promise<void> {
    return preverifyActions(
      this.#registry,
      prepared.map((p) => p.entry),
    );
  }

  async #assertEligible(studio: Studio, task: Task, agent: Address): Promise<void> {
    const record = await this.#registry.get(agent);
    if (record.identity.status !== "active") {
      fail("AGENT_NOT_ACTIVE", `agent ${agent} is ${record.identity.status}`, { agent });
    }
    const roles = await this.#studios.rolesOf(studio.id, agent);
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
    const problem = await this.#ineligibility(studio, task, agent);
    if (typeof problem === "string") {
      fail("STUDIO_ASSIGNEE_INELIGIBLE", problem, { agent, task: task.id });
    }
  }

  /** Why the agent may not take the task (capabilities, reputation), or its reputation. */
  async #ineligibility(
    studio: Studio,
    task: Task,
    agent: Address,
  ): Promise<string | number | null> {
    const record = await this.#registry.get(agent);
    if (record.identity.status !== "active") return `agent ${agent} is not active`;
    const has = new Set(record.metadata.card.capabilities);
    const missing = task.capabilities.filter((c) => !has.has(c));
    if (missing.length > 0) return `the agent card lacks the capabilities ${missing.join(", ")}`;
    const min = task.minReputation ?? studio.rules.minReputation ?? null;
    const dimension = reputationDimension(studio);
    const score =
      this.#reputation === undefined ? null : await this.#reputation.get(agent, dimension);
    if (min !== null && min > 0 && (score === null || score < min)) {
      return `reputation ${score ?? "none"} in ${dimension} is below ${min}`;
    }
    return score;
  }

  async #assertDependenciesDone(task: Task): Promise<void> {
    const pending: string[] = [];
    for (const dep of task.dependsOn) {
      const t = await this.#find(task.studio, dep);
      if (t === null || !isDone(t)) pending.push(dep);
    }
    if (pending.length > 0) {
      fail("STUDIO_TASK_BLOCKED", `task ${task.id} waits for ${pending.join(", ")}`, {
        task: task.id,
        pending,
      });
    }
  }

  /**
   * The studio rule "attestation required": the submission carries a quote
   * (the action's attestation) with an allowed measurement, whose report data
   * binds the run's input (the task's input), output (the result) and nonce.
   * The quote's certificate chain is verified by the log (trusted roots).
   */
  #assertAttestation(
    p: Prepared,
    task: Task,
    payload: TaskPayloads["submit"],
    attestation: unknown,
  ): void {
    if (!p.studio.rules.attestationRequired) return;
    const refuse = (reason: string, details: Record<string, unknown> = {}) =>
      new ChaosCoreError(
        "STUDIO_ATTESTATION_REQUIRED",
        `studio ${p.studio.id} requires attestation: ${reason}`,
        { details: { task: task.id, reason, ...details } },
      );
    if (p.entry.message.attestationHash === ZERO_HASH || attestation == null) {
      throw refuse("the submission carries no attestation");
    }
    let quote: AttestationQuote;
    try {
      quote = parseQuote(attestation);
    } catch {
      throw refuse("the attestation is not a chaoscore.attestation/v1 quote");
    }
    if (attestationHash(quote) !== p.entry.message.attestationHash) {
      throw refuse("the quote does not hash to the signed attestationHash");
    }
    const allowed = p.studio.rules.allowedMeasurements;
    if (allowed !== undefined && !allowed.includes(quote.measurement)) {
      throw refuse("the quote's measurement is not allowed", { measurement: quote.measurement });
    }
    const ex = payload.execution;
    if (ex === undefined) throw refuse("the payload has no execution (input/output hashes)");
    if (hashExecutionOutput(payload.result) !== ex.outputHash) {
      throw refuse("the result is not the attested run's output");
    }
    if (
      task.input !== null &&
      hashExecutionInput({ input: task.input, seed: ex.seed, clock: ex.clock }) !== ex.inputHash
    ) {
      throw refuse("the attested run's input is not the task's input");
    }
    if (
      quote.nonce !== ex.nonce ||
      computeReportData(ex.inputHash, ex.outputHash, ex.nonce as Hex) !== quote.reportData
    ) {
      throw refuse("the quote's report data does not bind this input, output and nonce");
    }
  }

  #checkOutcome(
    signed: SignedOutcome,
    task: Task,
    p: Prepared,
    verdict: string,
  ): { entry: OutcomeEntry; metrics: unknown; id: Hex } {
    let entry: OutcomeEntry;
    try {
      const parsed = parseEntry(signed.entry);
      if (parsed.kind !== "outcome") throw new Error("not an outcome");
      entry = parsed;
    } catch (error) {
      throw new ChaosCoreError("STUDIO_ENTRY_INVALID", "the outcome is not a signed outcome", {
        cause: error,
      });
    }
    if (entry.message.action !== task.submitAction) {
      fail("STUDIO_ENTRY_INVALID", "the outcome must refer to the task's submit action", {
        action: entry.message.action,
        submitAction: task.submitAction,
      });
    }
    if (entry.message.agent !== p.agent) {
      fail("STUDIO_ENTRY_INVALID", "the outcome must be signed by the evaluator of the transition");
    }
    if (entry.message.status !== verdict) {
      fail("STUDIO_ENTRY_INVALID", `the outcome's status is not the verdict ${verdict}`);
    }
    return { entry, metrics: signed.metrics, id: entryId(entry) };
  }

  #assertReward(studio: Studio, task: Task, amount: bigint): void {
    if (this.#rewards === undefined) {
      fail("STUDIO_REWARD_INVALID", "no reward port is configured: rewards cannot be paid");
    }
    if (task.verdict !== "success" || task.assignee === null) {
      fail(
        "STUDIO_REWARD_INVALID",
        `only successful tasks are rewarded (verdict ${task.verdict})`,
        {
          task: task.id,
          verdict: task.verdict,
        },
      );
    }
    if (amount <= 0n) fail("STUDIO_REWARD_INVALID", "a reward is a positive amount");
    const policy = studio.rewardPolicy;
    if (policy.kind === "fixed") {
      const due = BigInt(policy.perRole?.[task.role] ?? policy.amountPerSuccess);
      if (amount !== due) {
        fail("STUDIO_REWARD_INVALID", `the fixed policy pays ${due} for a ${task.role} task`, {
          amount: amount.toString(),
          due: due.toString(),
        });
      }
    } else if (amount > BigInt(policy.pool)) {
      fail("STUDIO_REWARD_INVALID", `a share is at most the pool ${policy.pool}`, {
        amount: amount.toString(),
        pool: policy.pool,
      });
    }
    const remaining = BigInt(policy.budget) - BigInt(studio.spent);
    if (amount > remaining) {
      fail(
        "STUDIO_BUDGET_EXCEEDED",
        `the reward ${amount} exceeds the remaining budget ${remaining}`,
        {
          amount: amount.toString(),
          remaining: remaining.toString(),
        },
      );
    }
  }

  // ---- rows ---------------------------------------------------------------------------------

  /** A task; with `overlay`, an overdue task reads as expired (reads), else its stored state. */
  async #find(studioId: string, taskId: string, overlay = false): Promise<Task | null> {
    if (typeof taskId !== "string" || !TASK_RE.test(taskId)) return null;
    const [task] = await this.#select(
      "t.studio_id = $1 AND t.id = $2",
      [studioId, taskId],
      1,
      overlay,
    );
    return task ?? null;
  }

  async #select(
    where: string,
    params: unknown[],
    limit: number,
    overlay: boolean,
  ): Promise<Task[]> {
    const rows = await this.#db.query<TaskRow>(
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
    const now = this.nowSeconds();
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

  async #history(studioId: string, taskId: string, limit: number): Promise<TaskTransitionRecord[]> {
    const rows = await this.#db.query<{
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

  async #insertTransition(
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
}

/**
 * Checks that each action is signed by its agent's current key and that the
 * nonces are fresh (and increasing within `entries`), as the log will. The
 * studio checks this before any write or payout, so that a transition the log
 * would refuse changes nothing.
 * @throws ChaosCoreError AGENT_NOT_FOUND, AGENCY_BAD_SIGNATURE, AGENCY_NONCE_NOT_INCREASING.
 */
export async function preverifyActions(
  registry: Pick<AgentRegistry, "signingState">,
  entries: readonly ActionEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const agents = [...new Set(entries.map((e) => e.message.agent))];
  const states = await registry.signingState(agents);
  const last = new Map<string, bigint | null>();
  for (const entry of entries) {
    const agent = entry.message.agent;
    const state = states.get(agent);
    if (state === undefined) fail("AGENT_NOT_FOUND", `agent ${agent} is not registered`);
    let signer: Address;
    try {
      signer = entrySigner(entry);
    } catch (error) {
      throw new ChaosCoreError("AGENCY_BAD_SIGNATURE", "the signature does not recover", {
        cause: error,
      });
    }
    if (signer !== state.signer) {
      fail("AGENCY_BAD_SIGNATURE", "the signature is not by the agent's registered key", {
        agent,
        signer,
      });
    }
    const prev = last.has(agent) ? (last.get(agent) ?? null) : state.actionNonce;
    const nonce = BigInt(entry.message.nonce);
    if (prev !== null && nonce <= prev) {
      fail("AGENCY_NONCE_NOT_INCREASING", `nonce ${nonce} is not larger than ${prev}`, {
        nonce: nonce.toString(),
        last: prev.toString(),
      });
    }
    last.set(agent, nonce);
  }
}

/** The address of an actor's key (or its agent id). */
export function signerAddress(actor: StudioActor): Address {
  if (actor.agent !== undefined) return actor.agent;
  return privateKeyToAddress(actor.privateKey);
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
