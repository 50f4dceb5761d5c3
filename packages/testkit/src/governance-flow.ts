import type { Address, AttestationQuote, Hex } from "@chaoscore/core";
import {
  applyProposal,
  type DaoState,
  type GovernanceStudio,
  type Proposal,
  type ProposalRecord,
  type RecommendationJudgement,
  type SignedTransition,
  type SimulationResult,
  type StudioActor,
  signEvaluation,
  signerAddress,
  signGovernanceAction,
  signTaskTransition,
  type Tally,
  type Task,
  type TaskPayloads,
  type TaskTransition,
  type TransitionResult,
  type VoteChoice,
  type VoteRecord,
} from "@chaoscore/studios";

/**
 * A governance client for tests: it holds every actor's key, signs each step
 * locally and calls the Governance Studio's step methods, as a client of the
 * engine would (the CLI demo's own client is packages/cli/src/commands/governance-demo.ts).
 */

/** A voter in {@link runGovernanceProposal}. */
export type GovernanceAgent = StudioActor & {
  /** Vote this way instead of following the agent's own recommendation. */
  vote?: VoteChoice;
};

/** Inputs of {@link runGovernanceProposal}. */
export type RunProposalInput = {
  studio: string;
  proposal: Proposal;
  /** Signs propose, task create/assign, tally, execute and reward. */
  operator: StudioActor;
  /** Signs the evaluations and outcomes. */
  evaluator: StudioActor;
  /** Voter members: each analyses (an attested simulation), recommends and votes. */
  agents: readonly GovernanceAgent[];
  /** The TEE that attests the simulations (its root must be trusted by the engine). */
  provider: Parameters<GovernanceStudio["simulate"]>[2]["provider"];
  /** Called after each step. */
  onStep?: (step: string, detail: Record<string, unknown>) => void;
};

/** What {@link runGovernanceProposal} did. */
export type RunProposalResult = {
  proposal: ProposalRecord;
  daoBefore: DaoState;
  daoAfter: DaoState;
  tally: Tally;
  agents: {
    agent: Address;
    task: Task;
    simulation: SimulationResult;
    submitAction: Hex;
    attestation: AttestationQuote;
    vote: VoteRecord;
    evaluation: RecommendationJudgement;
    outcomeId: Hex;
    reward: { amount: string; actionId: Hex; payout?: TransitionResult["payout"] } | null;
  }[];
  /** Every action and outcome recorded, in order. */
  recorded: Hex[];
};

/**
 * Runs one proposal through the whole flow: propose → per agent: create,
 * assign, start, simulate (attested), submit → votes → tally → execute (when
 * passed) → per agent: evaluate + outcome → rewards.
 */
export async function runGovernanceProposal(
  governance: GovernanceStudio,
  /** The deployment the client signs for (e.g. the engine's `agency`). */
  domain: { chainId: bigint; verifyingContract: Address },
  input: RunProposalInput,
): Promise<RunProposalResult> {
  const { studio, operator, evaluator, provider } = input;
  const tasks = governance.tasks;
  const recorded: Hex[] = [];
  const step = (name: string, detail: Record<string, unknown>) => input.onStep?.(name, detail);
  const daoBefore = await governance.dao(studio);
  const counters = new Map<string, bigint>();
  const nonce = async (actor: StudioActor): Promise<bigint> => {
    if (actor.nextNonce !== undefined) return BigInt(actor.nextNonce());
    const key = signerAddress(actor);
    const next = counters.get(key) ?? (await tasks.nextNonce(actor));
    counters.set(key, next + 1n);
    return next;
  };
  const base = async (actor: StudioActor) => ({
    privateKey: actor.privateKey,
    ...domain,
    nonce: await nonce(actor),
    ...(actor.agent === undefined ? {} : { agent: actor.agent }),
  });
  const transition = async <T extends TaskTransition>(
    actor: StudioActor,
    task: string,
    t: T,
    payload: TaskPayloads[T],
    attestation?: AttestationQuote,
  ) =>
    signTaskTransition({
      ...(await base(actor)),
      studio,
      task,
      transition: t,
      payload,
      previous: (await tasks.getTask(studio, task)).lastAction,
      ...(attestation === undefined ? {} : { attestation }),
    });

  let proposal = await governance.propose(
    studio,
    signGovernanceAction({
      ...(await base(operator)),
      studio,
      action: "propose",
      payload: {
        proposal: input.proposal,
        votingEndsAt: Math.floor(Date.now() / 1000) + daoBefore.parameters.votingPeriodSeconds,
      },
    }),
  );
  recorded.push(proposal.actions.propose);
  step("propose", { proposal: proposal.id, action: proposal.actions.propose });

  const create = await governance.analysisTask(studio, proposal.id);
  const creates: SignedTransition[] = [];
  for (const agent of input.agents) {
    creates.push(
      signTaskTransition({
        ...(await base(operator)),
        studio,
        task: governance.analysisTaskId(proposal.id, signerAddress(agent)),
        transition: "create",
        payload: create,
      }),
    );
  }
  for (const r of await tasks.createTasks(studio, creates)) recorded.push(r.actionId);
  step("tasks", { count: creates.length });

  const perAgent: Omit<
    RunProposalResult["agents"][number],
    "vote" | "evaluation" | "outcomeId" | "reward"
  >[] = [];
  for (const agent of input.agents) {
    const address = signerAddress(agent);
    const taskId = governance.analysisTaskId(proposal.id, address);
    const assigned = await tasks.assign(
      studio,
      await transition(operator, taskId, "assign", { agent: address }),
    );
    recorded.push(assigned.actionId);
    recorded.push(
      (await tasks.start(studio, await transition(agent, taskId, "start", {}))).actionId,
    );
    const sim = await governance.simulate(studio, taskId, {
      provider,
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
    step("submit", { agent: address, action: submitted.actionId });
    perAgent.push({
      agent: address,
      task: submitted.task,
      simulation: sim.result,
      submitAction: submitted.actionId,
      attestation: sim.quote,
    });
  }

  const votes: VoteRecord[] = [];
  for (const [i, agent] of input.agents.entries()) {
    const sim = perAgent[i]?.simulation as SimulationResult;
    const choice = agent.vote ?? (sim.recommendation === "approve" ? "for" : "against");
    const vote = await governance.vote(
      studio,
      signGovernanceAction({
        ...(await base(agent)),
        studio,
        action: "vote",
        payload: { proposal: proposal.id, choice, reason: `simulated risk ${sim.riskScore}` },
        previous: proposal.actions.propose,
      }),
    );
    votes.push(vote);
    recorded.push(vote.actionId);
    step("vote", { agent: vote.agent, choice: vote.choice, action: vote.actionId });
  }

  const tally = await governance.computeTally(studio, proposal.id);
  proposal = await governance.tally(
    studio,
    signGovernanceAction({
      ...(await base(operator)),
      studio,
      action: "tally",
      payload: { proposal: proposal.id, ...tally },
      previous: proposal.actions.propose,
    }),
  );
  recorded.push(proposal.actions.tally as Hex);
  step("tally", { passed: tally.passed });
  if (proposal.state === "passed") {
    const current = await governance.dao(studio);
    proposal = await governance.execute(
      studio,
      signGovernanceAction({
        ...(await base(operator)),
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
    step("execute", { treasury: proposal.daoAfter?.treasury });
  }

  const evaluations: { evaluation: RecommendationJudgement; outcomeId: Hex }[] = [];
  for (const a of perAgent) {
    const judgement = await governance.judge(studio, a.task.id);
    // The outcome is signed first (its nonce is the smaller one), then the transition.
    const outcome = signEvaluation({
      ...(await base(evaluator)),
      action: a.submitAction,
      status: judgement.verdict,
      metrics: judgement.metrics,
    });
    const signed = await transition(evaluator, a.task.id, "evaluate", {
      verdict: judgement.verdict,
      score: judgement.score,
      reason: `recommendation ${judgement.metrics.recommendation}`,
    });
    const evaluated = await governance.evaluate(studio, { ...signed, outcome });
    recorded.push(evaluated.outcomeId as Hex, evaluated.actionId);
    evaluations.push({ evaluation: judgement, outcomeId: evaluated.outcomeId as Hex });
    step("evaluate", { agent: a.agent, verdict: judgement.verdict });
  }
  const rewardsSigned: SignedTransition[] = [];
  for (const r of await governance.rewardPlan(studio, proposal.id)) {
    rewardsSigned.push(
      signTaskTransition({
        ...(await base(operator)),
        studio,
        task: r.task.id,
        transition: "reward",
        payload: { payoutId: `${studio}:${r.task.id}`, amount: r.amount.toString() },
        previous: r.task.lastAction,
      }),
    );
  }
  const rewarded = await governance.reward(studio, rewardsSigned);
  for (const r of rewarded) recorded.push(r.actionId);
  step("reward", { count: rewarded.length });

  return {
    proposal: await governance.getProposal(studio, proposal.id),
    daoBefore,
    daoAfter: await governance.dao(studio),
    tally,
    agents: perAgent.map((a, i) => {
      const paid = rewarded.find((r) => r.task.id === a.task.id);
      return {
        ...a,
        vote: votes[i] as VoteRecord,
        evaluation: evaluations[i]?.evaluation as RecommendationJudgement,
        outcomeId: evaluations[i]?.outcomeId as Hex,
        reward:
          paid === undefined
            ? null
            : {
                amount: paid.task.reward ?? "0",
                actionId: paid.actionId,
                ...(paid.payout === undefined ? {} : { payout: paid.payout }),
              },
      };
    }),
    recorded,
  };
}
