/**
 * `@chaoscore/sdk/langchain`: the LangChain.js / LangGraph.js adapter (peer:
 * `@langchain/core` ^1). Loaded through {@link loadWithPeer}, so a missing
 * peer is a coded error that says what to install. See langchain-adapter.ts.
 * @module
 */
import { loadWithPeer } from "./peer.js";

const adapter = await loadWithPeer(() => import("./langchain-adapter.js"), {
  entry: "@chaoscore/sdk/langchain",
  peer: "@langchain/core",
  range: "^1.0.0",
});

export const ChaosCoreCallbackHandler: typeof adapter.ChaosCoreCallbackHandler =
  adapter.ChaosCoreCallbackHandler;
export type ChaosCoreCallbackHandler = import("./langchain-adapter.js").ChaosCoreCallbackHandler;
export * from "./recorded-steps.js";
