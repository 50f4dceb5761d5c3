import { ChaosCoreError, signOutcome } from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, snapshot, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agencyWith, expectCode, type Harness } from "./test-support/agency-harness.js";

describe(`recording in the caller's transaction on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openTestEngine();
  });
  afterAll(() => h.close());

  it("records an action and its outcome with the caller's writes; a retry answers the first record", async () => {
    const agent = await h.newAgent();
    const evaluator = await h.newAgent(["evaluation"]);
    const action = agent.action({ payload: { n: 1 } });
    const first = await h.db.transaction(async (tx) => {
      const { results, commit } = await h.engine.agency.recordInTransaction(tx, [
        { kind: "action", ...action },
      ]);
      return { results, commit };
    });
    first.commit();
    const [recorded] = first.results;
    expect(recorded).toMatchObject({ kind: "action", duplicate: false });
    const outcome = signOutcome({
      privateKey: evaluator.privateKey,
      chainId: CHAIN_ID,
      action: recorded!.id,
      status: "success",
      nonce: evaluator.nextNonce(),
      result: { ok: true },
      metrics: { score: 1 },
    });
    const second = await h.db.transaction((tx) =>
      h.engine.agency.recordInTransaction(tx, [
        { kind: "action", ...action },
        { kind: "outcome", ...outcome },
      ]),
    );
    second.commit();
    // in the order of the items: the retried action answers its first record
    expect(second.results).toEqual([
      {
        id: recorded!.id,
        kind: "action",
        log: "default",
        leafIndex: recorded!.leafIndex,
        duplicate: true,
      },
      {
        id: expect.any(String),
        kind: "outcome",
        log: "default",
        leafIndex: expect.any(Number),
        duplicate: false,
      },
    ]);
    expect((await h.engine.agency.getAction(recorded!.id)).outcomeId).toBe(second.results[1]!.id);
  });

  it("a refused entry throws, and the caller's transaction writes nothing", async () => {
    const agent = await h.newAgent();
    const before = await snapshot(h.engine);
    const stale = agent.action();
    const fresh = agent.action();
    await expectCode(
      h.db.transaction((tx) =>
        // the second entry's nonce is not above the first's
        h.engine.agency.recordInTransaction(tx, [
          { kind: "action", ...fresh },
          { kind: "action", ...stale },
        ]),
      ),
      "AGENCY_NONCE_NOT_INCREASING",
    );
    expect(await snapshot(h.engine)).toEqual(before);
  });

  it("answers AGENCY_VERIFIER_UNAVAILABLE (retryable) when the verifier is down, as the queue does", async () => {
    const down = new ChaosCoreError("AGENCY_VERIFIER_UNAVAILABLE", "the verifier is down");
    const agency = agencyWith(h, {
      verifier: { recover: () => Promise.reject(down), close: async () => undefined },
    });
    try {
      const agent = await h.newAgent();
      const before = await snapshot(h.engine);
      await expectCode(agency.recordAction(agent.action()), "AGENCY_VERIFIER_UNAVAILABLE");
      await expectCode(
        h.db.transaction((tx) =>
          agency.recordInTransaction(tx, [{ kind: "action", ...agent.action() }]),
        ),
        "AGENCY_VERIFIER_UNAVAILABLE",
      );
      expect(await snapshot(h.engine)).toEqual(before);
    } finally {
      await agency.close();
    }
  });
});
