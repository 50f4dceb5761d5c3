export { type AgentToken, findAgentToken } from "./agent-tokens.js";
export {
  type AnchorRecordFinding,
  auditStoredAnchors,
  type RepairedAnchor,
  repairStoredAnchors,
} from "./anchor-audit.js";
export type { AgentAnchorRecord, AnchorRecord, AnchorStatus } from "./anchor-records.js";
export {
  type AnchoringChain,
  AnchoringService,
  type AnchoringServiceOptions,
  type ReconcileReport,
} from "./anchoring-service.js";
export {
  type AnchoringHalt,
  AnchoringHaltState,
  isChainHistoryBroken,
} from "./chain-consistency.js";
export { ANCHORING_MIGRATIONS } from "./migrations.js";
export {
  REWARD_ACTION_TYPE,
  type RewardPayout,
  type RewardPayoutPayload,
  RewardService,
  type RewardServiceOptions,
} from "./reward-service.js";
export { StoredAnchorDirectory } from "./stored-anchor-directory.js";
