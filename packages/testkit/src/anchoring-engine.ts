/**
 * A test engine anchoring on the test chain of `@chaoscore/testkit/chain`.
 * @module
 */
import { randomBytes } from "node:crypto";
import type { AnchoringService } from "@chaoscore/anchoring";
import { generateNoteKey } from "@chaoscore/core";
import type { EngineOptions } from "@chaoscore/engine";
import type { TestChain } from "./chain.js";
import { openTestEngine } from "./engine.js";

/**
 * A test engine ({@link openTestEngine}) anchoring on the test chain, with a
 * log of its own (a fresh origin `chaoscore.test/log/<name>-<random>`, so that
 * several logs share one anvil's contracts).
 */
export async function openAnchoringTestEngine(
  chain: TestChain,
  options: { name: string; confirmations?: number } & Partial<Omit<EngineOptions, "chain" | "log">>,
) {
  const { name, confirmations = 1, ...engineOptions } = options;
  const origin = `chaoscore.test/log/${name}-${randomBytes(6).toString("hex")}`;
  const keys = generateNoteKey(origin);
  const t = await openTestEngine({
    ...engineOptions,
    log: { origin, signerKey: keys.signerKey, verifierKey: keys.verifierKey },
    chain: {
      client: chain.client,
      contracts: chain.contracts,
      signer: chain.deployer,
      chainId: chain.anvil.chainId,
      confirmations,
    },
  });
  return {
    ...t,
    origin,
    verifierKey: keys.verifierKey,
    /** The engine's anchoring service (it has a chain). */
    anchoring: t.engine.anchoring as AnchoringService,
  };
}
