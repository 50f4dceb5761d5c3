/**
 * The public types of reputation: scores, contributions, epochs, inputs and
 * results, the options of {@link ReputationComputer} and its read interface.
 *
 * @module
 */
import type { Hex, OutcomeEntry } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import type { Dimension, EvidenceClass, EvidenceWeights } from "./model.js";
import type { ScoreProof } from "./score-proof.js";

/** A reputation score of one agent in one dimension, as of a time. */
export type ReputationScore = {
  agent: string;
  dimension: Dimension;
  /** The posterior mean α/(α+β) at `asOf`. */
  value: number;
  /** 1 − √(12·Var(Beta(α, β))): 0 with no evidence, towards 1 with more. */
  confidence: number;
  /** Pieces of evidence counted (outcomes and feedback, any weight). */
  samples: number;
  /** The time of the newest evidence (ISO 8601), null with none. */
  lastUpdate: string | null;
  /** The time the value is computed for (ISO 8601). */
  asOf: string;
  breakdown: {
    /** α and β decayed to `asOf` (each includes the prior's 1). */
    alpha: number;
    beta: number;
    /** Samples per evidence class. */
    byEvidenceClass: Record<EvidenceClass, number>;
    /**
     * The action ids behind the contributions with the largest current
     * weight (largest first); present on `get`, absent on `topK`.
     */
    topContributors?: Hex[];
  };
};

/** One contribution behind a score, as `explain` lists it. */
export type ScoreContribution = {
  /** The outcome id, or the feedback id. */
  id: Hex;
  source: "outcome" | "feedback";
  /** The signed action behind it (null for unlinked feedback). */
  actionId: Hex | null;
  rater: string;
  evidence: EvidenceClass;
  /** The value x ∈ [0, 1] it reports. */
  x: number;
  /** e: the evidence class's weight. */
  evidenceWeight: number;
  /** ρ: the rater's weight from the current epoch's trust (1 for pre-trusted raters). */
  raterWeight: number;
  /** w = ρ·e. */
  weight: number;
  /** w·2^(−(asOf − t)/H): its share of α + β − 2 now. */
  effectiveWeight: number;
  /** The evidence's time (ISO 8601). */
  timestamp: string;
};

/** A committed epoch. */
export type ReputationEpoch = {
  epoch: number;
  /** The Merkle root (RFC 9162) of the epoch's score leaves: what is anchored on chain. */
  root: Hex;
  size: number;
  asOf: string;
  preTrusted: string[];
  iterations: number;
  residual: number;
  createdAt: string;
};

/** One epoch's committed score of an agent in a dimension. */
export type ScoreHistoryEntry = {
  epoch: number;
  asOf: string;
  value: number;
  alpha: number;
  beta: number;
  samples: number;
  root: Hex;
};

/** Which outcome to apply: its id (e.g. `recordOutcome`'s result) or its signed entry. */
export type OutcomeRef = string | { id: string } | { entry: OutcomeEntry | unknown };

/** The result of applying one outcome or feedback. */
export type ApplyResult = {
  /** The outcome id or feedback id. */
  id: Hex;
  /** False when it was applied before (a replay changes nothing). */
  applied: boolean;
  agent: string;
  dimensions: Dimension[];
  x: number;
  /** w = ρ·e at the time of applying. */
  weight: number;
};

/** Plain feedback from one agent about another. */
export type FeedbackInput = {
  rater: string;
  subject: string;
  /** In [0, 1]: 1 is fully positive. */
  value: number;
  /** Default `overall`. */
  dimension?: Dimension | string;
  /** The subject's signed action it is about (with an outcome in the log), or null. */
  evidence?: { actionId: string } | null;
  /** Unix seconds or a Date; default now. Part of the feedback's id (idempotency). */
  timestamp?: number | Date;
};

export type ReputationOptions = {
  db: Db;
  /** The pre-trusted raters (studio operators): rater weight 1, EigenTrust's p. */
  preTrusted?: readonly string[];
  /** Half-life H of evidence, seconds; default 30 days. */
  halfLifeSeconds?: number;
  /** EigenTrust damping a; default 0.15. */
  damping?: number;
  /** EigenTrust convergence ε (L1); default 1e-10. */
  epsilon?: number;
  maxIterations?: number;
  /** Weights e of the evidence classes; default outcome 1, linked 1, unlinked 0.2, self 0. */
  evidenceWeights?: Partial<EvidenceWeights>;
  now?: () => Date;
};

/** Read access to reputation: what studios, the gateway and the CLI use. */
export interface ReputationQueryInterface {
  get(
    agent: string,
    dimension?: Dimension | string,
    options?: { asOf?: Date | number },
  ): Promise<ReputationScore>;
  dimensions(agent: string, options?: { asOf?: Date | number }): Promise<ReputationScore[]>;
  topK(
    dimension: Dimension | string,
    k: number,
    options?: { asOf?: Date | number; minSamples?: number },
  ): Promise<ReputationScore[]>;
  history(
    agent: string,
    dimension?: Dimension | string,
    options?: { limit?: number },
  ): Promise<ScoreHistoryEntry[]>;
  explain(
    agent: string,
    dimension?: Dimension | string,
    options?: { limit?: number; cursor?: string; asOf?: Date | number },
  ): Promise<{ score: ReputationScore; items: ScoreContribution[]; nextCursor: string | null }>;
  epochRoot(epoch: number): Promise<ReputationEpoch>;
  proveScore(agent: string, dimension: Dimension | string, epoch: number): Promise<ScoreProof>;
}
