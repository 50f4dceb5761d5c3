/**
 * The ChaosCore contracts' ABIs as `as const` values (generated into `./abis/`
 * by `npm run build:contracts`; compile.test.ts checks they equal the
 * artifacts'), by contract name. The typed wrappers derive their argument,
 * result and event types from them with abitype (types only, no runtime).
 *
 * @module
 */
import { checkpointAnchorAbi } from "./abis/checkpoint-anchor.js";
import { identityRegistryAbi } from "./abis/identity-registry.js";
import { rewardDistributorAbi } from "./abis/reward-distributor.js";
import { rewardTokenAbi } from "./abis/reward-token.js";
import type { ContractName } from "./artifacts.js";

/** Each contract's ABI, typed literally. */
export const ABIS = {
  IdentityRegistry: identityRegistryAbi,
  CheckpointAnchor: checkpointAnchorAbi,
  RewardToken: rewardTokenAbi,
  RewardDistributor: rewardDistributorAbi,
} as const satisfies Record<ContractName, readonly unknown[]>;
