/**
 * The studio integration tests' harness: an engine with fake reputation and
 * reward ports, a studio clock that tests can move, five agents, and helpers
 * to create studios and sign and apply task transitions.
 * @module
 */
import { type ErrorCode, type Hex, isChaosCoreError } from "@chaoscore/core";
import { executeAttested, MockTeeProvider } from "@chaoscore/sandbox";
import {
  CHAIN_ID,
  FakeReputation,
  FakeRewards,
  openTestEngine,
  studioSnapshot,
} from "@chaoscore/testkit";
import { expect } from "vitest";
import { signTaskTransition } from "../client.js";
import type { SignedTransition, TaskPayloads, TaskTransition } from "../model.js";
import { createStudios, type Studios } from "../studios.js";

export type Harness = Awaited<ReturnType<typeof openTestEngine>>;
export type Actor = Awaited<ReturnType<Harness["newAgent"]>>;

/** The code of an attested run (doubles its input's n), and another. */
export const CODE = "export default (input) => ({ doubled: input.n * 2 })";
export const OTHER_CODE = "export default (input) => ({ doubled: input.n * 3 })";

/** What {@link StudioHarness.open} opens. */
export type StudioState = {
  h: Harness;
  s: Studios;
  operator: Actor;
  evaluator: Actor;
  worker: Actor;
  outsider: Actor;
  unskilled: Actor;
  /** The measurement of {@link CODE}'s attested runs. */
  measurement: Hex;
};

/** The harness of one test file: `open()` in beforeAll, `close()` in afterAll. */
export function studioHarness() {
  const reputation = new FakeReputation();
  const rewards = new FakeRewards();
  const tee = MockTeeProvider.create();
  /** Seconds added to the studio clock (deadlines). */
  const clock = { offset: 0 };
  const x = {} as StudioState;

  async function open(): Promise<StudioState> {
    x.h = await openTestEngine({
      attestation: { mode: "optional", trustedRoots: [tee.rootPublicKey] },
    });
    x.s = createStudios(x.h.engine, {
      reputation,
      rewards,
      now: () => new Date(Date.now() + clock.offset * 1000),
    });
    x.operator = await x.h.newAgent(["ops"]);
    x.evaluator = await x.h.newAgent(["review"]);
    x.worker = await x.h.newAgent(["math", "governance"]);
    x.outsider = await x.h.newAgent(["math"]);
    x.unskilled = await x.h.newAgent(["cooking"]);
    x.measurement = (
      await executeAttested(CODE, { n: 1 }, { provider: tee, nonce: "0x01" })
    ).result.measurement;
    return x;
  }

  /** Runs `fn`, expects the code, and that no table (studio, log, nonces) changed. */
  async function rejects(fn: () => Promise<unknown>, code: ErrorCode) {
    const before = await studioSnapshot(x.h.engine);
    const paid = rewards.paid.length;
    const applied = reputation.applied.length;
    let caught: unknown;
    try {
      await fn();
    } catch (error) {
      caught = error;
    }
    expect(isChaosCoreError(caught) ? caught.code : String(caught)).toBe(code);
    expect(await studioSnapshot(x.h.engine)).toEqual(before);
    expect(rewards.paid.length).toBe(paid);
    expect(reputation.applied.length).toBe(applied);
  }

  async function newStudio(overrides: Record<string, unknown> = {}) {
    const studio = await x.s.studios.create({
      kind: "generic",
      name: "Arithmetic",
      operator: x.operator.address,
      config: { topic: "doubling" },
      rules: { attestationRequired: false },
      rewardPolicy: { kind: "fixed", budget: "25", amountPerSuccess: "10" },
      ...overrides,
    });
    await x.s.studios.addMember(studio.id, x.evaluator.address, ["evaluator"]);
    await x.s.studios.addMember(studio.id, x.worker.address, ["agent"]);
    await x.s.studios.addMember(studio.id, x.unskilled.address, ["agent"]);
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
      await x.s.tasks.createTask(
        studio,
        sign(x.operator, studio, task, "create", createPayload(over), null),
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
    const task = await x.s.tasks.getTask(studio, taskId);
    return x.s.tasks.transition(studio, {
      ...sign(actor, studio, taskId, transition, payload, task.lastAction),
      ...extra,
    });
  }

  /** Takes a created task through assign, start and submit. */
  async function toSubmitted(studio: string, taskId: string) {
    await step(x.operator, studio, taskId, "assign", { agent: x.worker.address });
    await step(x.worker, studio, taskId, "start", {});
    return step(x.worker, studio, taskId, "submit", { result: { doubled: 42 } });
  }

  return {
    reputation,
    rewards,
    tee,
    clock,
    open,
    close: () => x.h.close(),
    rejects,
    newStudio,
    sign,
    createPayload,
    create,
    step,
    toSubmitted,
  };
}
