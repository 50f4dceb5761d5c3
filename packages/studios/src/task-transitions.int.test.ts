import { type Hex, signAction, verifyReceipt } from "@chaoscore/core";
import { CHAIN_ID, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEvaluation, signTaskTransition } from "./client.js";
import type { Studios } from "./studios.js";
import { type Actor, type Harness, studioHarness } from "./test-support/studio-harness.js";

describe(`studio framework: task state machine (${TEST_DB_KIND})`, () => {
  const t = studioHarness();
  const { reputation, rewards, rejects, sign, create, step, toSubmitted, newStudio } = t;
  let h: Harness;
  let s: Studios;
  let operator: Actor;
  let evaluator: Actor;
  let worker: Actor;
  let outsider: Actor;
  let unskilled: Actor;

  beforeAll(async () => {
    ({ h, s, operator, evaluator, worker, outsider, unskilled } = await t.open());
    // The studio the StudioManager tests leave configured (studio-manager.int.test.ts).
    await newStudio({ id: "arith-1", rules: { attestationRequired: false, minReputation: 0 } });
  });
  afterAll(async () => t.close());

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
});
