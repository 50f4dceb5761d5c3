/**
 * The components the gateway serves over one engine: reputation and studios
 * (`createNodeServices` of @chaoscore/engine), attested execution with a mock
 * TEE, and the anchors stored in the database.
 * @module
 */

import { StoredAnchorDirectory } from "@chaoscore/anchoring";
import type { Hex } from "@chaoscore/core";
import { createNodeServices, type Engine } from "@chaoscore/engine";
import { MockTeeProvider } from "@chaoscore/sandbox";
import type { RewardPort } from "@chaoscore/studios";
import type { GatewayOptions } from "./app.js";

/** Options of {@link gatewayServices}. */
export type GatewayServicesOptions = {
  engine: Engine;
  chainId: bigint;
  /** The mock TEE (its root is trusted by the log); default a fresh one. */
  tee?: MockTeeProvider;
  /** Extra TEE roots the log trusts. */
  trustedTeeRoots?: readonly Hex[];
  /** Pre-trusted raters of EigenTrust (the operators' evaluators). */
  preTrusted?: readonly string[];
  /** Pays studio rewards (on chain); without it reward transitions are refused. */
  rewards?: RewardPort;
  /**
   * The CheckpointAnchor contract whose anchors receipts carry (on `chainId`). Stored anchors
   * of other chains or contracts are never served; without it, only the chain is filtered.
   */
  anchorContract?: string;
};

/** Everything but the chain, logger and limits: a gateway serving every component. */
export function gatewayServices(options: GatewayServicesOptions): GatewayOptions {
  const { engine } = options;
  const tee = options.tee ?? MockTeeProvider.create();
  // Reputation and the studios as every node assembles them (the pre-trusted raters are
  // stored, shared by every gateway, and read before weighting).
  const { reputation, studios } = createNodeServices(engine, {
    ...(options.preTrusted === undefined ? {} : { preTrusted: options.preTrusted }),
    ...(options.rewards === undefined ? {} : { rewards: options.rewards }),
  });
  return {
    engine,
    chainId: options.chainId,
    studios,
    reputation,
    execution: { provider: tee },
    trustedTeeRoots: [...new Set([...tee.trustedRoots, ...(options.trustedTeeRoots ?? [])])],
    anchors: new StoredAnchorDirectory({
      db: engine.db,
      log: engine.log,
      family: engine.logs,
      chainId: options.chainId.toString(),
      ...(options.anchorContract === undefined ? {} : { contract: options.anchorContract }),
    }),
  };
}
