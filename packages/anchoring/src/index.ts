export { type AgentToken, findAgentToken } from "./agent-tokens.js";
export {
  type AgentAnchorRecord,
  type AnchoringChain,
  AnchoringService,
  type AnchoringServiceOptions,
  type AnchorRecord,
  type AnchorStatus,
  type ReconcileReport,
  StoredAnchorDirectory,
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
