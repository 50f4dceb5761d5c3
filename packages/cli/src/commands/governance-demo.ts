/**
 * The demo's governance client: the one proposal `chaoscore demo` runs
 * through the Governance Studio. Every key stays here, on the client side:
 * each step is signed locally and handed to the studio's step methods, as a
 * client of the engine would (`demo --gateway` does the same over HTTP with
 * the SDK, demo-gateway.ts). The engine only ever sees signed entries.
 * @module
 */
import type { Address, AttestationQuote, Hex } from "@chaoscore/core";
import type { MockTeeProvider } from "@chaoscore/sandbox";
import {
  applyProposal,
  type DaoState,
  type GovernanceStudio,
  type Proposal,
  type RecommendationJudgement,
  type StudioActor,
  signEvaluation,
  signerAddress,
  signGovernanceAction,
  signTaskTransition,
  type Tally,
  type TaskPayloads,
  type TaskTransition,
} from "@chaoscore/studios";

/** Inputs of {@link runGovernanceDemo}. */
export type GovernanceDemoInput = {
  studio: string;
  proposal: Proposal;
  /** The deployment every signature is bound to. */
  chainId: bigint;
  verifyingContract: Address;
  /** Signs propose, task create/assign, tally, execute and reward. */
  operator: Uint8Array;
  /** Signs the evaluation and its outcome. */
  evaluator: Uint8Array;
  /** The voter: analyses (an attested simulation), recommends and votes. */
  agent: Uint8Array;
  /** The TEE that attests the simulation (the engine trusts its root). */
  provider: MockTeeProvider;
  /** Called after each step (propose, tasks, submit, vote, tally, execute, evaluate, reward). */
  onStep?: (step: string) => void;
};

/** What {@link runGovernanceDemo} did. */
export type GovernanceDemoResult = {
  tally: Tally;
  daoBefore: DaoState;
  daoAfter: DaoState;
  /** The agent's submit action: the action of the demo's receipt. */
  submitAction: Hex;
  attestation: AttestationQuote;
  evaluation: RecommendationJudgement;
  /** The reward paid, or null (a failed recommendation earns nothing). */
  reward: { amount: string; actionId: Hex } | null;
  /** Every action and outcome recorded, in order. */
  recorded: Hex[];
};

/**
 * Runs one proposal: propose → the agent's analysis task (create, assign,
 * start, simulate attested, submit) → vote → tally → execute (when passed) →
 * evaluate + outcome (reputation) → reward (budget checked by the studio).
 * @throws ChaosCoreError the codes of each step.
 */
export async function runGovernanceDemo(
  governance: GovernanceStudio,
  input: GovernanceDemoInput,
): Promise<GovernanceDemoResult> {
  const { studio, chainId, verifyingContract } = input;
  const tasks = governance.tasks;
  const recorded: Hex[] = [];
  const step = (name: string) => input.onStep?.(name);
  const operator: StudioActor = { privateKey: input.operator };
  const evaluator: StudioActor = { privateKey: input.evaluator };
  const agent: StudioActor = { privateKey: input.agent };
  // Each key's nonces: the last one the log accepted plus one, then counted here.
  const counters = new Map<string, bigint>();
  const signer = async (actor: StudioActor) => {
    const key = signerAddress(actor);
    const nonce = counters.get(key) ?? (await tasks.nextNonce(actor));
    counters.set(key, nonce + 1n);
    return { privateKey: actor.privateKey, chainId, verifyingContract, nonce };
  };
  const transition = async <T extends TaskTransition>(
    actor: StudioActor,
    task: string,
    t: T,
    payload: TaskPayloads[T],
    attestation?: AttestationQuote,
  ) =>
    signTaskTransition({
      ...(await signer(actor)),
      studio,
      task,
      transition: t,
      payload,
      previous: (await tasks.getTask(studio, task)).lastAction,
      ...(attestation === undefined ? {} : { attestation }),
    });

  // propose
  const daoBefore = await governance.dao(studio);
  let proposal = await governance.propose(
    studio,
    signGovernanceAction({
      ...(await signer(operator)),
      studio,
      action: "propose",
      payload: {
        proposal: input.proposal,
        votingEndsAt: Math.floor(Date.now() / 1000) + daoBefore.parameters.votingPeriodSeconds,
      },
    }),
  );
  recorded.push(proposal.actions.propose);
  step("propose");

  // the agent's analysis task: the operator creates and assigns it
  const address = signerAddress(agent);
  const taskId = governance.analysisTaskId(proposal.id, address);
  const [created] = await tasks.createTasks(studio, [
    signTaskTransition({
      ...(await signer(operator)),
      studio,
      task: taskId,
      transition: "create",
      payload: await governance.analysisTask(studio, proposal.id),
    }),
  ]);
  recorded.push(created?.actionId as Hex);
  recorded.push(
    (await tasks.assign(studio, await transition(operator, taskId, "assign", { agent: address })))
      .actionId,
  );
  step("tasks");

  // the agent starts it, runs the simulation (attested) and submits it with the quote
  recorded.push((await tasks.start(studio, await transition(agent, taskId, "start", {}))).actionId);
  const sim = await governance.simulate(studio, taskId, {
    provider: input.provider,
    agent: address,
    seed: proposal.id,
  });
  const submitted = await tasks.submit(
    studio,
    await transition(
      agent,
      taskId,
      "submit",
      { result: sim.result, execution: sim.execution },
      sim.quote,
    ),
  );
  recorded.push(submitted.actionId);
  step("submit");

  // the agent votes as it recommends
  const vote = await governance.vote(
    studio,
    signGovernanceAction({
      ...(await signer(agent)),
      studio,
      action: "vote",
      payload: {
        proposal: proposal.id,
        choice: sim.result.recommendation === "approve" ? "for" : "against",
        reason: `simulated: treasury ${sim.result.treasuryAfter}, runway ${sim.result.runwayMonths} months, risk ${sim.result.riskScore}`,
      },
      previous: proposal.actions.propose,
    }),
  );
  recorded.push(vote.actionId);
  step("vote");

  // the operator tallies and, when it passed, executes
  const tally = await governance.computeTally(studio, proposal.id);
  proposal = await governance.tally(
    studio,
    signGovernanceAction({
      ...(await signer(operator)),
      studio,
      action: "tally",
      payload: { proposal: proposal.id, ...tally },
      previous: proposal.actions.propose,
    }),
  );
  recorded.push(proposal.actions.tally as Hex);
  step("tally");
  if (proposal.state === "passed") {
    const current = await governance.dao(studio);
    proposal = await governance.execute(
      studio,
      signGovernanceAction({
        ...(await signer(operator)),
        studio,
        action: "execute",
        payload: {
          proposal: proposal.id,
          before: current,
          after: applyProposal(current, proposal.proposal),
        },
        previous: proposal.actions.tally as Hex,
      }),
    );
    recorded.push(proposal.actions.execute as Hex);
    step("execute");
  }

  // the evaluator judges the recommendation: the outcome (the smaller nonce), then the transition
  const judgement = await governance.judge(studio, taskId);
  const outcome = signEvaluation({
    ...(await signer(evaluator)),
    action: submitted.actionId,
    status: judgement.verdict,
    metrics: judgement.metrics,
  });
  const evaluate = await transition(evaluator, taskId, "evaluate", {
    verdict: judgement.verdict,
    score: judgement.score,
    reason: `recommendation ${judgement.metrics.recommendation}, proposal ${judgement.metrics.result}`,
  });
  const evaluated = await governance.evaluate(studio, { ...evaluate, outcome });
  recorded.push(evaluated.outcomeId as Hex, evaluated.actionId);
  step("evaluate");

  // the operator rewards what the studio's policy says is due
  const rewards = [];
  for (const r of await governance.rewardPlan(studio, proposal.id)) {
    rewards.push(
      signTaskTransition({
        ...(await signer(operator)),
        studio,
        task: r.task.id,
        transition: "reward",
        payload: { payoutId: `${studio}:${r.task.id}`, amount: r.amount.toString() },
        previous: r.task.lastAction,
      }),
    );
  }
  const rewarded = await governance.reward(studio, rewards);
  for (const r of rewarded) recorded.push(r.actionId);
  step("reward");

  const paid = rewarded.find((r) => r.task.id === taskId);
  return {
    tally,
    daoBefore,
    daoAfter: await governance.dao(studio),
    submitAction: submitted.actionId,
    attestation: sim.quote,
    evaluation: judgement,
    reward:
      paid === undefined ? null : { amount: paid.task.reward ?? "0", actionId: paid.actionId },
    recorded,
  };
}
