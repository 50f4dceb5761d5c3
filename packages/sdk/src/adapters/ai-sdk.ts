/**
 * `@chaoscore/sdk/ai-sdk`: the Vercel AI SDK adapter (peer: `ai` ^6). Loaded
 * through {@link loadWithPeer}, so a missing `ai` is a coded error that says
 * what to install. See ai-sdk-adapter.ts.
 * @module
 */
import { loadWithPeer } from "./peer.js";

const adapter = await loadWithPeer(() => import("./ai-sdk-adapter.js"), {
  entry: "@chaoscore/sdk/ai-sdk",
  peer: "ai",
  range: "^6.0.0",
});

export const chaosCoreTelemetry: typeof adapter.chaosCoreTelemetry = adapter.chaosCoreTelemetry;
export const chaosCoreRun: typeof adapter.chaosCoreRun = adapter.chaosCoreRun;
export type { RunRecorderOptions } from "./ai-sdk-adapter.js";
export * from "./recorded-steps.js";
