/**
 * Issue 19 item 15: a studio step used to commit the payout, the outcome and
 * the action before the task update, under a lock held in one process only —
 * two gateways on one database could both pay a task, and a crash between
 * the steps left orphan entries. Now: one transaction under the task row's
 * lock, and the payout claimed in the database before it is paid.
 */
import { generateNoteKey, type Hex } from "@chaoscore/core";
import { createEngine, type Engine } from "@chaoscore/engine";
import { CHAIN_ID, FakeRewards, openTestEngine } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEvaluation, signTaskTransition } from "./client.js";
import type { TaskPayloads, TaskTransition } from "./model.js";
import { createStudios, type Studios } from "./studios.js";
import { expectOneAccepted, settledCode } from "./test-support/concurrent-steps.js";

type H = Awaited<ReturnType<typeof openTestEngine>>;
type Actor = Awaited<ReturnType<H["newAgent"]>>;

let h: H;
let engineB: Engine;
let a: Studios; // "gateway A"
let b: Studios; // "gateway B": another engine on the same database
const rewards = new FakeRewards(); // the chain: idempotent per payout id
let operator: Actor;
let evaluator: Actor;
let worker: Actor;
let studio: string;

beforeAll(async () => {
  const origin = "chaoscore.test/log/two-engines";
  const log = { origin, ...generateNoteKey(origin) };
  h = await openTestEngine({ log });
  engineB = await createEngine({
    db: h.engine.db,
    chainId: CHAIN_ID,
    verifyingContract: h.engine.registry.domain.verifyingContract,
    log,
  });
  a = createStudios(h.engine, { rewards });
  b = createStudios(engineB, { rewards });
  operator = await h.newAgent(["ops"]);
  evaluator = await h.newAgent(["review"]);
  worker = await h.newAgent(["math"]);
  studio = (
    await a.studios.create({
      kind: "generic",
      name: "Two gateways",
      operator: operator.address,
      config: {},
      rules: { attestationRequired: false },
      rewardPolicy: { kind: "fixed", budget: "100", amountPerSuccess: "10" },
    })
  ).id;
  await a.studios.addMember(studio, evaluator.address, ["evaluator"]);
  await a.studios.addMember(studio, worker.address, ["agent"]);
});
afterAll(async () => {
  await engineB?.close();
  await h?.close();
});

function sign<T extends TaskTransition>(
  actor: Actor,
  task: string,
  transition: T,
  payload: TaskPayloads[T],
  previous: Hex | null,
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
  } as Parameters<typeof signTaskTransition<T>>[0]);
}

async function step<T extends TaskTransition>(
  actor: Actor,
  task: string,
  t: T,
  payload: TaskPayloads[T],
) {
  const last = (await a.tasks.getTask(studio, task)).lastAction;
  return a.tasks.transition(studio, sign(actor, task, t, payload, last));
}

/** A task taken to `submitted` through gateway A. */
async function submitted(task: string) {
  await a.tasks.createTask(
    studio,
    sign(
      operator,
      task,
      "create",
      {
        title: "Double",
        role: "agent",
        capabilities: ["math"],
        dependsOn: [],
        maxRetries: 1,
        input: { n: 21 },
      } as TaskPayloads["create"],
      null,
    ),
  );
  await step(operator, task, "assign", { agent: worker.address });
  await step(worker, task, "start", {});
  return step(worker, task, "submit", { result: { doubled: 42 } });
}

/** The evaluate transition of a submitted task, with the evaluator's outcome. */
async function evaluation(task: string) {
  const t = await a.tasks.getTask(studio, task);
  const outcome = signEvaluation({
    privateKey: evaluator.privateKey,
    chainId: CHAIN_ID,
    nonce: evaluator.nextNonce(),
    action: t.submitAction as Hex,
    status: "success",
    metrics: { correct: true },
  });
  return {
    ...sign(
      evaluator,
      task,
      "evaluate",
      { verdict: "success", score: 1, reason: "ok" },
      t.lastAction,
    ),
    outcome,
  };
}

async function counts(task: string) {
  const [r] = await h.engine.db.query<{
    actions: number;
    outcomes: number;
    spent: string;
    size: number;
  }>(
    `SELECT (SELECT count(*) FROM actions WHERE task = $2)::int AS actions,
            (SELECT count(*) FROM outcomes o JOIN actions x ON x.id = o.action_id WHERE x.task = $2)::int AS outcomes,
            (SELECT spent::text FROM studios WHERE id = $1) AS spent,
            (SELECT size FROM logs LIMIT 1)::int AS size`,
    [studio, task],
  );
  return r as { actions: number; outcomes: number; spent: string; size: number };
}

/** Expects `run` to fail with the simulated crash (somewhere in the error's causes). */
async function crashes(run: Promise<unknown>, message: string) {
  let error: unknown;
  try {
    await run;
  } catch (e) {
    error = e;
  }
  const messages: string[] = [];
  for (
    let e = error as { message?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    messages.push(String(e.message));
  }
  expect(messages.join(" / ")).toContain(message);
}

describe("two engines on one database", () => {
  it("two concurrent rewards of one task, one through each gateway, pay it once", async () => {
    await submitted("t1");
    await a.tasks.transition(studio, await evaluation("t1"));
    const last = (await a.tasks.getTask(studio, "t1")).lastAction;
    const viaA = sign(operator, "t1", "reward", { amount: "10", payoutId: "t1-a" }, last);
    const viaB = sign(operator, "t1", "reward", { amount: "10", payoutId: "t1-b" }, last);
    const spentBefore = (await counts("t1")).spent;
    const results = await Promise.allSettled([
      a.tasks.transition(studio, viaA),
      b.tasks.transition(studio, viaB),
    ]);
    expectOneAccepted(results, "STUDIO_TRANSITION_INVALID");
    expect(rewards.paid.filter((p) => p.payoutId.startsWith("t1-"))).toHaveLength(1);
    expect(BigInt((await counts("t1")).spent) - BigInt(spentBefore)).toBe(10n);
    expect((await a.tasks.getTask(studio, "t1")).state).toBe("rewarded");
  });

  it("two concurrent creates of one task id, one through each gateway: one task, one action", async () => {
    const payload = (title: string) =>
      ({
        title,
        role: "agent",
        capabilities: ["math"],
        dependsOn: [],
        maxRetries: 1,
        input: { n: 1 },
      }) as TaskPayloads["create"];
    const before = await counts("t0");
    const results = await Promise.allSettled([
      a.tasks.createTask(studio, sign(operator, "t0", "create", payload("via A"), null)),
      b.tasks.createTask(studio, sign(operator, "t0", "create", payload("via B"), null)),
    ]);
    // One wins; the other is refused for the task that exists (or for its older nonce).
    const kept = expectOneAccepted(results, "STUDIO_TASK_EXISTS");
    // The log holds the created task's action only: no orphan create.
    const after = await counts("t0");
    expect([after.actions - before.actions, after.size - before.size]).toEqual([1, 1]);
    expect((await a.tasks.getTask(studio, "t0")).title).toBe(kept === 0 ? "via A" : "via B");
  });

  it("a crash after the outcome and action are written, before the task update, leaves no orphan", async () => {
    await submitted("t2");
    const before = await counts("t2");
    const agency = engineB.agency;
    const original = agency.recordInTransaction.bind(agency);
    agency.recordInTransaction = async (tx, items) => {
      await original(tx, items);
      throw new Error("simulated crash between the log write and the task update");
    };
    const signed = await evaluation("t2");
    try {
      await crashes(b.tasks.transition(studio, signed), "simulated crash");
    } finally {
      agency.recordInTransaction = original;
    }
    // nothing of the step is kept: no outcome, no action, no leaf
    expect(await counts("t2")).toEqual(before);
    expect((await a.tasks.getTask(studio, "t2")).state).toBe("submitted");
    // the same signed step, retried, goes through once
    const done = await a.tasks.transition(studio, signed);
    expect(done.task.state).toBe("evaluated");
    const after = await counts("t2");
    expect([after.actions - before.actions, after.outcomes - before.outcomes]).toEqual([1, 1]);
  });

  it("a crash between paying and recording the reward: the retry pays nothing more, another payout is refused", async () => {
    await submitted("t3");
    await a.tasks.transition(studio, await evaluation("t3"));
    const last = (await a.tasks.getTask(studio, "t3")).lastAction;
    const reward = sign(operator, "t3", "reward", { amount: "10", payoutId: "t3-a" }, last);
    const before = await counts("t3");
    const agency = engineB.agency;
    const original = agency.recordInTransaction.bind(agency);
    agency.recordInTransaction = async () => {
      throw new Error("simulated crash after the payout");
    };
    try {
      await crashes(b.tasks.transition(studio, reward), "simulated crash");
    } finally {
      agency.recordInTransaction = original;
    }
    expect(rewards.paid.filter((p) => p.payoutId === "t3-a")).toHaveLength(1);
    expect(await counts("t3")).toEqual(before); // no orphan transition, nothing spent
    // another payout of the same task cannot start: the task's payout is claimed
    const other = sign(operator, "t3", "reward", { amount: "10", payoutId: "t3-b" }, last);
    const refused = await Promise.allSettled([a.tasks.transition(studio, other)]);
    expect(refused.map(settledCode)).toEqual(["STUDIO_TRANSITION_INVALID"]);
    // the retry of the claimed payout completes, without paying again
    const done = await a.tasks.transition(studio, reward);
    expect(done.task.state).toBe("rewarded");
    expect(rewards.paid.filter((p) => p.payoutId.startsWith("t3-"))).toHaveLength(1);
    expect(BigInt((await counts("t3")).spent) - BigInt(before.spent)).toBe(10n);
  });
});
