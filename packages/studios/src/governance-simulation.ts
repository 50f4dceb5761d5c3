/**
 * The governance simulation: the code (an asset of this package), its
 * measurement, the analysis task of an agent for a proposal, and the
 * attested run of the simulation (the agent's side).
 * @module
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  type Address,
  type AttestationQuote,
  agentBoundNonce,
  computeMeasurement,
  type Hex,
  hashExecutionCode,
  type JsonValue,
} from "@chaoscore/core";
import type { AttestationProvider } from "@chaoscore/sandbox";
import {
  DEFAULT_EXECUTION_LIMITS,
  executeAttested,
  RUNTIME_IDENTITY,
  type SecureExecutionEnvironment,
} from "@chaoscore/sandbox";
import type { SimulationResult } from "./dao.js";
import {
  daoOf,
  type GovernanceContext,
  getProposal,
  governanceStudio,
  voterRole,
} from "./governance-context.js";
import type { TaskPayloads } from "./model.js";

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

/** The analysis task id of an agent for a proposal: `<proposal>/<agent>`. */
export function analysisTaskId(proposalId: string, agent: string): string {
  return `${proposalId}/${agent.toLowerCase()}`;
}

/** The create payload of an agent's analysis task (see GovernanceStudio.analysisTask). */
export async function analysisTask(
  ctx: GovernanceContext,
  studioId: string,
  proposalId: string,
): Promise<TaskPayloads["create"]> {
  const studio = await governanceStudio(ctx, studioId);
  const p = await getProposal(ctx.db, studioId, proposalId);
  const { state: dao } = await daoOf(ctx, studio);
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

/** Runs and attests the simulation of an analysis task (see GovernanceStudio.simulate). */
export async function simulate(
  ctx: Pick<GovernanceContext, "tasks">,
  code: string,
  sandbox: SecureExecutionEnvironment | undefined,
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
  const task = await ctx.tasks.getTask(studioId, taskId);
  const nonce =
    options.nonce ??
    (options.agent === undefined
      ? (`0x${randomBytes(32).toString("hex")}` as Hex)
      : agentBoundNonce(options.agent));
  const seed = options.seed ?? taskId;
  const clock = options.clock ?? 0;
  const run = await executeAttested(code, task.input, {
    provider: options.provider,
    nonce,
    seed,
    clock,
    ...(sandbox === undefined ? {} : { sandbox: sandbox }),
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
