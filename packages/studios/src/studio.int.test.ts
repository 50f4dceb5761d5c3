import { randomBytes } from "node:crypto";
import {
  agentBoundNonce,
  type ErrorCode,
  type Hex,
  isChaosCoreError,
  privateKeyToAddress,
  signAction,
  verifyReceipt,
} from "@chaoscore/core";
import { executeAttested, MockTeeProvider } from "@chaoscore/sandbox";
import {
  CHAIN_ID,
  FakeReputation,
  FakeRewards,
  openTestEngine,
  studioSnapshot,
  TEST_DB_KIND,
} from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEvaluation, signTaskTransition } from "./client.js";
import type { SignedTransition, Task, TaskPayloads, TaskTransition } from "./model.js";
import { createStudios } from "./studios.js";

type Harness = Awaited<ReturnType<typeof openTestEngine>>;
type Actor = Awaited<ReturnType<Harness["newAgent"]>>;

const CODE = "export default (input) => ({ doubled: input.n * 2 })";
const OTHER_CODE = "export default (input) => ({ doubled: input.n * 3 })";

describe(`studio framework (${TEST_DB_KIND})`, () => {
  let h: Harness;
  let s: ReturnType<typeof createStudios>;
  const reputation = new FakeReputation();
  const rewards = new FakeRewards();
  const tee = MockTeeProvider.create();
  let offset = 0; // seconds added to the studio clock (deadlines)
  let operator: Actor;
  let evaluator: Actor;
  let worker: Actor;
  let outsider: Actor;
  let unskilled: Actor;
  let measurement: Hex;

  beforeAll(async () => {
    h = await openTestEngine({
      attestation: { mode: "optional", trustedRoots: [tee.rootPublicKey] },
    });
    s = createStudios(h.engine, {
      reputation,
      rewards,
      now: () => new Date(Date.now() + offset * 1000),
    });
    operator = await h.newAgent(["ops"]);
    evaluator = await h.newAgent(["review"]);
    worker = await h.newAgent(["math", "governance"]);
    outsider = await h.newAgent(["math"]);
    unskilled = await h.newAgent(["cooking"]);
    measurement = (await executeAttested(CODE, { n: 1 }, { provider: tee, nonce: "0x01" })).result
      .measurement;
  });
  afterAll(async () => h.close());

  /** Runs `fn`, expects the code, and that no table (studio, log, nonces) changed. */
  async function rejects(fn: () => Promise<unknown>, code: ErrorCode) {
    const before = await studioSnapshot(h.engine);
    const paid = rewards.paid.length;
    const applied = reputation.applied.length;
    let caught: unknown;
    try {
      await fn();
    } catch (error) {
      caught = error;
    }
    expect(isChaosCoreError(caught) ? caught.code : String(caught)).toBe(code);
    expect(await studioSnapshot(h.engine)).toEqual(before);
    expect(rewards.paid.length).toBe(paid);
    expect(reputation.applied.length).toBe(applied);
  }

  async function newStudio(overrides: Record<string, unknown> = {}) {
    const studio = await s.studios.create({
      kind: "generic",
      name: "Arithmetic",
      operator: operator.address,
      config: { topic: "doubling" },
      rules: { attestationRequired: false },
      rewardPolicy: { kind: "fixed", budget: "25", amountPerSuccess: "10" },
      ...overrides,
    });
    await s.studios.addMember(studio.id, evaluator.address, ["evaluator"]);
    await s.studios.addMember(studio.id, worker.address, ["agent"]);
    await s.studios.addMember(studio.id, unskilled.address, ["agent"]);
    return studio;
  }

  function sign<T extends TaskTransition>(
    actor: Actor,
    studio: string,
    task: string,
    transition: T,
    payload: TaskPayloads[T],
    previous: Hex | null,
    extra: Partial<Parameters<typeof signTaskTransition>[0]> = {},
  ) {
    return signTaskTransition({
      privateKey: actor.privateKey,
      chainId: CHAIN_ID,
      nonce: actor.nextNonce(),
      studio,
      task,
      transition,
      payload,
      previous,
      ...extra,
    } as Parameters<typeof signTaskTransition<T>>[0]);
  }

  const createPayload = (over: Partial<TaskPayloads["create"]> = {}): TaskPayloads["create"] => ({
    title: "Double a number",
    role: "agent",
    capabilities: ["math"],
    dependsOn: [],
    maxRetries: 1,
    input: { n: 21 },
    ...over,
  });

  async function create(studio: string, task: string, over: Partial<TaskPayloads["create"]> = {}) {
    return (
      await s.tasks.createTask(
        studio,
        sign(operator, studio, task, "create", createPayload(over), null),
      )
    ).task;
  }

  async function step<T extends TaskTransition>(
    actor: Actor,
    studio: string,
    taskId: string,
    transition: T,
    payload: TaskPayloads[T],
    extra: Partial<SignedTransition> & { outcome?: { entry: unknown; metrics: unknown } } = {},
  ) {
    const task = await s.tasks.getTask(studio, taskId);
    return s.tasks.transition(studio, {
      ...sign(actor, studio, taskId, transition, payload, task.lastAction),
      ...extra,
    });
  }

  /** Takes a created task through assign, start and submit. */
  async function toSubmitted(studio: string, taskId: string) {
    await step(operator, studio, taskId, "assign", { agent: worker.address });
    await step(worker, studio, taskId, "start", {});
    return step(worker, studio, taskId, "submit", { result: { doubled: 42 } });
  }

  describe("StudioManager", () => {
    it("creates a studio with its operator as a member, and reads it back", async () => {
      const studio = await newStudio({ id: "arith-1" });
      expect(studio).toMatchObject({
        id: "arith-1",
        kind: "generic",
        operator: operator.address,
        status: "active",
        spent: "0",
        version: 1,
      });
      expect(await s.studios.get("arith-1")).toEqual(studio);
      const members = await s.studios.members("arith-1");
      expect(members.find((m) => m.agent === operator.address)?.roles).toEqual(["operator"]);
      expect(members.map((m) => m.agent).sort()).toEqual(
        [operator, evaluator, worker, unskilled].map((a) => a.address).sort(),
      );
    });

    it("refuses an invalid config, rules or reward policy, or a taken id: nothing changed", async () => {
      const base = {
        kind: "generic",
        name: "Bad",
        operator: operator.address,
        config: {},
        rules: { attestationRequired: false },
        rewardPolicy: { kind: "fixed", budget: "10", amountPerSuccess: "1" },
      };
      const cases: Record<string, unknown>[] = [
        { kind: "no-such-kind" },
        { config: "not an object" },
        { kind: "governance", config: { dao: { treasury: -1 } } },
        { rules: { attestationRequired: "yes" } },
        { rules: { attestationRequired: false, allowedMeasurements: [measurement] } },
        { rules: { attestationRequired: true, minReputation: 2 } },
        { rewardPolicy: { kind: "fixed", budget: "-5", amountPerSuccess: "1" } },
        { rewardPolicy: { kind: "lottery", budget: "5" } },
        { id: "Not A Slug" },
        { name: "" },
      ];
      for (const c of cases) {
        await rejects(() => s.studios.create({ ...base, ...c } as never), "STUDIO_CONFIG_INVALID");
      }
      await rejects(() => s.studios.create({ ...base, id: "arith-1" }), "STUDIO_EXISTS");
      await rejects(
        () => s.studios.create({ ...base, operator: privateKeyToAddress(randomBytes(32)) }),
        "AGENT_NOT_FOUND",
      );
      await rejects(
        () => s.studios.configure("arith-1", { rewardPolicy: { kind: "share" } }),
        "STUDIO_CONFIG_INVALID",
      );
    });

    it("configures, lists a page at a time, and archives", async () => {
      const updated = await s.studios.configure("arith-1", {
        rules: { attestationRequired: false, minReputation: 0 },
      });
      expect(updated.version).toBe(2);
      expect(updated.rules.minReputation).toBe(0);
      for (const id of ["list-a", "list-b", "list-c"]) await newStudio({ id });
      const first = await s.studios.list({ limit: 2, kind: "generic" });
      expect(first.items.map((x) => x.id)).toEqual(["arith-1", "list-a"]);
      const second = await s.studios.list({ limit: 2, cursor: first.nextCursor as string });
      expect(second.items.map((x) => x.id)).toEqual(["list-b", "list-c"]);
      expect(second.nextCursor).toBeNull();
      await expect(s.studios.list({ limit: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
      const archived = await s.studios.archive("list-c");
      expect(archived.status).toBe("archived");
      expect((await s.studios.list({ status: "archived" })).items.map((x) => x.id)).toEqual([
        "list-c",
      ]);
      await rejects(() => s.studios.configure("list-c", { name: "x" }), "STUDIO_ARCHIVED");
      await rejects(
        () => s.studios.addMember("list-c", outsider.address, ["agent"]),
        "STUDIO_ARCHIVED",
      );
      await rejects(() => s.studios.archive("list-c"), "STUDIO_ARCHIVED");
      await rejects(() => s.studios.get("nope"), "STUDIO_NOT_FOUND");
    });

    it("adds only registered, active agents with the kind's roles; removes members", async () => {
      await rejects(
        () => s.studios.addMember("list-a", privateKeyToAddress(randomBytes(32)), ["agent"]),
        "AGENT_NOT_FOUND",
      );
      const suspended = await h.newAgent(["math"]);
      await h.engine.registry.suspend(suspended.address, "test");
      await rejects(
        () => s.studios.addMember("list-a", suspended.address, ["agent"]),
        "AGENT_NOT_ACTIVE",
      );
      await rejects(
        () => s.studios.addMember("list-a", outsider.address, ["king"]),
        "STUDIO_CONFIG_INVALID",
      );
      await s.studios.addMember("list-a", outsider.address, ["agent", "evaluator"]);
      expect(await s.studios.rolesOf("list-a", outsider.address)).toEqual(["agent", "evaluator"]);
      await s.studios.removeMember("list-a", outsider.address);
      expect(await s.studios.rolesOf("list-a", outsider.address)).toBeNull();
      await rejects(() => s.studios.removeMember("list-a", outsider.address), "STUDIO_NOT_MEMBER");
      await rejects(
        () => s.studios.removeMember("list-a", operator.address),
        "STUDIO_ROLE_FORBIDDEN",
      );
    });
  });

  describe("task state machine", () => {
    it("runs open → assigned → running → submitted → evaluated → rewarded, each a signed action", async () => {
      const studio = "arith-1";
      const created = await create(studio, "t1");
      expect(created).toMatchObject({ state: "open", assignee: null, retries: 0, overdue: false });
      await toSubmitted(studio, "t1");
      const submitted = await s.tasks.getTask(studio, "t1");
      expect(submitted.state).toBe("submitted");
      expect(submitted.result).toEqual({ doubled: 42 });
      const outcome = signEvaluation({
        privateKey: evaluator.privateKey,
        chainId: CHAIN_ID,
        nonce: evaluator.nextNonce(),
        action: submitted.submitAction as Hex,
        status: "success",
        metrics: { correct: true },
      });
      const evaluated = await step(
        evaluator,
        studio,
        "t1",
        "evaluate",
        { verdict: "success", score: 1, reason: "42 is twice 21" },
        { outcome },
      );
      expect(evaluated.task).toMatchObject({ state: "evaluated", verdict: "success", score: 1 });
      expect(reputation.applied.at(-1)).toMatchObject({
        agent: worker.address,
        studio,
        task: "t1",
        dimension: "studio:arith-1",
        status: "success",
        value: 1,
        actionId: submitted.submitAction,
        outcomeId: evaluated.outcomeId,
        evaluator: evaluator.address,
      });
      const rewarded = await step(operator, studio, "t1", "reward", {
        payoutId: "arith-1:t1",
        amount: "10",
      });
      expect(rewarded.task).toMatchObject({
        state: "rewarded",
        reward: "10",
        payoutId: "arith-1:t1",
      });
      expect(rewards.paid.at(-1)).toMatchObject({
        studio,
        payoutId: "arith-1:t1",
        agent: worker.address,
        amount: 10n,
      });
      expect((await s.studios.get(studio)).spent).toBe("10");

      const history = await s.tasks.history(studio, "t1");
      expect(history.map((x) => [x.transition, x.from, x.to])).toEqual([
        ["create", null, "open"],
        ["assign", "open", "assigned"],
        ["start", "assigned", "running"],
        ["submit", "running", "submitted"],
        ["evaluate", "submitted", "evaluated"],
        ["reward", "evaluated", "rewarded"],
      ]);
      expect(history.map((x) => x.actor)).toEqual([
        operator.address,
        operator.address,
        worker.address,
        worker.address,
        evaluator.address,
        operator.address,
      ]);
      // The log holds the whole history: each transition's parent is the one before.
      let previous: Hex | null = null;
      for (const t of history) {
        const receipt = await h.engine.agency.getReceipt(t.actionId);
        const verified = verifyReceipt(receipt, h.verifierKey);
        expect(verified.actionId).toBe(t.actionId);
        const m = receipt.action.entry.message;
        expect(m).toMatchObject({ studio, task: "t1", actionType: `studio.task.${t.transition}` });
        expect(m.parents).toEqual(previous === null ? [] : [previous]);
        previous = t.actionId;
      }
      // The evaluator's outcome is in the submit action's receipt.
      const submitReceipt = await h.engine.agency.getReceipt(submitted.submitAction as Hex);
      expect(verifyReceipt(submitReceipt, h.verifierKey).outcomeId).toBe(evaluated.outcomeId);
      expect((await h.engine.agency.query({ studio, task: "t1" })).items).toHaveLength(6);
    });

    it("returns the first record when the same signed transition is sent again", async () => {
      await create("arith-1", "t-dup");
      const task = await s.tasks.getTask("arith-1", "t-dup");
      const signed = sign(
        operator,
        "arith-1",
        "t-dup",
        "assign",
        { agent: worker.address },
        task.lastAction,
      );
      const first = await s.tasks.assign("arith-1", signed);
      const again = await s.tasks.assign("arith-1", signed);
      expect(again).toMatchObject({ duplicate: true, actionId: first.actionId });
      expect(again.task.state).toBe("assigned");
    });

    it("refuses out-of-order transitions, wrong signers and non-members: nothing changed", async () => {
      const studio = "arith-1";
      const t = await create(studio, "t2");
      // out of order: submit or start an open task, evaluate before submission
      await rejects(
        () => s.tasks.start(studio, sign(worker, studio, "t2", "start", {}, t.lastAction)),
        "STUDIO_TRANSITION_INVALID",
      );
      await rejects(
        () =>
          s.tasks.evaluate(
            studio,
            sign(
              evaluator,
              studio,
              "t2",
              "evaluate",
              { verdict: "success", score: 1 },
              t.lastAction,
            ),
          ),
        "STUDIO_TRANSITION_INVALID",
      );
      // assigned to a non-member; by a non-operator; to a member without the capability
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(operator, studio, "t2", "assign", { agent: outsider.address }, t.lastAction),
          ),
        "STUDIO_NOT_MEMBER",
      );
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(worker, studio, "t2", "assign", { agent: worker.address }, t.lastAction),
          ),
        "STUDIO_ROLE_FORBIDDEN",
      );
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(outsider, studio, "t2", "assign", { agent: worker.address }, t.lastAction),
          ),
        "STUDIO_NOT_MEMBER",
      );
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(operator, studio, "t2", "assign", { agent: evaluator.address }, t.lastAction),
          ),
        "STUDIO_ROLE_FORBIDDEN",
      );
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(operator, studio, "t2", "assign", { agent: unskilled.address }, t.lastAction),
          ),
        "STUDIO_ASSIGNEE_INELIGIBLE",
      );
      // a wrong parent, a payload that is not the signed one, a forged signature
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(operator, studio, "t2", "assign", { agent: worker.address }, null),
          ),
        "STUDIO_TRANSITION_INVALID",
      );
      const signed = sign(
        operator,
        studio,
        "t2",
        "assign",
        { agent: worker.address },
        t.lastAction,
      );
      await rejects(
        () => s.tasks.assign(studio, { ...signed, payload: { agent: unskilled.address } }),
        "STUDIO_ENTRY_INVALID",
      );
      await rejects(() => s.tasks.start(studio, signed), "STUDIO_ENTRY_INVALID");
      await rejects(
        () =>
          s.tasks.assign(studio, {
            ...sign(outsider, studio, "t2", "assign", { agent: worker.address }, t.lastAction, {
              agent: operator.address,
            }),
          }),
        "AGENCY_BAD_SIGNATURE",
      );
      // a nonce the log would refuse
      const stale = signTaskTransition({
        privateKey: operator.privateKey,
        chainId: CHAIN_ID,
        nonce: 1,
        studio,
        task: "t2",
        transition: "assign",
        payload: { agent: worker.address },
        previous: t.lastAction,
      });
      await rejects(() => s.tasks.assign(studio, stale), "AGENCY_NONCE_NOT_INCREASING");
      await rejects(
        () => s.tasks.start(studio, sign(worker, studio, "nope", "start", {}, t.lastAction)),
        "STUDIO_TASK_NOT_FOUND",
      );
      // not a studio action at all
      const other = signAction({
        privateKey: operator.privateKey,
        chainId: CHAIN_ID,
        nonce: operator.nextNonce(),
        actionType: "tool.call",
        studio,
        task: "t2",
        payload: {},
      });
      await rejects(
        () => s.tasks.transition(studio, { ...other, payload: {} }),
        "STUDIO_ENTRY_INVALID",
      );
      // the assignee starts; someone else may not
      await step(operator, studio, "t2", "assign", { agent: worker.address });
      const assigned = await s.tasks.getTask(studio, "t2");
      await rejects(
        () =>
          s.tasks.start(studio, sign(unskilled, studio, "t2", "start", {}, assigned.lastAction)),
        "STUDIO_ROLE_FORBIDDEN",
      );
      await rejects(
        () =>
          s.tasks.submit(
            studio,
            sign(worker, studio, "t2", "submit", { result: 1 }, assigned.lastAction),
          ),
        "STUDIO_TRANSITION_INVALID",
      );
    });

    it("refuses rewards off the policy or above the budget: nothing paid", async () => {
      const studio = "arith-1"; // budget 25, 10 per success; t1 was paid 10
      await create(studio, "t3");
      await toSubmitted(studio, "t3");
      await step(evaluator, studio, "t3", "evaluate", { verdict: "success", score: 1 });
      const t3 = await s.tasks.getTask(studio, "t3");
      await rejects(
        () =>
          s.tasks.reward(
            studio,
            sign(operator, studio, "t3", "reward", { payoutId: "p3", amount: "11" }, t3.lastAction),
          ),
        "STUDIO_REWARD_INVALID",
      );
      await step(operator, studio, "t3", "reward", { payoutId: "p3", amount: "10" });
      // 20 spent, 5 left
      await create(studio, "t4");
      await toSubmitted(studio, "t4");
      await step(evaluator, studio, "t4", "evaluate", { verdict: "success", score: 1 });
      const t4 = await s.tasks.getTask(studio, "t4");
      await rejects(
        () =>
          s.tasks.reward(
            studio,
            sign(operator, studio, "t4", "reward", { payoutId: "p4", amount: "10" }, t4.lastAction),
          ),
        "STUDIO_BUDGET_EXCEEDED",
      );
      // a failed evaluation earns nothing
      await create(studio, "t5");
      await toSubmitted(studio, "t5");
      await step(evaluator, studio, "t5", "evaluate", { verdict: "failure", score: 0 });
      const t5 = await s.tasks.getTask(studio, "t5");
      await rejects(
        () =>
          s.tasks.reward(
            studio,
            sign(operator, studio, "t5", "reward", { payoutId: "p5", amount: "10" }, t5.lastAction),
          ),
        "STUDIO_REWARD_INVALID",
      );
    });
  });

  describe("dependencies", () => {
    it("keeps tasks a DAG and blocks a task until its dependencies are done", async () => {
      const studio = "list-a";
      await s.studios.addMember(studio, evaluator.address, ["evaluator"]);
      await create(studio, "a");
      await create(studio, "b", { dependsOn: ["a"] });
      expect((await s.tasks.getTask(studio, "b")).dependsOn).toEqual(["a"]);
      // a plan with a cycle, a self-dependency, an unknown dependency
      await rejects(
        () =>
          s.tasks.createTasks(studio, [
            sign(operator, studio, "x", "create", createPayload({ dependsOn: ["y"] }), null),
            sign(operator, studio, "y", "create", createPayload({ dependsOn: ["a", "x"] }), null),
          ]),
        "STUDIO_TASK_CYCLE",
      );
      await rejects(
        () =>
          s.tasks.createTask(
            studio,
            sign(operator, studio, "self", "create", createPayload({ dependsOn: ["self"] }), null),
          ),
        "STUDIO_TASK_CYCLE",
      );
      await rejects(
        () =>
          s.tasks.createTask(
            studio,
            sign(operator, studio, "z", "create", createPayload({ dependsOn: ["ghost"] }), null),
          ),
        "STUDIO_TASK_NOT_FOUND",
      );
      await rejects(() => create(studio, "a"), "STUDIO_TASK_EXISTS");
      // a plan whose tasks depend on each other (in any order) is fine
      const plan = await s.tasks.createTasks(studio, [
        sign(operator, studio, "p2", "create", createPayload({ dependsOn: ["p1"] }), null),
        sign(operator, studio, "p1", "create", createPayload({ dependsOn: ["a"] }), null),
      ]);
      expect(plan.map((r) => r.task.id).sort()).toEqual(["p1", "p2"]);
      // b is blocked until a is evaluated
      const b = await s.tasks.getTask(studio, "b");
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(operator, studio, "b", "assign", { agent: worker.address }, b.lastAction),
          ),
        "STUDIO_TASK_BLOCKED",
      );
      await toSubmitted(studio, "a");
      await step(evaluator, studio, "a", "evaluate", { verdict: "success", score: 0.9 });
      await step(operator, studio, "b", "assign", { agent: worker.address });
      expect((await s.tasks.getTask(studio, "b")).state).toBe("assigned");
      const eligible = await s.tasks.eligibleAgents(studio, "p1");
      expect(eligible.map((e) => e.agent)).toEqual([worker.address]);
    });
  });

  describe("assignment by reputation", () => {
    it("refuses an assignee below the task's minimum reputation", async () => {
      const studio = "list-b";
      reputation.set(worker.address, "studio:list-b", 0.5);
      await create(studio, "rep", { minReputation: 0.6 });
      const t = await s.tasks.getTask(studio, "rep");
      await rejects(
        () =>
          s.tasks.assign(
            studio,
            sign(operator, studio, "rep", "assign", { agent: worker.address }, t.lastAction),
          ),
        "STUDIO_ASSIGNEE_INELIGIBLE",
      );
      reputation.set(worker.address, "studio:list-b", 0.7);
      expect(await s.tasks.eligibleAgents(studio, "rep")).toEqual([
        { agent: worker.address, reputation: 0.7 },
      ]);
      await step(operator, studio, "rep", "assign", { agent: worker.address });
    });
  });

  describe("deadlines and retries", () => {
    it("reads an overdue task as expired, expires it by tick, reopens it up to maxRetries", async () => {
      const studio = "list-b";
      const deadline = Math.floor(Date.now() / 1000) + 600;
      await create(studio, "late", { deadline, maxRetries: 1 });
      await step(operator, studio, "late", "assign", { agent: worker.address });
      offset = 3600;
      try {
        const overdue = await s.tasks.getTask(studio, "late");
        expect(overdue).toMatchObject({ state: "expired", overdue: true });
        await rejects(
          () =>
            s.tasks.start(studio, sign(worker, studio, "late", "start", {}, overdue.lastAction)),
          "STUDIO_TASK_EXPIRED",
        );
        const expired = await s.tasks.tick(operator);
        expect(expired).toContainEqual({ studio, task: "late" });
        const after = await s.tasks.getTask(studio, "late");
        expect(after).toMatchObject({ state: "expired", overdue: false });
        const last = (await s.tasks.history(studio, "late")).at(-1);
        expect(last).toMatchObject({
          transition: "expire",
          from: "assigned",
          actor: operator.address,
        });
        verifyReceipt(await h.engine.agency.getReceipt(last?.actionId as Hex), h.verifierKey);
        expect(await s.tasks.tick(operator)).not.toContainEqual({ studio, task: "late" });

        const newDeadline = Math.floor(Date.now() / 1000) + 7200;
        const reopened = await step(operator, studio, "late", "reopen", {
          deadline: newDeadline,
          reason: "more time",
        });
        expect(reopened.task).toMatchObject({ state: "open", retries: 1, assignee: null });
        await step(operator, studio, "late", "assign", { agent: worker.address });
        await step(worker, studio, "late", "fail", { reason: "cannot do it" });
        const failed = await s.tasks.getTask(studio, "late");
        expect(failed.state).toBe("failed");
        await rejects(
          () =>
            s.tasks.reopen(studio, sign(operator, studio, "late", "reopen", {}, failed.lastAction)),
          "STUDIO_RETRIES_EXHAUSTED",
        );
      } finally {
        offset = 0;
      }
    });
  });

  describe("attestation required", () => {
    it("accepts only an attested submission of the task's input, with an allowed measurement", async () => {
      const studio = await newStudio({
        id: "attested",
        rules: { attestationRequired: true, allowedMeasurements: [measurement] },
      });
      await create(studio.id, "run", { input: { n: 21 } });
      await step(operator, studio.id, "run", "assign", { agent: worker.address });
      await step(worker, studio.id, "run", "start", {});
      const task: Task = await s.tasks.getTask(studio.id, "run");
      // bound to the worker that submits (attestation.md §9)
      const nonce = agentBoundNonce(worker.address);
      const run = await executeAttested(CODE, task.input, {
        provider: tee,
        nonce,
        seed: "s",
        clock: 0,
      });
      const execution = {
        inputHash: run.result.inputHash,
        outputHash: run.result.outputHash,
        nonce,
        seed: "s",
        clock: 0,
      };
      const submit = (payload: TaskPayloads["submit"], attestation?: typeof run.quote) =>
        s.tasks.submit(
          studio.id,
          sign(
            worker,
            studio.id,
            "run",
            "submit",
            payload,
            task.lastAction,
            attestation === undefined ? {} : { attestation },
          ),
        );
      await rejects(() => submit({ result: run.result.output }), "STUDIO_ATTESTATION_REQUIRED");
      await rejects(
        () => submit({ result: { doubled: 43 }, execution }, run.quote),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      await rejects(
        () => submit({ result: run.result.output }, run.quote),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      const other = await executeAttested(OTHER_CODE, task.input, {
        provider: tee,
        nonce,
        seed: "s",
        clock: 0,
      });
      await rejects(
        () =>
          submit(
            {
              result: other.result.output,
              execution: { ...execution, outputHash: other.result.outputHash },
            },
            other.quote,
          ),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      const wrongInput = await executeAttested(
        CODE,
        { n: 5 },
        { provider: tee, nonce, seed: "s", clock: 0 },
      );
      await rejects(
        () =>
          submit(
            {
              result: wrongInput.result.output,
              execution: {
                ...execution,
                inputHash: wrongInput.result.inputHash,
                outputHash: wrongInput.result.outputHash,
              },
            },
            wrongInput.quote,
          ),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      // an untrusted TEE: the log refuses the quote
      const rogue = MockTeeProvider.create();
      const forged = await executeAttested(CODE, task.input, {
        provider: rogue,
        nonce,
        seed: "s",
        clock: 0,
      });
      await rejects(
        () => submit({ result: forged.result.output, execution }, forged.quote),
        "AGENCY_ATTESTATION_INVALID",
      );
      const ok = await submit({ result: run.result.output, execution }, run.quote);
      expect(ok.task.state).toBe("submitted");
      const receipt = await h.engine.agency.getReceipt(ok.actionId);
      expect(receipt.attestation).toEqual(run.quote);
      expect(
        verifyReceipt(receipt, h.verifierKey, {
          attestation: { trustedRoots: [tee.rootPublicKey], allowedMeasurements: [measurement] },
        }).actionId,
      ).toBe(ok.actionId);
    });
  });
});
