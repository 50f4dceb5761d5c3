/**
 * The Governance Studio (its parts: governance-context.ts, -proposals,
 * -simulation, -voting, -execution).
 * @module
 */
import type { Address, Hex } from "@chaoscore/core";
import type { SecureExecutionEnvironment } from "@chaoscore/sandbox";
import type { DaoState, GovernanceConfig, RecommendationJudgement, Tally } from "./dao.js";
import {
  daoOf,
  type GovernanceContext,
  getProposal,
  governanceStudio,
  type ProposalRecord,
  type VoteRecord,
} from "./governance-context.js";
import { evaluate, execute, judge, reward, rewardPlan } from "./governance-execution.js";
import { propose } from "./governance-proposals.js";
import {
  analysisTask,
  analysisTaskId,
  loadSimulationCode,
  simulate,
  simulationMeasurement,
} from "./governance-simulation.js";
import { computeTally, tally, vote, votes } from "./governance-voting.js";
import type { SignedTransition, Studio, Task, TaskPayloads } from "./model.js";
import type { StudioManager } from "./studio-manager.js";
import type { SignedOutcome, TaskOrchestrator, TransitionResult } from "./task-orchestrator.js";

export type { ProposalRecord, ProposalState, VoteRecord } from "./governance-context.js";
export {
  loadSimulationCode,
  SIMULATION_PATH,
  simulationMeasurement,
} from "./governance-simulation.js";

/** Options of {@link GovernanceStudio}. */
export type GovernanceStudioOptions = {
  db: GovernanceContext["db"];
  agency: GovernanceContext["agency"];
  registry: GovernanceContext["registry"];
  studios: StudioManager;
  tasks: TaskOrchestrator;
  /** The simulation code (default: this package's assets/governance/simulate.js). */
  simulationCode?: string;
  /** The sandbox (default: the process-wide one). */
  sandbox?: SecureExecutionEnvironment;
  now?: () => Date;
};

/** Inputs of {@link GovernanceStudio.createStudio}. */
export type CreateGovernanceStudioInput = {
  id?: string;
  name: string;
  operator: string;
  dao: DaoState;
  rewardPolicy: unknown;
  /** Default "agent". */
  voterRole?: string;
  /** Default true. */
  attestationRequired?: boolean;
  /** Default: the measurement of the simulation code. */
  allowedMeasurements?: Hex[];
  minReputation?: number;
};

/**
 * The Governance Studio: a studio kind (`governance`) whose tasks are the
 * analysis of DAO proposals. Per proposal: the operator proposes; each voter
 * agent gets an analysis task, simulates the proposal in the sandbox (attested)
 * and submits the result with its recommendation; agents vote
 * (`governance.vote`); the operator tallies and, when it passed, executes the
 * proposal on the mock DAO; the evaluator judges each recommendation (an
 * evaluate transition plus a signed outcome), which updates reputation; the
 * operator rewards the successful ones within the studio's budget.
 *
 * Each step method takes what its actor signed: the keys stay with the
 * clients (the CLI demo's client is packages/cli/src/commands/governance-demo.ts).
 * Each step is one database transaction: its checks are made again under the
 * row lock of what it changes (the proposal, the DAO), and its signed action
 * is recorded with its table update, so that every engine on the database is
 * serialised the same way and a refused or interrupted step leaves nothing.
 */
export class GovernanceStudio {
  readonly #ctx: GovernanceContext;
  readonly #sandbox: SecureExecutionEnvironment | undefined;
  #code: string | undefined;

  constructor(options: GovernanceStudioOptions) {
    this.#ctx = {
      db: options.db,
      agency: options.agency,
      registry: options.registry,
      studios: options.studios,
      tasks: options.tasks,
      now: options.now ?? (() => new Date()),
    };
    this.#sandbox = options.sandbox;
    this.#code = options.simulationCode;
  }

  /** The task orchestrator (for the task steps: assign, start, submit, …). */
  get tasks(): TaskOrchestrator {
    return this.#ctx.tasks;
  }

  /** The simulation code. */
  async simulationCode(): Promise<string> {
    this.#code ??= await loadSimulationCode();
    return this.#code;
  }

  /**
   * Creates a governance studio with its mock DAO. By default submissions
   * must be attested by the simulation code's measurement.
   * @throws ChaosCoreError as StudioManager.create.
   */
  async createStudio(input: CreateGovernanceStudioInput): Promise<Studio> {
    const attestationRequired = input.attestationRequired ?? true;
    const config: GovernanceConfig = {
      dao: input.dao,
      ...(input.voterRole === undefined ? {} : { voterRole: input.voterRole }),
    };
    const studio = await this.#ctx.studios.create({
      ...(input.id === undefined ? {} : { id: input.id }),
      kind: "governance",
      name: input.name,
      operator: input.operator,
      config,
      rules: {
        attestationRequired,
        ...(attestationRequired
          ? {
              allowedMeasurements: input.allowedMeasurements ?? [
                simulationMeasurement(await this.simulationCode()),
              ],
            }
          : {}),
        ...(input.minReputation === undefined ? {} : { minReputation: input.minReputation }),
      },
      rewardPolicy: input.rewardPolicy,
    });
    await daoOf(this.#ctx, studio);
    return studio;
  }

  /** The DAO's current state. @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_CONFIG_INVALID. */
  async dao(studioId: string): Promise<DaoState> {
    return (await daoOf(this.#ctx, await governanceStudio(this.#ctx, studioId))).state;
  }

  // ---- steps --------------------------------------------------------------------------------

  /**
   * Opens a proposal (the operator's signed `governance.propose`).
   * @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_CONFIG_INVALID (not a governance
   * studio), STUDIO_ARCHIVED, STUDIO_ENTRY_INVALID, STUDIO_PROPOSAL_INVALID,
   * STUDIO_NOT_MEMBER, STUDIO_ROLE_FORBIDDEN, AGENT_NOT_FOUND, AGENT_NOT_ACTIVE,
   * AGENCY_BAD_SIGNATURE, AGENCY_NONCE_NOT_INCREASING.
   */
  propose(studioId: string, signed: { entry: unknown; payload: unknown }): Promise<ProposalRecord> {
    return propose(this.#ctx, studioId, signed);
  }

  /**
   * The create payload of an agent's analysis task for a proposal: its input
   * is `{ dao, proposal }` (the DAO now), which the attested simulation binds.
   */
  analysisTask(studioId: string, proposalId: string): Promise<TaskPayloads["create"]> {
    return analysisTask(this.#ctx, studioId, proposalId);
  }

  /** The analysis task id of an agent for a proposal: `<proposal>/<agent>`. */
  analysisTaskId(proposalId: string, agent: string): string {
    return analysisTaskId(proposalId, agent);
  }

  /**
   * Runs the simulation of an analysis task in the sandbox and has it attested
   * (the agent's side): the result, the quote and the `execution` of the
   * submit payload.
   * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND, EXECUTION_*.
   */
  async simulate(
    studioId: string,
    taskId: string,
    options: Parameters<typeof simulate>[5],
  ): ReturnType<typeof simulate> {
    return simulate(
      this.#ctx,
      await this.simulationCode(),
      this.#sandbox,
      studioId,
      taskId,
      options,
    );
  }

  /**
   * Records a vote (the voter's signed `governance.vote`, parent = the
   * proposal's propose action).
   * @throws ChaosCoreError AGENT_NOT_FOUND (an unregistered voter), AGENT_NOT_ACTIVE
   * (a suspended or revoked voter), STUDIO_NOT_MEMBER, STUDIO_ROLE_FORBIDDEN (not
   * a voter), STUDIO_PROPOSAL_NOT_FOUND, STUDIO_VOTE_INVALID (voting closed, a
   * second vote, a bad choice), STUDIO_TRANSITION_INVALID (wrong parent),
   * STUDIO_ENTRY_INVALID, AGENCY_BAD_SIGNATURE, AGENCY_NONCE_NOT_INCREASING.
   */
  vote(studioId: string, signed: { entry: unknown; payload: unknown }): Promise<VoteRecord> {
    return vote(this.#ctx, studioId, signed);
  }

  /** The tally the operator must sign now (from the recorded votes). */
  computeTally(studioId: string, proposalId: string): Promise<Tally> {
    return computeTally(this.#ctx, studioId, proposalId);
  }

  /**
   * Closes the vote (the operator's signed `governance.tally`, parent = the
   * propose action, payload = {@link computeTally}). Allowed once the voting
   * period has ended or every voter has voted.
   * @throws ChaosCoreError STUDIO_TRANSITION_INVALID (not voting, or still open),
   * STUDIO_ENTRY_INVALID (a tally that is not the computed one), and as {@link vote}.
   */
  tally(studioId: string, signed: { entry: unknown; payload: unknown }): Promise<ProposalRecord> {
    return tally(this.#ctx, studioId, signed);
  }

  /**
   * Executes a passed proposal on the mock DAO (the operator's signed
   * `governance.execute`, parent = the tally action, payload = the DAO before
   * and after; a parameter change is applied, a grant leaves the treasury).
   * @throws ChaosCoreError STUDIO_TRANSITION_INVALID (not passed), STUDIO_ENTRY_INVALID
   * (the before/after states are not the DAO's), and as {@link vote}.
   */
  execute(studioId: string, signed: { entry: unknown; payload: unknown }): Promise<ProposalRecord> {
    return execute(this.#ctx, studioId, signed);
  }

  /**
   * How an analysis task's recommendation is judged (see `judgeRecommendation`):
   * what the evaluator signs. The proposal must be tallied (and executed, if it passed).
   * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND, STUDIO_PROPOSAL_NOT_FOUND,
   * STUDIO_TRANSITION_INVALID (not decided yet, or the task has no result).
   */
  judge(studioId: string, taskId: string): Promise<RecommendationJudgement> {
    return judge(this.#ctx, studioId, taskId);
  }

  /**
   * Evaluates an analysis task: the evaluator's evaluate transition (verdict
   * and score as {@link judge} says) with its signed outcome on the submit
   * action (metrics = the judgement's metrics); reputation is updated.
   * @throws ChaosCoreError STUDIO_ENTRY_INVALID (a verdict, score or metrics
   * other than the judgement's), and as {@link judge} and TaskOrchestrator.evaluate.
   */
  evaluate(
    studioId: string,
    signed: SignedTransition & { outcome: SignedOutcome },
  ): Promise<TransitionResult> {
    return evaluate(this.#ctx, studioId, signed);
  }

  /**
   * The rewards due for a proposal's evaluated analysis tasks under the
   * studio's policy: `fixed` pays its amount per success; `share` splits the
   * pool equally among the successes.
   */
  rewardPlan(
    studioId: string,
    proposalId: string,
  ): Promise<{ task: Task; agent: Address; amount: bigint }[]> {
    return rewardPlan(this.#ctx, studioId, proposalId);
  }

  /**
   * Rewards a proposal's successful tasks (the operator's signed reward
   * transitions). The total is checked against the remaining budget first:
   * over budget, nothing is paid or recorded.
   * @throws ChaosCoreError STUDIO_BUDGET_EXCEEDED, and as TaskOrchestrator.reward.
   */
  reward(studioId: string, signed: readonly SignedTransition[]): Promise<TransitionResult[]> {
    return reward(this.#ctx, studioId, signed);
  }

  // ---- reads --------------------------------------------------------------------------------

  /** A proposal. @throws ChaosCoreError STUDIO_PROPOSAL_NOT_FOUND. */
  getProposal(studioId: string, proposalId: string): Promise<ProposalRecord> {
    return getProposal(this.#ctx.db, studioId, proposalId);
  }

  /** The votes on a proposal, by agent. */
  votes(studioId: string, proposalId: string): Promise<VoteRecord[]> {
    return votes(this.#ctx.db, studioId, proposalId);
  }
}
