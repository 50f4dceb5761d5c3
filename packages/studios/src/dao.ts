import { AddressHex, compileParser, fail, SafeText } from "@chaoscore/core";
import { type Static, Type } from "@sinclair/typebox";
import { type StudioKind, TASK_ID_PATTERN } from "./model.js";

/**
 * The mock DAO of the Governance Studio: a treasury, a monthly burn and a few
 * governance parameters, changed only by executed proposals. Amounts are whole
 * tokens (safe integers) so the sandboxed simulation computes with them exactly.
 */

const Tokens = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const DaoParametersSchema = Type.Object(
  {
    /** Fraction (0..1] of the studio's voters who must vote for a tally to count. */
    quorum: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    /** How long a proposal is open for votes. */
    votingPeriodSeconds: Type.Integer({ minimum: 60, maximum: 365 * 24 * 3600 }),
    /** The largest grant a proposal may ask for. */
    maxGrant: Tokens,
  },
  { additionalProperties: false },
);

export const DaoStateSchema = Type.Object(
  {
    treasury: Tokens,
    monthlyBurn: Tokens,
    parameters: DaoParametersSchema,
    /** Tokens granted by executed proposals so far. */
    grantsPaid: Tokens,
  },
  { additionalProperties: false },
);
export type DaoState = Static<typeof DaoStateSchema>;
export type DaoParameter = "quorum" | "votingPeriodSeconds" | "maxGrant" | "monthlyBurn";

const ProposalId = Type.String({ pattern: TASK_ID_PATTERN, maxLength: 64 });

/** A proposal: change a parameter, or fund a grant from the treasury. */
export const ProposalSchema = Type.Union([
  Type.Object(
    {
      id: ProposalId,
      title: SafeText({ minLength: 1, maxLength: 200 }),
      kind: Type.Literal("parameter"),
      parameter: Type.Union([
        Type.Literal("quorum"),
        Type.Literal("votingPeriodSeconds"),
        Type.Literal("maxGrant"),
        Type.Literal("monthlyBurn"),
      ]),
      value: Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      id: ProposalId,
      title: SafeText({ minLength: 1, maxLength: 200 }),
      kind: Type.Literal("grant"),
      recipient: AddressHex,
      amount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
      purpose: Type.Optional(SafeText({ maxLength: 1000 })),
    },
    { additionalProperties: false },
  ),
]);
export type Proposal = Static<typeof ProposalSchema>;

/** The config of a governance studio: the DAO's initial state and who votes. */
export const GovernanceConfigSchema = Type.Object(
  {
    dao: DaoStateSchema,
    /** The member role that analyses, recommends and votes (default "agent"). */
    voterRole: Type.Optional(Type.String({ pattern: "^[a-z][a-z0-9_-]{0,31}$" })),
  },
  { additionalProperties: false },
);
export type GovernanceConfig = Static<typeof GovernanceConfigSchema>;

/** What the governance simulation (`assets/governance/simulate.js`) returns. */
export const SimulationResultSchema = Type.Object(
  {
    treasuryAfter: Type.Number(),
    runwayMonths: Type.Number(),
    riskScore: Type.Number({ minimum: 0, maximum: 1 }),
    recommendation: Type.Union([Type.Literal("approve"), Type.Literal("reject")]),
  },
  { additionalProperties: false },
);
export type SimulationResult = Static<typeof SimulationResultSchema>;

const checkSimulation = compileParser(SimulationResultSchema, "STUDIO_ENTRY_INVALID", "result");

/** The `governance` studio kind. */
export const GOVERNANCE_KIND: StudioKind = {
  kind: "governance",
  configSchema: GovernanceConfigSchema,
  validateResult: (result) => {
    try {
      checkSimulation(result);
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  },
};

/** Parses a proposal. @throws ChaosCoreError STUDIO_PROPOSAL_INVALID. */
export const parseProposal = compileParser(ProposalSchema, "STUDIO_PROPOSAL_INVALID", "proposal");

/**
 * Checks a proposal against the DAO's limits: a grant at most `maxGrant` and
 * the treasury; a parameter value within the parameter's range.
 * @throws ChaosCoreError STUDIO_PROPOSAL_INVALID.
 */
export function assertProposalFits(dao: DaoState, proposal: Proposal): void {
  if (proposal.kind === "grant") {
    if (proposal.amount > dao.parameters.maxGrant) {
      fail("STUDIO_PROPOSAL_INVALID", "the grant exceeds the DAO's maxGrant", {
        amount: proposal.amount,
        maxGrant: dao.parameters.maxGrant,
      });
    }
    if (proposal.amount > dao.treasury) {
      fail("STUDIO_PROPOSAL_INVALID", "the grant exceeds the treasury", {
        amount: proposal.amount,
        treasury: dao.treasury,
      });
    }
    return;
  }
  const { parameter, value } = proposal;
  const ok =
    parameter === "quorum"
      ? value > 0 && value <= 1
      : parameter === "votingPeriodSeconds"
        ? Number.isInteger(value) && value >= 60 && value <= 365 * 24 * 3600
        : Number.isSafeInteger(value) && value >= 0;
  if (!ok) {
    fail("STUDIO_PROPOSAL_INVALID", `${parameter} cannot be set to ${value}`, { parameter, value });
  }
}

/** The DAO after executing `proposal` (a pure function: the simulation must predict it). */
export function applyProposal(dao: DaoState, proposal: Proposal): DaoState {
  if (proposal.kind === "grant") {
    return {
      ...dao,
      treasury: dao.treasury - proposal.amount,
      grantsPaid: dao.grantsPaid + proposal.amount,
    };
  }
  if (proposal.parameter === "monthlyBurn") return { ...dao, monthlyBurn: proposal.value };
  return { ...dao, parameters: { ...dao.parameters, [proposal.parameter]: proposal.value } };
}

/** A vote's choice. */
export type VoteChoice = "for" | "against" | "abstain";

/** The tally of a proposal. */
export type Tally = {
  for: number;
  against: number;
  abstain: number;
  /** Members with the voter role when tallied. */
  voters: number;
  quorumMet: boolean;
  passed: boolean;
};

/** Tallies votes: the quorum counts every vote; a proposal passes with more for than against. */
export function tallyVotes(choices: readonly VoteChoice[], voters: number, quorum: number): Tally {
  const count = (c: VoteChoice) => choices.filter((x) => x === c).length;
  const t = { for: count("for"), against: count("against"), abstain: count("abstain") };
  const quorumMet = voters > 0 && choices.length >= Math.ceil(quorum * voters);
  return { ...t, voters, quorumMet, passed: quorumMet && t.for > t.against };
}

/** The evaluation of one agent's recommendation. */
export type RecommendationJudgement = {
  verdict: "success" | "failure" | "partial";
  score: number;
  metrics: {
    recommendation: "approve" | "reject";
    result: "passed" | "rejected";
    recommendationMatched: boolean;
    predictedTreasury: number;
    actualTreasury: number | null;
    simulationMatched: boolean | null;
  };
};

/**
 * Judges a recommendation against what happened:
 * - `success`: the recommendation matched the tally (approve ⇔ passed) and,
 *   for an executed proposal, the simulated treasury equals the DAO's;
 * - `partial`: the recommendation matched but the simulation was wrong;
 * - `failure`: the recommendation did not match the tally.
 */
export function judgeRecommendation(
  result: SimulationResult,
  passed: boolean,
  daoAfter: DaoState | null,
): RecommendationJudgement {
  const recommendationMatched = (result.recommendation === "approve") === passed;
  const simulationMatched = daoAfter === null ? null : result.treasuryAfter === daoAfter.treasury;
  const verdict = !recommendationMatched
    ? "failure"
    : simulationMatched === false
      ? "partial"
      : "success";
  return {
    verdict,
    score: verdict === "success" ? 1 : verdict === "partial" ? 0.5 : 0,
    metrics: {
      recommendation: result.recommendation,
      result: passed ? "passed" : "rejected",
      recommendationMatched,
      predictedTreasury: result.treasuryAfter,
      actualTreasury: daoAfter === null ? null : daoAfter.treasury,
      simulationMatched,
    },
  };
}
