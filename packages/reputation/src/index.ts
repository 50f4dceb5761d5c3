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
export {
  type ApplyResult,
  type FeedbackInput,
  type OutcomeRef,
  ReputationComputer,
  type ReputationEpoch,
  type ReputationOptions,
  type ReputationQueryInterface,
  type ReputationScore,
  type ScoreContribution,
  type ScoreHistoryEntry,
} from "./reputation.js";
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
