export type {
  AgentCardVersion,
  AgentChallenge,
  AgentControlProof,
  AgentIdentity,
  AgentKey,
  AgentMetadata,
  AgentPage,
  AgentRecord,
  AgentRegistryInterface,
  AgentSigningState,
  AgentStatus,
  AgentStatusChange,
  ListAgentsQuery,
  ProveAgentControlRequest,
  RegisterAgentRequest,
  RevokeAgentRequest,
  RotateAgentKeyRequest,
  UpdateAgentCardRequest,
} from "./agent.js";
export { AGENT_STATUSES } from "./agent.js";
export { AgentRegistry, type AgentRegistryOptions } from "./registry.js";
