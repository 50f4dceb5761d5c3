import { randomBytes } from "node:crypto";
import type { RewardService } from "@chaoscore/anchoring";
import {
  type ErrorCode,
  type Hex,
  isChaosCoreError,
  privateKeyToAddress,
  verifyQuote,
  verifyReceipt,
} from "@chaoscore/core";
import { MockTeeProvider } from "@chaoscore/sandbox";
import {
  CHAIN_ID,
  FakeReputation,
  FakeRewards,
  openTestEngine,
  runGovernanceProposal,
  studioSnapshot,
  TEST_DB_KIND,
} from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEvaluation, signGovernanceAction, signTaskTransition } from "./client.js";
import { applyProposal, type DaoState, type Proposal } from "./dao.js";
import { loadSimulationCode, simulationMeasurement } from "./governance-studio.js";
import type { RewardPort } from "./model.js";
import { createStudios } from "./studios.js";

// The anchoring component's RewardService is a RewardPort as it is (the lead wires it).
const rewardServiceFits = (service: RewardService): RewardPort => service;
void rewardServiceFits;

type Harness = Awaited<ReturnType<typeof openTestEngine>>;
type Actor = Awaited<ReturnType<Harness["newAgent"]>>;

const DAO: DaoState = {
  treasury: 1_000_000,
  monthlyBurn: 20_000,
  parameters: { quorum: 0.5, votingPeriodSeconds: 3600, maxGrant: 200_000 },
  grantsPaid: 0,
};
const GRANT: Proposal = {
  id: "p1",
  title: "Fund the indexer team",
  kind: "grant",
  recipient: `0x${"ab".repeat(20)}`,
  amount: 100_000,
  purpose: "a year of indexer maintenance",
};

describe(`governance studio (${TEST_DB_KIND})`, () => {
  let h: Harness;
  let s: ReturnType<typeof createStudios>;
  const reputation = new FakeReputation();
  const rewards = new FakeRewards();
  const tee = MockTeeProvider.create();
  let operator: Actor;
  let evaluator: Actor;
  let agents: Actor[];
  let suspended: Actor;
  let stranger: Actor;
  const studio = "dao";

  beforeAll(async () => {
    h = await openTestEngine({
      attestation: { mode: "optional", trustedRoots: [tee.rootPublicKey] },
    });
    s = createStudios(h.engine, { reputation, rewards });
    operator = await h.newAgent(["governance"]);
    evaluator = await h.newAgent(["evaluation"]);
    agents = [
      await h.newAgent(["governance"]),
      await h.newAgent(["governance"]),
      await h.newAgent(["governance"]),
    ];
    suspended = await h.newAgent(["governance"]);
    stranger = await h.newAgent(["governance"]);
    await s.governance.createStudio({
      id: studio,
      name: "Mock DAO",
      operator: operator.address,
      dao: DAO,
      rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "100" },
    });
    await s.studios.addMember(studio, evaluator.address, ["evaluator"]);
    for (const a of agents) await s.studios.addMember(studio, a.address, ["agent"]);
  });
  afterAll(async () => h.close());

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

  it("simulates deterministically: the allowed measurement is the simulation's", async () => {
    const code = await loadSimulationCode();
    const dao = await s.studios.get(studio);
    expect(dao.rules).toEqual({
      attestationRequired: true,
      allowedMeasurements: [simulationMeasurement(code)],
    });
  });

  it("runs a grant proposal end to end: simulate, vote, tally, execute, evaluate, reward", async () => {
    const steps: string[] = [];
    const run = await runGovernanceProposal(s.governance, h.engine.agency, {
      studio,
      proposal: GRANT,
      operator,
      evaluator,
      agents: [agents[0]!, agents[1]!, { ...agents[2]!, vote: "against" }],
      provider: tee,
      onStep: (step) => steps.push(step),
    });
    expect(steps).toEqual([
      "propose",
      "tasks",
      "submit",
      "submit",
      "submit",
      "vote",
      "vote",
      "vote",
      "tally",
      "execute",
      "evaluate",
      "evaluate",
      "evaluate",
      "reward",
    ]);
    for (const a of run.agents) {
      expect(a.simulation).toEqual({
        treasuryAfter: 900_000,
        runwayMonths: 45,
        riskScore: 0,
        recommendation: "approve",
      });
    }
    expect(run.tally).toEqual({
      for: 2,
      against: 1,
      abstain: 0,
      voters: 3,
      quorumMet: true,
      passed: true,
    });
    expect(run.proposal.state).toBe("executed");
    expect(run.daoBefore).toEqual(DAO);
    expect(run.daoAfter).toEqual({ ...DAO, treasury: 900_000, grantsPaid: 100_000 });
    expect(await s.governance.dao(studio)).toEqual(run.daoAfter);

    // evaluation: every recommendation (approve) matched and the simulated treasury was right
    for (const a of run.agents) {
      expect(a.evaluation.verdict).toBe("success");
      expect(a.evaluation.metrics).toMatchObject({
        recommendationMatched: true,
        simulationMatched: true,
        actualTreasury: 900_000,
      });
      expect(a.reward).toMatchObject({ amount: "100" });
    }
    expect(reputation.applied.map((o) => [o.agent, o.status, o.value, o.dimension])).toEqual(
      agents.map((a) => [a.address, "success", 1, "studio:dao"]),
    );
    const byAgent = (a: [string, bigint], b: [string, bigint]) => a[0].localeCompare(b[0]);
    expect(rewards.paid.map((p): [string, bigint] => [p.agent, p.amount]).sort(byAgent)).toEqual(
      agents.map((a): [string, bigint] => [a.address, 100n]).sort(byAgent),
    );
    expect((await s.studios.get(studio)).spent).toBe("300");

    // every step is in the log; every receipt verifies; attestations verify under the TEE root
    expect(run.recorded).toHaveLength(1 + 3 * 4 + 3 + 2 + 3 * 2 + 3);
    for (const id of run.recorded) {
      const receipt = await h.engine.agency.getReceipt(id);
      const verified = verifyReceipt(receipt, h.verifierKey, {
        attestation: { trustedRoots: [tee.rootPublicKey] },
      });
      expect([verified.actionId, verified.outcomeId]).toContain(id);
      expect(receipt.action.entry.message.studio).toBe(studio);
      expect(receipt.action.entry.message.task.startsWith("p1")).toBe(true);
    }
    for (const a of run.agents) {
      const receipt = await h.engine.agency.getReceipt(a.submitAction);
      expect(receipt.attestation).toEqual(a.attestation);
      expect(receipt.outcome?.entry.message.status).toBe("success");
      verifyQuote(receipt.attestation, {
        trustedRoots: [tee.rootPublicKey],
        allowedMeasurements: [simulationMeasurement(await loadSimulationCode())],
        maxAgeSeconds: 3600,
        now: Math.floor(Date.now() / 1000),
      });
      expect(a.task.state).toBe("submitted");
      expect((await s.tasks.getTask(studio, a.task.id)).state).toBe("rewarded");
    }
    const votes = await s.governance.votes(studio, "p1");
    expect(votes.map((v) => v.choice).sort()).toEqual(["against", "for", "for"]);
  });

  it("applies a parameter change, and judges recommendations against a rejection", async () => {
    const quorum: Proposal = {
      id: "p2",
      title: "Raise the quorum",
      kind: "parameter",
      parameter: "quorum",
      value: 0.75,
    };
    const passed = await runGovernanceProposal(s.governance, h.engine.agency, {
      studio,
      proposal: quorum,
      operator,
      evaluator,
      agents: [agents[0]!, agents[1]!, agents[2]!],
      provider: tee,
    });
    expect(passed.proposal.state).toBe("executed");
    expect((await s.governance.dao(studio)).parameters.quorum).toBe(0.75);

    // Everyone recommends approving a small grant, but votes against: the
    // recommendations did not match the result — failures, no rewards.
    const spent = (await s.studios.get(studio)).spent;
    const rejected = await runGovernanceProposal(s.governance, h.engine.agency, {
      studio,
      proposal: { ...GRANT, id: "p3", amount: 10_000 },
      operator,
      evaluator,
      agents: agents.map((a) => ({ ...a, vote: "against" as const })),
      provider: tee,
    });
    expect(rejected.proposal.state).toBe("rejected");
    expect(rejected.daoAfter).toEqual(rejected.daoBefore);
    for (const a of rejected.agents) {
      expect(a.evaluation).toMatchObject({ verdict: "failure", score: 0 });
      expect(a.reward).toBeNull();
    }
    expect(reputation.applied.slice(-3).map((o) => o.status)).toEqual([
      "failure",
      "failure",
      "failure",
    ]);
    expect((await s.studios.get(studio)).spent).toBe((BigInt(spent) + 0n).toString());
  });

  describe("step by step: bad input is refused with a code and changes nothing", () => {
    const sign = (
      actor: Actor,
      action: "propose" | "vote" | "tally" | "execute",
      payload: unknown,
      previous: Hex | null = null,
    ) =>
      signGovernanceAction({
        privateKey: actor.privateKey,
        chainId: CHAIN_ID,
        nonce: actor.nextNonce(),
        studio,
        action,
        payload: payload as never,
        previous,
      });

    it("refuses an invalid governance config", async () => {
      await rejects(
        () =>
          s.governance.createStudio({
            id: "bad-dao",
            name: "Bad",
            operator: operator.address,
            dao: { ...DAO, parameters: { ...DAO.parameters, quorum: 0 } },
            rewardPolicy: { kind: "share", budget: "10", pool: "5" },
          }),
        "STUDIO_CONFIG_INVALID",
      );
      await rejects(
        () =>
          s.studios.create({
            id: "bad-dao",
            kind: "governance",
            name: "Bad",
            operator: operator.address,
            config: { dao: DAO, extra: true },
            rules: { attestationRequired: true },
            rewardPolicy: { kind: "share", budget: "10", pool: "5" },
          }),
        "STUDIO_CONFIG_INVALID",
      );
    });

    it("walks a proposal one step at a time and refuses every bad step", async () => {
      await s.studios.addMember(studio, suspended.address, ["agent"]);
      const dao = await s.governance.dao(studio);
      const endsAt = Math.floor(Date.now() / 1000) + 600;
      // proposals: over maxGrant, by a non-operator, from a stranger
      await rejects(
        () =>
          s.governance.propose(
            studio,
            sign(operator, "propose", {
              proposal: { ...GRANT, id: "big", amount: 500_000 },
              votingEndsAt: endsAt,
            }),
          ),
        "STUDIO_PROPOSAL_INVALID",
      );
      await rejects(
        () =>
          s.governance.propose(
            studio,
            sign(agents[0]!, "propose", { proposal: { ...GRANT, id: "p4" }, votingEndsAt: endsAt }),
          ),
        "STUDIO_ROLE_FORBIDDEN",
      );
      const proposal = await s.governance.propose(
        studio,
        sign(operator, "propose", {
          proposal: { ...GRANT, id: "p4", amount: 50_000 },
          votingEndsAt: endsAt,
        }),
      );
      expect(proposal.state).toBe("voting");
      await rejects(
        () =>
          s.governance.propose(
            studio,
            sign(operator, "propose", { proposal: { ...GRANT, id: "p4" }, votingEndsAt: endsAt }),
          ),
        "STUDIO_PROPOSAL_INVALID",
      );

      // one analysis task, for agents[0]
      const agent = agents[0]!;
      const taskId = s.governance.analysisTaskId("p4", agent.address);
      const create = await s.governance.analysisTask(studio, "p4");
      expect(create.input).toEqual({ dao, proposal: proposal.proposal });
      const tsign = <T extends Parameters<typeof signTaskTransition>[0]["transition"]>(
        actor: Actor,
        transition: T,
        payload: Parameters<typeof signTaskTransition<T>>[0]["payload"],
        previous: Hex | null,
        attestation?: Parameters<typeof signTaskTransition>[0]["attestation"],
      ) =>
        signTaskTransition({
          privateKey: actor.privateKey,
          chainId: CHAIN_ID,
          nonce: actor.nextNonce(),
          studio,
          task: taskId,
          transition,
          payload,
          previous,
          ...(attestation === undefined ? {} : { attestation }),
        });
      let task = (await s.tasks.createTask(studio, tsign(operator, "create", create, null))).task;
      task = (
        await s.tasks.assign(
          studio,
          tsign(operator, "assign", { agent: agent.address }, task.lastAction),
        )
      ).task;
      task = (await s.tasks.start(studio, tsign(agent, "start", {}, task.lastAction))).task;

      // a simulation without the required attestation; a result that is not a simulation
      const sim = await s.governance.simulate(studio, taskId, {
        provider: tee,
        agent: agent.address,
      });
      expect(sim.result.recommendation).toBe("approve");
      await rejects(
        () =>
          s.tasks.submit(studio, tsign(agent, "submit", { result: sim.result }, task.lastAction)),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      await rejects(
        () =>
          s.tasks.submit(
            studio,
            tsign(
              agent,
              "submit",
              { result: { yes: true }, execution: sim.execution },
              task.lastAction,
              sim.quote,
            ),
          ),
        "STUDIO_ENTRY_INVALID",
      );
      const submitted = await s.tasks.submit(
        studio,
        tsign(
          agent,
          "submit",
          { result: sim.result, execution: sim.execution },
          task.lastAction,
          sim.quote,
        ),
      );

      // votes: unregistered, suspended, not a member, not a voter, wrong parent, twice
      const ghostKey = Uint8Array.from(randomBytes(32));
      const ghost = {
        privateKey: ghostKey,
        address: privateKeyToAddress(ghostKey),
        nextNonce: (() => {
          let n = 0n;
          return () => ++n;
        })(),
      } as unknown as Actor;
      const vote = (actor: Actor, choice = "for", previous: Hex = proposal.actions.propose) =>
        sign(actor, "vote", { proposal: "p4", choice, reason: "ran the simulation" }, previous);
      await rejects(() => s.governance.vote(studio, vote(ghost)), "AGENT_NOT_FOUND");
      await h.engine.registry.suspend(suspended.address, "misbehaved");
      await rejects(() => s.governance.vote(studio, vote(suspended)), "AGENT_NOT_ACTIVE");
      await rejects(() => s.governance.vote(studio, vote(stranger)), "STUDIO_NOT_MEMBER");
      await rejects(() => s.governance.vote(studio, vote(evaluator)), "STUDIO_ROLE_FORBIDDEN");
      await rejects(() => s.governance.vote(studio, vote(agent, "maybe")), "STUDIO_VOTE_INVALID");
      await rejects(
        () => s.governance.vote(studio, vote(agent, "for", submitted.actionId)),
        "STUDIO_TRANSITION_INVALID",
      );
      await s.governance.vote(studio, vote(agent, "for"));
      await rejects(() => s.governance.vote(studio, vote(agent, "against")), "STUDIO_VOTE_INVALID");

      // tally: too early (not everyone voted, voting open), a wrong tally; execute before tally
      const early = await s.governance.computeTally(studio, "p4");
      expect(early).toMatchObject({ for: 1, voters: 4 });
      await rejects(
        () =>
          s.governance.tally(
            studio,
            sign(operator, "tally", { proposal: "p4", ...early }, proposal.actions.propose),
          ),
        "STUDIO_TRANSITION_INVALID",
      );
      await rejects(
        () =>
          s.governance.execute(
            studio,
            sign(
              operator,
              "execute",
              { proposal: "p4", before: dao, after: dao },
              proposal.actions.propose,
            ),
          ),
        "STUDIO_TRANSITION_INVALID",
      );
      // the suspended voter is reactivated and abstains; the last agent votes for
      await h.engine.registry.reactivate(suspended.address, "ok");
      await s.governance.vote(studio, vote(suspended, "abstain"));
      await s.governance.vote(studio, vote(agents[1]!, "for"));
      await s.governance.vote(studio, vote(agents[2]!, "against"));
      const final = await s.governance.computeTally(studio, "p4");
      expect(final).toEqual({
        for: 2,
        against: 1,
        abstain: 1,
        voters: 4,
        quorumMet: true,
        passed: true,
      });
      await rejects(
        () =>
          s.governance.tally(
            studio,
            sign(
              operator,
              "tally",
              { proposal: "p4", ...final, passed: false },
              proposal.actions.propose,
            ),
          ),
        "STUDIO_ENTRY_INVALID",
      );
      // evaluating before the proposal is decided
      const judgeEarly = () => s.governance.judge(studio, taskId);
      await rejects(judgeEarly, "STUDIO_TRANSITION_INVALID");
      const tallied = await s.governance.tally(
        studio,
        sign(operator, "tally", { proposal: "p4", ...final }, proposal.actions.propose),
      );
      expect(tallied.state).toBe("passed");
      // execute with a DAO state that is not the DAO's
      await rejects(
        () =>
          s.governance.execute(
            studio,
            sign(
              operator,
              "execute",
              { proposal: "p4", before: dao, after: { ...dao, treasury: 1 } },
              tallied.actions.tally as Hex,
            ),
          ),
        "STUDIO_ENTRY_INVALID",
      );
      const executed = await s.governance.execute(
        studio,
        sign(
          operator,
          "execute",
          { proposal: "p4", before: dao, after: applyProposal(dao, tallied.proposal) },
          tallied.actions.tally as Hex,
        ),
      );
      expect(executed.daoAfter?.treasury).toBe(dao.treasury - 50_000);

      // evaluation: the verdict must be the judgement
      const judgement = await s.governance.judge(studio, taskId);
      expect(judgement.verdict).toBe("success");
      task = await s.tasks.getTask(studio, taskId);
      const outcome = (status: "success" | "failure") =>
        signEvaluation({
          privateKey: evaluator.privateKey,
          chainId: CHAIN_ID,
          nonce: evaluator.nextNonce(),
          action: submitted.actionId,
          status,
          metrics: judgement.metrics,
        });
      await rejects(
        () =>
          s.governance.evaluate(studio, {
            ...tsign(evaluator, "evaluate", { verdict: "failure", score: 0 }, task.lastAction),
            outcome: outcome("failure"),
          }),
        "STUDIO_ENTRY_INVALID",
      );
      const o = outcome("success");
      await s.governance.evaluate(studio, {
        ...tsign(evaluator, "evaluate", { verdict: "success", score: 1 }, task.lastAction),
        outcome: o,
      });

      // a reward above the remaining budget: nothing paid
      const plan = await s.governance.rewardPlan(studio, "p4");
      expect(plan.map((p) => [p.agent, p.amount])).toEqual([[agent.address, 100n]]);
      await s.studios.configure(studio, {
        rewardPolicy: { kind: "fixed", budget: "650", amountPerSuccess: "100" },
      });
      const spent = BigInt((await s.studios.get(studio)).spent);
      expect(650n - spent).toBeLessThan(100n);
      task = await s.tasks.getTask(studio, taskId);
      await rejects(
        () =>
          s.governance.reward(studio, [
            tsign(operator, "reward", { payoutId: "dao:p4", amount: "100" }, task.lastAction),
          ]),
        "STUDIO_BUDGET_EXCEEDED",
      );
      await rejects(
        () =>
          s.tasks.reward(
            studio,
            tsign(operator, "reward", { payoutId: "dao:p4", amount: "100" }, task.lastAction),
          ),
        "STUDIO_BUDGET_EXCEEDED",
      );
      await s.studios.configure(studio, {
        rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "100" },
      });
      const [paid] = await s.governance.reward(studio, [
        tsign(operator, "reward", { payoutId: "dao:p4", amount: "100" }, task.lastAction),
      ]);
      expect(paid?.task.state).toBe("rewarded");
      expect(rewards.paid.at(-1)).toMatchObject({ payoutId: "dao:p4", agent: agent.address });
    });
  });
});
