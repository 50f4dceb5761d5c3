import { signOutcome } from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";
import { ReputationComputer } from "./index.js";
import type { Agent } from "./test-support/reputation-fixture.js";

describe(`reputation against a simple Sybil attack on ${TEST_DB_KIND}`, () => {
  it("100 fresh agents praising one agent move it little; the same praise from pre-trusted raters moves it a lot", async () => {
    const h = await openTestEngine();
    try {
      const operators = [await h.newAgent(["evaluation"]), await h.newAgent(["evaluation"])];
      const rep = new ReputationComputer({
        db: h.db,
        preTrusted: operators.map((o) => o.address),
      });
      const target = await h.newAgent();
      const honest = [await h.newAgent(), await h.newAgent(), await h.newAgent()];
      const evaluate = async (agent: Agent, evaluator: Agent, status: "success" | "failure") => {
        const action = await h.engine.agency.recordAction(agent.action({ studio: "gov" }));
        const outcome = await h.engine.agency.recordOutcome(
          signOutcome({
            privateKey: evaluator.privateKey,
            chainId: CHAIN_ID,
            action: action.id,
            status,
            nonce: evaluator.nextNonce(),
          }),
        );
        await rep.applyOutcome(outcome.id);
      };
      // An honest history: the target does well 4 times out of 8.
      for (let i = 0; i < 8; i++) {
        await evaluate(target, operators[i % 2] as Agent, i % 2 === 0 ? "success" : "failure");
      }
      for (const agent of honest) await evaluate(agent, operators[0] as Agent, "success");
      await rep.runEpoch();
      const before = (await rep.get(target.address)).value;

      // 100 fresh agents: each signs a success outcome of one of the target's
      // actions, gives it plain praise, and praises another Sybil.
      const sybils: Agent[] = [];
      for (let i = 0; i < 100; i++) sybils.push(await h.newAgent());
      for (const [i, sybil] of sybils.entries()) {
        await evaluate(target, sybil, "success");
        await rep.recordFeedback({ rater: sybil.address, subject: target.address, value: 1 });
        await rep.recordFeedback({
          rater: sybil.address,
          subject: (sybils[(i + 1) % 100] as Agent).address,
          value: 1,
        });
      }
      const epoch = await rep.runEpoch();
      const afterSybils = (await rep.get(target.address)).value;
      const sybilWeights = await h.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM reputation_trust WHERE epoch = $1 AND rater = ANY($2::text[])`,
        [epoch.epoch, sybils.map((s) => s.address)],
      );

      // The same praise, 100 successes, from pre-trusted raters.
      for (let i = 0; i < 100; i++) await evaluate(target, operators[i % 2] as Agent, "success");
      await rep.runEpoch();
      const afterOperators = (await rep.get(target.address)).value;

      console.log(
        `sybil: before ${before.toFixed(4)}, after 100 Sybils ${afterSybils.toFixed(4)}, after 100 pre-trusted ${afterOperators.toFixed(4)}`,
      );
      expect(before).toBeCloseTo(0.5, 2);
      expect(Math.abs(afterSybils - before)).toBeLessThan(0.05);
      expect(sybilWeights[0]?.n).toBe(0); // no Sybil has any trust
      expect(afterOperators - afterSybils).toBeGreaterThan(0.4);
      const explained = await rep.explain(target.address, "overall", { limit: 1000 });
      const sybilSet = new Set<string>(sybils.map((s) => s.address));
      expect(
        explained.items.filter((i) => sybilSet.has(i.rater)).every((i) => i.weight === 0),
      ).toBe(true);
    } finally {
      await h.close();
    }
  });
});
