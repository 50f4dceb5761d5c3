/**
 * The ChaosCore TypeScript SDK: the gateway client, the agent-side recorder,
 * and the signing and verification functions of `@chaoscore/core` (keys never
 * leave the caller). Framework adapters: `@chaoscore/sdk/ai-sdk`,
 * `@chaoscore/sdk/langchain`, `@chaoscore/sdk/openai-agents`.
 * @module
 */
export {
  type AgentCard,
  ChaosCoreError,
  generatePrivateKey,
  isChaosCoreError,
  parseTrustPolicy,
  privateKeyToAddress,
  signAction,
  signOutcome,
  signRegistration,
  signRequest,
  signStudioEvaluation,
  signStudioGovernance,
  signStudioTransition,
  type TrustPolicy,
  type VerifiedReceipt,
  type VerifiedReceiptWithPolicy,
  verifyReceiptWithPolicy,
} from "@chaoscore/core";
export * from "./client.js";
export * from "./recorder.js";
export * from "./verify.js";
