import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  type ActionEntry,
  type Address,
  type AttestationQuote,
  agentBoundNonce,
  canonicalJsonBytes,
  compileParser,
  computeMeasurement,
  entryId,
  fail,
  type Hex,
  hashExecutionCode,
  type JsonValue,
  parseEntry,
  SafeText,
  sha256Hex,
} from "@chaoscore/core";
import type { AgentRegistry, Db, ProofOfAgency } from "@chaoscore/log";
import type { AttestationProvider } from "@chaoscore/sandbox";
import {
  DEFAULT_EXECUTION_LIMITS,
  executeAttested,
  RUNTIME_IDENTITY,
  type SecureExecutionEnvironment,
} from "@chaoscore/sandbox";
import { Type } from "@sinclair/typebox";
import { type GovernanceAction, type GovernancePayloads, governanceActionType } from "./client.js";
import {
  applyProposal,
  assertProposalFits,
  type DaoState,
  DaoStateSchema,
  type GovernanceConfig,
  judgeRecommendation,
  type Proposal,
  ProposalSchema,
  parseProposal,
  type RecommendationJudgement,
  type SimulationResult,
  type Tally,
  tallyVotes,
  type VoteChoice,
} from "./dao.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { SignedTransition, Studio, Task, TaskPayloads } from "./model.js";
import { assertStudioPayload, parseStudioAction } from "./signed-entry.js";
import type { StudioManager } from "./studio-manager.js";
import {
  preverifyActions,
  type SignedOutcome,
  type TaskOrchestrator,
  type TransitionResult,
} from "./task-orchestrator.js";

/** The governance simulation: an asset of this package (`assets/governance/simulate.js`). */
export const SIMULATION_PATH = new URL("../assets/governance/simulate.js", import.meta.url);

/** Reads the governance simulation code. */
export async function loadSimulationCode(): Promise<string> {
  return readFile(SIMULATION_PATH, "utf8");
}

/**
 * The measurement of the simulation code under the default sandbox limits:
 * what a governance studio's `allowedMeasurements` holds.
 */
export function simulationMeasurement(code: string): Hex {
  return computeMeasurement({
    codeHash: hashExecutionCode(code),
    runtime: RUNTIME_IDENTITY,
    limits: DEFAULT_EXECUTION_LIMITS,
  });
}

/** The states of a proposal. */
export type ProposalState = "voting" | "passed" | "rejected" | "executed";

/** A proposal as the studio holds it. */
export type ProposalRecord = {
  studio: string;
  id: string;
  proposal: Proposal;
  state: ProposalState;
  /** Unix seconds. */
  votingEndsAt: number;
  tally: Tally | null;
  daoBefore: DaoState | null;
  daoAfter: DaoState | null;
  /** The signed actions of the proposal's steps. */
  actions: { propose: Hex; tally?: Hex; execute?: Hex };
  lastAction: Hex;
  createdAt: string;
  updatedAt: string;
};

/** A recorded vote. */
export type VoteRecord = {
  agent: Address;
  choice: VoteChoice;
  reason: string;
  actionId: Hex;
  at: string;
};

/** Options of {@link GovernanceStudio}. */
export type GovernanceStudioOptions = {
  db: Db;
  agency: Pick<ProofOfAgency, "recordAction" | "recordOutcome" | "chainId" | "verifyingContract">;
  registry: Pick<AgentRegistry, "get" | "signingState">;
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

const Choice = Type.Union([Type.Literal("for"), Type.Literal("against"), Type.Literal("abstain")]);
const ProposalRef = Type.String({ minLength: 1, maxLength: 64 });
const PAYLOAD_PARSERS = {
  propose: compileParser(
    Type.Object(
      { proposal: ProposalSchema, votingEndsAt: Type.Integer({ minimum: 0, maximum: 2 ** 40 }) },
      { additionalProperties: false },
    ),
    "STUDIO_PROPOSAL_INVALID",
    "the propose payload",
  ),
  vote: compileParser(
    Type.Object(
      { proposal: ProposalRef, choice: Choice, reason: SafeText({ maxLength: 1000 }) },
      { additionalProperties: false },
    ),
    "STUDIO_VOTE_INVALID",
    "the vote payload",
  ),
  tally: compileParser(
    Type.Object(
      {
        proposal: ProposalRef,
        for: Type.Integer({ minimum: 0 }),
        against: Type.Integer({ minimum: 0 }),
        abstain: Type.Integer({ minimum: 0 }),
        voters: Type.Integer({ minimum: 0 }),
        quorumMet: Type.Boolean(),
        passed: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    "STUDIO_ENTRY_INVALID",
    "the tally payload",
  ),
  execute: compileParser(
    Type.Object(
      { proposal: ProposalRef, before: DaoStateSchema, after: DaoStateSchema },
      { additionalProperties: false },
    ),
    "STUDIO_ENTRY_INVALID",
    "the execute payload",
  ),
} as const;

type ProposalRow = {
  studio_id: string;
  id: string;
  proposal: Proposal;
  state: ProposalState;
  voting_ends_at: string | number;
  tally: Tally | null;
  dao_before: DaoState | null;
  dao_after: DaoState | null;
  last_action: string;
  actions: ProposalRecord["actions"];
  created_at: Date | string;
  updated_at: Date | string;
};

const json = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;
const iso = (v: Date | string) => new Date(v).toISOString();
const same = (a: unknown, b: unknown) =>
  sha256Hex(canonicalJsonBytes(a)) === sha256Hex(canonicalJsonBytes(b));

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
 */
export class GovernanceStudio {
  readonly #db: Db;
  readonly #agency: GovernanceStudioOptions["agency"];
  readonly #registry: GovernanceStudioOptions["registry"];
  readonly #studios: StudioManager;
  readonly #tasks: TaskOrchestrator;
  readonly #sandbox: SecureExecutionEnvironment | undefined;
  readonly #now: () => Date;
  readonly #mutex = new KeyedMutex();
  #code: string | undefined;

  constructor(options: GovernanceStudioOptions) {
    this.#db = options.db;
    this.#agency = options.agency;
    this.#registry = options.registry;
    this.#studios = options.studios;
    this.#tasks = options.tasks;
    this.#sandbox = options.sandbox;
    this.#now = options.now ?? (() => new Date());
    this.#code = options.simulationCode;
  }

  /** The task orchestrator (for the task steps: assign, start, submit, …). */
  get tasks(): TaskOrchestrator {
    return this.#tasks;
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
    const studio = await this.#studios.create({
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
    await this.#dao(studio);
    return studio;
  }

  /** The DAO's current state. @throws ChaosCoreError STUDIO_NOT_FOUND, STUDIO_CONFIG_INVALID. */
  async dao(studioId: string): Promise<DaoState> {
    return (await this.#dao(await this.#governanceStudio(studioId))).state;
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
    return this.#mutex.run(studioId, async () => {
      const g = await this.#prepare(studioId, signed, "propose", ["operator"]);
      const payload = g.payload as GovernancePayloads["propose"];
      const proposal = parseProposal(payload.proposal);
      if (g.entry.message.task !== proposal.id || g.entry.message.parents.length > 0) {
        fail("STUDIO_ENTRY_INVALID", "a propose entry names the proposal as its task, no parents");
      }
      const existing = await this.#find(studioId, proposal.id);
      if (existing !== null) {
        if (existing.actions.propose === g.id) return existing;
        fail("STUDIO_PROPOSAL_INVALID", `proposal ${proposal.id} exists`, {
          proposal: proposal.id,
        });
      }
      const { state: dao } = await this.#dao(g.studio);
      assertProposalFits(dao, proposal);
      const now = this.#seconds();
      const latest = now + dao.parameters.votingPeriodSeconds + 300;
      if (payload.votingEndsAt <= now || payload.votingEndsAt > latest) {
        fail("STUDIO_PROPOSAL_INVALID", "votingEndsAt must be within the DAO's voting period", {
          votingEndsAt: payload.votingEndsAt,
          latest,
        });
      }
      await preverifyActions(this.#registry, [g.entry]);
      await this.#agency.recordAction({ entry: g.entry, payload });
      const at = this.#now();
      await this.#db.query(
        `INSERT INTO governance_proposals (studio_id, id, proposal, state, voting_ends_at,
                                           last_action, actions, created_at, updated_at)
         VALUES ($1, $2, $3::jsonb, 'voting', $4, decode($5, 'hex'), $6::jsonb, $7, $7)`,
        [
          studioId,
          proposal.id,
          JSON.stringify(proposal),
          payload.votingEndsAt,
          g.id.slice(2),
          JSON.stringify({ propose: g.id }),
          at,
        ],
      );
      return this.getProposal(studioId, proposal.id);
    });
  }

  /**
   * The create payload of an agent's analysis task for a proposal: its input
   * is `{ dao, proposal }` (the DAO now), which the attested simulation binds.
   */
  async analysisTask(studioId: string, proposalId: string): Promise<TaskPayloads["create"]> {
    const studio = await this.#governanceStudio(studioId);
    const p = await this.getProposal(studioId, proposalId);
    const { state: dao } = await this.#dao(studio);
    return {
      title: `Analyse and simulate proposal ${p.id}: ${p.proposal.title}`.slice(0, 200),
      role: voterRole(studio),
      capabilities: ["governance"],
      dependsOn: [],
      deadline: p.votingEndsAt,
      maxRetries: 1,
      input: { dao, proposal: p.proposal } as unknown as JsonValue,
    };
  }

  /** The analysis task id of an agent for a proposal: `<proposal>/<agent>`. */
  analysisTaskId(proposalId: string, agent: string): string {
    return `${proposalId}/${agent.toLowerCase()}`;
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
    options: {
      provider: AttestationProvider;
      seed?: string;
      clock?: number;
      nonce?: Hex;
      /** The agent that will submit the result: the nonce binds it (docs/spec/attestation.md §9). */
      agent?: Address;
    },
  ): Promise<{
    result: SimulationResult;
    quote: AttestationQuote;
    execution: NonNullable<TaskPayloads["submit"]["execution"]>;
  }> {
    const task = await this.#tasks.getTask(studioId, taskId);
    const nonce =
      options.nonce ??
      (options.agent === undefined
        ? (`0x${randomBytes(32).toString("hex")}` as Hex)
        : agentBoundNonce(options.agent));
    const seed = options.seed ?? taskId;
    const clock = options.clock ?? 0;
    const run = await executeAttested(await this.simulationCode(), task.input, {
      provider: options.provider,
      nonce,
      seed,
      clock,
      ...(this.#sandbox === undefined ? {} : { sandbox: this.#sandbox }),
    });
    return {
      result: run.result.output as SimulationResult,
      quote: run.quote,
      execution: {
        inputHash: run.result.inputHash,
        outputHash: run.result.outputHash,
        nonce,
        seed,
        clock,
      },
    };
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
    return this.#mutex.run(studioId, async () => {
      const studio = await this.#governanceStudio(studioId);
      const g = await this.#prepare(studioId, signed, "vote", [voterRole(studio)]);
      const payload = g.payload as GovernancePayloads["vote"];
      const p = await this.#proposalOf(g);
      const [prior] = await this.#db.query<{ action_id: string }>(
        `SELECT encode(action_id, 'hex') AS action_id FROM governance_votes
         WHERE studio_id = $1 AND proposal_id = $2 AND agent_id = $3`,
        [studioId, p.id, g.agent],
      );
      if (prior !== undefined) {
        if (`0x${prior.action_id}` === g.id) {
          return (await this.votes(studioId, p.id)).find((v) => v.agent === g.agent) as VoteRecord;
        }
        fail("STUDIO_VOTE_INVALID", `${g.agent} has already voted on ${p.id}`, { agent: g.agent });
      }
      if (p.state !== "voting" || this.#seconds() >= p.votingEndsAt) {
        fail("STUDIO_VOTE_INVALID", `voting on ${p.id} is closed`, { state: p.state });
      }
      this.#assertParent(g, p.actions.propose);
      await preverifyActions(this.#registry, [g.entry]);
      await this.#agency.recordAction({ entry: g.entry, payload });
      await this.#db.query(
        `INSERT INTO governance_votes (studio_id, proposal_id, agent_id, choice, reason, action_id, at)
         VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), $7)`,
        [studioId, p.id, g.agent, payload.choice, payload.reason, g.id.slice(2), this.#now()],
      );
      return (await this.votes(studioId, p.id)).find((v) => v.agent === g.agent) as VoteRecord;
    });
  }

  /** The tally the operator must sign now (from the recorded votes). */
  async computeTally(studioId: string, proposalId: string): Promise<Tally> {
    const studio = await this.#governanceStudio(studioId);
    const role = voterRole(studio);
    const voters = (await this.#studios.members(studioId)).filter((m) => m.roles.includes(role));
    const votes = await this.votes(studioId, proposalId);
    const { state: dao } = await this.#dao(studio);
    return tallyVotes(
      votes.map((v) => v.choice),
      voters.length,
      dao.parameters.quorum,
    );
  }

  /**
   * Closes the vote (the operator's signed `governance.tally`, parent = the
   * propose action, payload = {@link computeTally}). Allowed once the voting
   * period has ended or every voter has voted.
   * @throws ChaosCoreError STUDIO_TRANSITION_INVALID (not voting, or still open),
   * STUDIO_ENTRY_INVALID (a tally that is not the computed one), and as {@link vote}.
   */
  tally(studioId: string, signed: { entry: unknown; payload: unknown }): Promise<ProposalRecord> {
    return this.#mutex.run(studioId, async () => {
      const g = await this.#prepare(studioId, signed, "tally", ["operator"]);
      const p = await this.#proposalOf(g);
      if (p.state !== "voting") {
        fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} is ${p.state}, not voting`, {
          state: p.state,
        });
      }
      this.#assertParent(g, p.actions.propose);
      const expected = await this.computeTally(studioId, p.id);
      const cast = expected.for + expected.against + expected.abstain;
      if (this.#seconds() < p.votingEndsAt && cast < expected.voters) {
        fail("STUDIO_TRANSITION_INVALID", `voting on ${p.id} is still open`, {
          votingEndsAt: p.votingEndsAt,
          cast,
          voters: expected.voters,
        });
      }
      if (!same(g.payload, { proposal: p.id, ...expected })) {
        fail("STUDIO_ENTRY_INVALID", "the signed tally is not the tally of the votes", {
          expected,
        });
      }
      await preverifyActions(this.#registry, [g.entry]);
      await this.#agency.recordAction({ entry: g.entry, payload: g.payload });
      await this.#update(p, expected.passed ? "passed" : "rejected", g.id, "tally", {
        tally: expected,
      });
      return this.getProposal(studioId, p.id);
    });
  }

  /**
   * Executes a passed proposal on the mock DAO (the operator's signed
   * `governance.execute`, parent = the tally action, payload = the DAO before
   * and after; a parameter change is applied, a grant leaves the treasury).
   * @throws ChaosCoreError STUDIO_TRANSITION_INVALID (not passed), STUDIO_ENTRY_INVALID
   * (the before/after states are not the DAO's), and as {@link vote}.
   */
  execute(studioId: string, signed: { entry: unknown; payload: unknown }): Promise<ProposalRecord> {
    return this.#mutex.run(studioId, async () => {
      const g = await this.#prepare(studioId, signed, "execute", ["operator"]);
      const payload = g.payload as GovernancePayloads["execute"];
      const p = await this.#proposalOf(g);
      if (p.state !== "passed") {
        fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} is ${p.state}, not passed`, {
          state: p.state,
        });
      }
      this.#assertParent(g, p.actions.tally as Hex);
      const dao = await this.#dao(g.studio);
      assertProposalFits(dao.state, p.proposal);
      const after = applyProposal(dao.state, p.proposal);
      if (!same(payload.before, dao.state) || !same(payload.after, after)) {
        fail("STUDIO_ENTRY_INVALID", "the signed DAO states are not the DAO before and after", {
          before: dao.state,
          after,
        });
      }
      await preverifyActions(this.#registry, [g.entry]);
      await this.#agency.recordAction({ entry: g.entry, payload });
      await this.#db.transaction(async (tx) => {
        const rows = await tx.query(
          `UPDATE governance_daos SET state = $2::jsonb, version = version + 1, updated_at = $3
           WHERE studio_id = $1 AND version = $4 RETURNING version`,
          [studioId, JSON.stringify(after), this.#now(), dao.version],
        );
        if (rows.length === 0) fail("STUDIO_TRANSITION_INVALID", "the DAO changed concurrently");
        await this.#update(
          p,
          "executed",
          g.id,
          "execute",
          { daoBefore: dao.state, daoAfter: after },
          tx,
        );
      });
      return this.getProposal(studioId, p.id);
    });
  }

  /**
   * How an analysis task's recommendation is judged (see `judgeRecommendation`):
   * what the evaluator signs. The proposal must be tallied (and executed, if it passed).
   * @throws ChaosCoreError STUDIO_TASK_NOT_FOUND, STUDIO_PROPOSAL_NOT_FOUND,
   * STUDIO_TRANSITION_INVALID (not decided yet, or the task has no result).
   */
  async judge(studioId: string, taskId: string): Promise<RecommendationJudgement> {
    const task = await this.#tasks.getTask(studioId, taskId);
    const proposalId = taskId.slice(0, taskId.indexOf("/"));
    const p = await this.getProposal(studioId, proposalId);
    if (p.state === "voting" || p.state === "passed") {
      fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} is ${p.state}: tally and execute first`, {
        state: p.state,
      });
    }
    if (task.result === null) {
      fail("STUDIO_TRANSITION_INVALID", `task ${taskId} has no submitted result`);
    }
    return judgeRecommendation(
      task.result as SimulationResult,
      p.state === "executed",
      p.state === "executed" ? p.daoAfter : null,
    );
  }

  /**
   * Evaluates an analysis task: the evaluator's evaluate transition (verdict
   * and score as {@link judge} says) with its signed outcome on the submit
   * action (metrics = the judgement's metrics); reputation is updated.
   * @throws ChaosCoreError STUDIO_ENTRY_INVALID (a verdict, score or metrics
   * other than the judgement's), and as {@link judge} and TaskOrchestrator.evaluate.
   */
  async evaluate(
    studioId: string,
    signed: SignedTransition & { outcome: SignedOutcome },
  ): Promise<TransitionResult> {
    const taskId = taskOf(signed.entry);
    const judgement = await this.judge(studioId, taskId);
    const payload = signed.payload as Partial<TaskPayloads["evaluate"]> | undefined;
    if (
      payload?.verdict !== judgement.verdict ||
      payload.score !== judgement.score ||
      !same(signed.outcome?.metrics ?? null, judgement.metrics)
    ) {
      fail("STUDIO_ENTRY_INVALID", "the evaluation is not the judgement of the recommendation", {
        expected: judgement,
      });
    }
    return this.#tasks.evaluate(studioId, signed);
  }

  /**
   * The rewards due for a proposal's evaluated analysis tasks under the
   * studio's policy: `fixed` pays its amount per success; `share` splits the
   * pool equally among the successes.
   */
  async rewardPlan(
    studioId: string,
    proposalId: string,
  ): Promise<{ task: Task; agent: Address; amount: bigint }[]> {
    const studio = await this.#governanceStudio(studioId);
    const tasks = (await this.#proposalTasks(studioId, proposalId)).filter(
      (t) => t.state === "evaluated" && t.verdict === "success" && t.assignee !== null,
    );
    const policy = studio.rewardPolicy;
    return tasks
      .map((task) => ({
        task,
        agent: task.assignee as Address,
        amount:
          policy.kind === "fixed"
            ? BigInt(policy.perRole?.[task.role] ?? policy.amountPerSuccess)
            : BigInt(policy.pool) / BigInt(tasks.length),
      }))
      .filter((r) => r.amount > 0n);
  }

  /**
   * Rewards a proposal's successful tasks (the operator's signed reward
   * transitions). The total is checked against the remaining budget first:
   * over budget, nothing is paid or recorded.
   * @throws ChaosCoreError STUDIO_BUDGET_EXCEEDED, and as TaskOrchestrator.reward.
   */
  async reward(studioId: string, signed: readonly SignedTransition[]): Promise<TransitionResult[]> {
    const studio = await this.#governanceStudio(studioId);
    let total = 0n;
    for (const s of signed) {
      const amount = (s.payload as Partial<TaskPayloads["reward"]> | undefined)?.amount;
      if (typeof amount !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(amount)) {
        fail("STUDIO_ENTRY_INVALID", "a reward payload has a decimal amount");
      }
      total += BigInt(amount);
    }
    const remaining = BigInt(studio.rewardPolicy.budget) - BigInt(studio.spent);
    if (total > remaining) {
      fail(
        "STUDIO_BUDGET_EXCEEDED",
        `the rewards ${total} exceed the remaining budget ${remaining}`,
        {
          total: total.toString(),
          remaining: remaining.toString(),
        },
      );
    }
    const results: TransitionResult[] = [];
    for (const s of signed) results.push(await this.#tasks.reward(studioId, s));
    return results;
  }

  // ---- reads --------------------------------------------------------------------------------

  /** A proposal. @throws ChaosCoreError STUDIO_PROPOSAL_NOT_FOUND. */
  async getProposal(studioId: string, proposalId: string): Promise<ProposalRecord> {
    const p = await this.#find(studioId, proposalId);
    if (p === null) {
      fail("STUDIO_PROPOSAL_NOT_FOUND", `no proposal ${proposalId} in ${studioId}`, {
        proposal: proposalId,
      });
    }
    return p;
  }

  /** The votes on a proposal, by agent. */
  async votes(studioId: string, proposalId: string): Promise<VoteRecord[]> {
    const rows = await this.#db.query<{
      agent_id: string;
      choice: VoteChoice;
      reason: string;
      action_id: string;
      at: Date | string;
    }>(
      `SELECT agent_id, choice, reason, encode(action_id, 'hex') AS action_id, at FROM governance_votes
       WHERE studio_id = $1 AND proposal_id = $2 ORDER BY agent_id`,
      [studioId, proposalId],
    );
    return rows.map((r) => ({
      agent: r.agent_id as Address,
      choice: r.choice,
      reason: r.reason,
      actionId: `0x${r.action_id}` as Hex,
      at: iso(r.at),
    }));
  }

  // ---- internals ----------------------------------------------------------------------------

  async #governanceStudio(studioId: string): Promise<Studio> {
    const studio = await this.#studios.get(studioId);
    if (studio.kind !== "governance") {
      fail("STUDIO_CONFIG_INVALID", `studio ${studioId} is a ${studio.kind} studio`, {
        kind: studio.kind,
      });
    }
    return studio;
  }

  /** The DAO row (created from the studio's config on first use). */
  async #dao(studio: Studio): Promise<{ state: DaoState; version: number }> {
    const read = async () =>
      (
        await this.#db.query<{ state: DaoState; version: number }>(
          "SELECT state, version FROM governance_daos WHERE studio_id = $1",
          [studio.id],
        )
      )[0];
    let row = await read();
    if (row === undefined) {
      const config = studio.config as GovernanceConfig;
      await this.#db.query(
        `INSERT INTO governance_daos (studio_id, state, version, updated_at) VALUES ($1, $2::jsonb, 1, $3)
         ON CONFLICT (studio_id) DO NOTHING`,
        [studio.id, JSON.stringify(config.dao), this.#now()],
      );
      row = await read();
    }
    return { state: json<DaoState>(row?.state), version: Number(row?.version) };
  }

  async #prepare(
    studioId: string,
    signed: { entry: unknown; payload: unknown },
    action: GovernanceAction,
    roles: readonly string[],
  ) {
    const studio = await this.#governanceStudio(studioId);
    if (studio.status !== "active") fail("STUDIO_ARCHIVED", `studio ${studioId} is archived`);
    if (typeof signed !== "object" || signed === null) {
      fail("STUDIO_ENTRY_INVALID", "a governance step is { entry, payload }");
    }
    const entry = parseStudioAction(signed.entry);
    const m = entry.message;
    if (m.studio !== studioId || m.actionType !== governanceActionType(action)) {
      fail("STUDIO_ENTRY_INVALID", `expected ${governanceActionType(action)} in ${studioId}`, {
        studio: m.studio,
        actionType: m.actionType,
      });
    }
    assertStudioPayload(signed.payload, m.payloadHash);
    const payload = PAYLOAD_PARSERS[action](signed.payload);
    if (
      "proposal" in payload &&
      typeof payload.proposal === "string" &&
      payload.proposal !== m.task
    ) {
      fail("STUDIO_ENTRY_INVALID", "the entry's task must be the proposal id");
    }
    // The signer: registered and active, a member with one of `roles`.
    const record = await this.#registry.get(m.agent);
    if (record.identity.status !== "active") {
      fail("AGENT_NOT_ACTIVE", `agent ${m.agent} is ${record.identity.status}`, {
        agent: m.agent,
        status: record.identity.status,
      });
    }
    const memberRoles = await this.#studios.rolesOf(studioId, m.agent);
    if (memberRoles === null) {
      fail("STUDIO_NOT_MEMBER", `${m.agent} is not a member of ${studioId}`, { agent: m.agent });
    }
    if (!memberRoles.some((r) => roles.includes(r))) {
      fail("STUDIO_ROLE_FORBIDDEN", `${action} is signed by: ${roles.join(", ")}`, {
        agent: m.agent,
        roles: memberRoles,
      });
    }
    return { studio, entry, id: entryId(entry), agent: m.agent, payload };
  }

  async #proposalOf(g: { studio: Studio; entry: ActionEntry }): Promise<ProposalRecord> {
    return this.getProposal(g.studio.id, g.entry.message.task);
  }

  #assertParent(g: { entry: ActionEntry }, parent: Hex): void {
    const parents = g.entry.message.parents;
    if (parents.length !== 1 || parents[0] !== parent) {
      fail(
        "STUDIO_TRANSITION_INVALID",
        "the action's parent must be the proposal's previous step",
        {
          expected: parent,
          parents,
        },
      );
    }
  }

  async #update(
    p: ProposalRecord,
    state: ProposalState,
    actionId: Hex,
    step: "tally" | "execute",
    fields: { tally?: Tally; daoBefore?: DaoState; daoAfter?: DaoState },
    db: Db = this.#db,
  ): Promise<void> {
    const rows = await db.query(
      `UPDATE governance_proposals
       SET state = $3, last_action = decode($4, 'hex'), actions = $5::jsonb, updated_at = $6,
           tally = coalesce($7::jsonb, tally), dao_before = coalesce($8::jsonb, dao_before),
           dao_after = coalesce($9::jsonb, dao_after)
       WHERE studio_id = $1 AND id = $2 AND last_action = decode($10, 'hex') RETURNING id`,
      [
        p.studio,
        p.id,
        state,
        actionId.slice(2),
        JSON.stringify({ ...p.actions, [step]: actionId }),
        this.#now(),
        fields.tally === undefined ? null : JSON.stringify(fields.tally),
        fields.daoBefore === undefined ? null : JSON.stringify(fields.daoBefore),
        fields.daoAfter === undefined ? null : JSON.stringify(fields.daoAfter),
        p.lastAction.slice(2),
      ],
    );
    if (rows.length === 0)
      fail("STUDIO_TRANSITION_INVALID", `proposal ${p.id} moved on concurrently`);
  }

  async #find(studioId: string, proposalId: string): Promise<ProposalRecord | null> {
    if (typeof proposalId !== "string") return null;
    const [r] = await this.#db.query<ProposalRow>(
      `SELECT studio_id, id, proposal, state, voting_ends_at::text AS voting_ends_at, tally, dao_before,
              dao_after, encode(last_action, 'hex') AS last_action, actions, created_at, updated_at
       FROM governance_proposals WHERE studio_id = $1 AND id = $2`,
      [studioId, proposalId],
    );
    if (r === undefined) return null;
    return {
      studio: r.studio_id,
      id: r.id,
      proposal: json<Proposal>(r.proposal),
      state: r.state,
      votingEndsAt: Number(r.voting_ends_at),
      tally: r.tally === null ? null : json<Tally>(r.tally),
      daoBefore: r.dao_before === null ? null : json<DaoState>(r.dao_before),
      daoAfter: r.dao_after === null ? null : json<DaoState>(r.dao_after),
      actions: json<ProposalRecord["actions"]>(r.actions),
      lastAction: `0x${r.last_action}` as Hex,
      createdAt: iso(r.created_at),
      updatedAt: iso(r.updated_at),
    };
  }

  async #proposalTasks(studioId: string, proposalId: string): Promise<Task[]> {
    const rows = await this.#db.query<{ id: string }>(
      "SELECT id FROM studio_tasks WHERE studio_id = $1 AND id LIKE $2 ORDER BY id",
      [studioId, `${proposalId}/%`],
    );
    const tasks: Task[] = [];
    for (const r of rows) tasks.push(await this.#tasks.getTask(studioId, r.id));
    return tasks;
  }

  #seconds(): number {
    return Math.floor(this.#now().getTime() / 1000);
  }
}

function voterRole(studio: Studio): string {
  return (studio.config as GovernanceConfig).voterRole ?? "agent";
}

function taskOf(entry: unknown): string {
  try {
    const parsed = parseEntry(entry);
    if (parsed.kind === "action") return parsed.message.task;
  } catch {
    // reported below
  }
  return fail("STUDIO_ENTRY_INVALID", "the entry is not a signed action entry");
}
