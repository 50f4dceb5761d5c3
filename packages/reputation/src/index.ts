export {
  type EigenTrustOptions,
  type EigenTrustResult,
  eigenTrust,
  raterWeights,
  type TrustGraph,
  trustGraphFromEdges,
} from "./eigentrust.js";
export {
  logReputationEpoch,
  REPUTATION_EPOCH_ACTION_TYPE,
  type ReputationEpochPayload,
} from "./epoch-log.js";
export { REPUTATION_MIGRATIONS } from "./migrations.js";
export {
  assertDimension,
  capabilityOf,
  DEFAULT_EVIDENCE_WEIGHTS,
  DEFAULT_HALF_LIFE_SECONDS,
  type Dimension,
  decayFactor,
  EVIDENCE_CLASSES,
  type EvidenceClass,
  type EvidenceWeights,
  isDimension,
  meanAndConfidence,
  outcomeValue,
} from "./model.js";
export { ReputationComputer } from "./reputation.js";
export type {
  ApplyResult,
  FeedbackInput,
  OutcomeRef,
  ReputationEpoch,
  ReputationOptions,
  ReputationQueryInterface,
  ReputationScore,
  ScoreContribution,
  ScoreHistoryEntry,
} from "./reputation-types.js";
export {
  compareScoreKeys,
  SCORE_LEAF_FORMAT,
  SCORE_PROOF_FORMAT,
  type ScoreLeaf,
  type ScoreProof,
  scoreLeafBytes,
  scoreLeafHash,
  verifyScoreProof,
} from "./score-proof.js";
