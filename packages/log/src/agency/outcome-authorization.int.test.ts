/**
 * Issue 19 item 4: who may post an outcome. Before: any registered agent took
 * the one outcome slot of any action (a unique index on outcomes.action_id),
 * blocking the real evaluator and the studio's `evaluate`.
 */
import { type Hex, isChaosCoreError, signOutcome } from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, snapshot } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type H = Awaited<ReturnType<typeof openTestEngine>>;
type Agent = Awaited<ReturnType<H["newAgent"]>>;

function outcomeOf(h: H, judge: Agent, action: Hex, status: "success" | "failure" = "success") {
  return signOutcome({
    privateKey: judge.privateKey,
    chainId: CHAIN_ID,
    verifyingContract: h.engine.registry.domain.verifyingContract,
    action,
    status,
    nonce: judge.nextNonce(),
    metrics: { score: status === "success" ? 1 : 0 },
  });
}

async function refused(h: H, code: string, fn: () => Promise<unknown>) {
  const before = await snapshot(h.engine);
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(isChaosCoreError(error) ? error.code : String(error)).toBe(code);
  expect(await snapshot(h.engine)).toEqual(before);
}

/** A studio row with an operator and one evaluator member (as the studio component writes them). */
async function makeStudio(h: H, id: string, operator: Agent, evaluator: Agent) {
  await h.engine.db.query(
    `INSERT INTO studios (id, kind, name, operator, config, rules, reward_policy, status, version, created_at, updated_at)
     VALUES ($1, 'generic', $1, $2, '{}', '{}', '{}', 'active', 1, now(), now())`,
    [id, operator.address],
  );
  await h.engine.db.query(
    `INSERT INTO studio_members (studio_id, agent_id, roles, added_at) VALUES ($1, $2, $3, now())`,
    [id, evaluator.address, ["evaluator"]],
  );
}

describe("outcomes of a studio's actions", () => {
  let h: H;
  let worker: Agent;
  let operator: Agent;
  let evaluator: Agent;
  let stranger: Agent;
  beforeAll(async () => {
    h = await openTestEngine();
    [worker, operator, evaluator, stranger] = [
      await h.newAgent(),
      await h.newAgent(),
      await h.newAgent(),
      await h.newAgent(),
    ];
    await makeStudio(h, "s1", operator, evaluator);
  });
  afterAll(() => h.close());

  it("a stranger's outcome is refused (AGENCY_OUTCOME_NOT_AUTHORIZED) and stores nothing; the evaluator's is then accepted", async () => {
    const action = await h.engine.agency.recordAction(worker.action({ studio: "s1", task: "t1" }));
    await refused(h, "AGENCY_OUTCOME_NOT_AUTHORIZED", () =>
      h.engine.agency.recordOutcome(outcomeOf(h, stranger, action.id, "failure")),
    );
    // the acting agent does not judge its own studio work either
    await refused(h, "AGENCY_OUTCOME_NOT_AUTHORIZED", () =>
      h.engine.agency.recordOutcome(outcomeOf(h, worker, action.id)),
    );
    const judged = await h.engine.agency.recordOutcome(outcomeOf(h, evaluator, action.id));
    expect(judged.kind).toBe("outcome");
    const receipt = await h.engine.agency.getReceipt(action.id);
    expect(receipt.outcome?.entry.message.agent).toBe(evaluator.address);
  });

  it("the operator and the evaluator each post one outcome; a second from the same evaluator is AGENCY_OUTCOME_EXISTS", async () => {
    const action = await h.engine.agency.recordAction(worker.action({ studio: "s1", task: "t2" }));
    const first = await h.engine.agency.recordOutcome(outcomeOf(h, evaluator, action.id));
    const second = await h.engine.agency.recordOutcome(
      outcomeOf(h, operator, action.id, "failure"),
    );
    await refused(h, "AGENCY_OUTCOME_EXISTS", () =>
      h.engine.agency.recordOutcome(outcomeOf(h, evaluator, action.id, "failure")),
    );
    // the action's receipt carries the first outcome; an outcome id's receipt carries that outcome
    expect((await h.engine.agency.getReceipt(action.id)).outcome?.leafIndex).toBe(first.leafIndex);
    const byOutcome = await h.engine.agency.getReceipt(second.id);
    expect(byOutcome.action.entry.message.studio).toBe("s1");
    expect(byOutcome.outcome?.leafIndex).toBe(second.leafIndex);
    expect(byOutcome.outcome?.entry.message.agent).toBe(operator.address);
    // the list shows the action once, with its first outcome
    const listed = (await h.engine.agency.query({ agent: worker.address })).items.filter(
      (a) => a.id === action.id,
    );
    expect(listed.map((a) => a.outcomeId)).toEqual([first.id]);
  });

  it("an action and its outcome in the same batch follow the same rule", async () => {
    const signed = worker.action({ studio: "s1", task: "t3" });
    const { entryId } = await import("@chaoscore/core");
    const id = entryId(signed.entry);
    const [a, bad, good] = await Promise.allSettled([
      h.engine.agency.recordAction(signed),
      h.engine.agency.recordOutcome(outcomeOf(h, stranger, id)),
      h.engine.agency.recordOutcome(outcomeOf(h, evaluator, id)),
    ]);
    expect(a.status).toBe("fulfilled");
    expect(
      bad.status === "rejected" && isChaosCoreError(bad.reason) ? bad.reason.code : bad.status,
    ).toBe("AGENCY_OUTCOME_NOT_AUTHORIZED");
    expect(good.status).toBe("fulfilled");
  });
});

describe("outcomes of actions outside studios", () => {
  it("open policy (default): several evaluators each post one outcome, none blocks another", async () => {
    const h = await openTestEngine();
    try {
      const [agent, a, b] = [await h.newAgent(), await h.newAgent(), await h.newAgent()];
      const action = await h.engine.agency.recordAction(agent.action());
      await h.engine.agency.recordOutcome(outcomeOf(h, a, action.id, "failure"));
      await h.engine.agency.recordOutcome(outcomeOf(h, b, action.id));
      await h.engine.agency.recordOutcome(outcomeOf(h, agent, action.id));
      await refused(h, "AGENCY_OUTCOME_EXISTS", () =>
        h.engine.agency.recordOutcome(outcomeOf(h, a, action.id)),
      );
    } finally {
      await h.close();
    }
  });

  it("self policy: only the acting agent", async () => {
    const h = await openTestEngine({ outcomePolicy: "self" });
    try {
      const [agent, other] = [await h.newAgent(), await h.newAgent()];
      const action = await h.engine.agency.recordAction(agent.action());
      await refused(h, "AGENCY_OUTCOME_NOT_AUTHORIZED", () =>
        h.engine.agency.recordOutcome(outcomeOf(h, other, action.id)),
      );
      await h.engine.agency.recordOutcome(outcomeOf(h, agent, action.id));
    } finally {
      await h.close();
    }
  });
});
