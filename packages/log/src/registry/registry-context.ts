/**
 * What the registry's parts share: its store, the chain and deployment its
 * messages are signed for, and its clock.
 * @module
 */
import type { SigningDomain } from "@chaoscore/core";
import type { Db } from "../store/db.js";

/** The configuration every part of the registry reads (built by {@link AgentRegistry}). */
export type RegistryContext = {
  readonly db: Db;
  /** The chain id every registry message must be signed for. */
  readonly chainId: bigint;
  /** The chain and deployment registry messages are signed for (EIP-712 domain). */
  readonly domain: SigningDomain;
  /** The clock (for expiries, challenges and timestamps). */
  readonly now: () => Date;
};
