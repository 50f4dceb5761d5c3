import { type Hex, verifyReceipt } from "@chaoscore/core";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Studios } from "./studios.js";
import { type Actor, type Harness, studioHarness } from "./test-support/studio-harness.js";

describe(`studio framework: dependencies, assignment, deadlines (${TEST_DB_KIND})`, () => {
  const t = studioHarness();
  const { reputation, rejects, sign, createPayload, create, step, toSubmitted, clock, newStudio } =
    t;
  let h: Harness;
  let s: Studios;
  let operator: Actor;
  let evaluator: Actor;
  let worker: Actor;

  beforeAll(async () => {
    ({ h, s, operator, evaluator, worker } = await t.open());
    for (const id of ["list-a", "list-b"]) await newStudio({ id });
  });
  afterAll(async () => t.close());

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
      clock.offset = 3600;
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
        clock.offset = 0;
      }
    });
  });
});
