/**
 * What the parts of the anchoring service share: the database, the log, the
 * chain client and contracts, and the settings ({@link AnchoringContext}).
 *
 * @module
 */
import type {
  BlockchainClient,
  ChainSigner,
  CheckpointAnchorContract,
  IdentityRegistryContract,
} from "@chaoscore/chain";
import { type Address, isChaosCoreError } from "@chaoscore/core";
import type { Db, TransparencyLog } from "@chaoscore/log";

/** The settings and connections every anchoring operation reads. */
export type AnchoringContext = {
  readonly db: Db;
  readonly log: TransparencyLog;
  readonly client: BlockchainClient;
  readonly anchor: CheckpointAnchorContract;
  readonly identity: IdentityRegistryContract | undefined;
  /** The anchoring key (holder of ANCHORER_ROLE). */
  readonly signer: ChainSigner | undefined;
  /** The chain id, as a decimal string (the `chain_id` column). */
  readonly chainId: string;
  /** The anchor contract's address, lower case. */
  readonly contract: Address;
  /** Confirmations (blocks including the anchor's) after which an anchor is final. */
  readonly confirmations: number;
  readonly cardUri: (agentId: string) => string;
  readonly now: () => Date;
  /**
   * The final size of a frozen shard (absent for an active log): anchored at that size through
   * `anchorGroup`, it retires from the group's live state.
   */
  readonly frozenSize?: number;
};

/** An error as stored in `last_error`: its code and message, at most 1,000 characters. */
export function describeError(error: unknown): string {
  if (isChaosCoreError(error)) return `${error.code}: ${error.message}`.slice(0, 1000);
  return String(error instanceof Error ? error.message : error).slice(0, 1000);
}
