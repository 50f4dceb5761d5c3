/**
 * `@chaoscore/sdk/openai-agents`: the OpenAI Agents SDK adapter (peer:
 * `@openai/agents` ^0.20). Loaded through {@link loadWithPeer}, so a missing
 * peer is a coded error that says what to install. See openai-agents-adapter.ts.
 * @module
 */
import { loadWithPeer } from "./peer.js";

const adapter = await loadWithPeer(() => import("./openai-agents-adapter.js"), {
  entry: "@chaoscore/sdk/openai-agents",
  peer: "@openai/agents",
  range: "^0.20.0",
});

export const recordRunnerTools: typeof adapter.recordRunnerTools = adapter.recordRunnerTools;
export const recordRunner: typeof adapter.recordRunner = adapter.recordRunner;
export * from "./recorded-steps.js";
