/**
 * @chaoscore/chain — Ethereum for ChaosCore (D7): the `BlockchainClient` port
 * and its ethers v6 adapter, local keys (keystore v3), typed wrappers of the
 * ChaosCore contracts, their deployment, and a local anvil launcher.
 * See docs/spec/contracts.md.
 *
 * @module
 */

export { ABIS } from "./abis.js";
export * from "./anvil.js";
export { type Artifact, CONTRACT_NAMES, type ContractName, loadArtifact } from "./artifacts.js";
export * from "./checkpoint-anchor.js";
export * from "./checkpoint-group.js";
export {
  ContractClient,
  type ContractOptions,
  type DecodedEvent,
  type EventArgs,
  type EventName,
  type EventQuery,
  type FunctionArgs,
  type FunctionResult,
  type FunctionSignature,
  LOG_QUERY_RANGE,
  type ReadName,
  type TypedEvent,
  type WriteName,
  type WriteOptions,
} from "./contract-client.js";
export * from "./deploy.js";
export {
  type DecodedRevert,
  decodeRevert,
  defaultErrorInterface,
  errorInterface,
  isTransientError,
} from "./errors.js";
export * from "./ethereum-client.js";
export * from "./identity-registry.js";
export * from "./reward-distributor.js";
export * from "./reward-token.js";
export * from "./signer.js";
export type * from "./types.js";
export * from "./verify-anchor.js";
