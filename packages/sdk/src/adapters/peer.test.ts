import { isChaosCoreError } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { isMissingPackage, loadWithPeer } from "./peer.js";

const need = { entry: "@chaoscore/sdk/ai-sdk", peer: "ai", range: "^6.0.0" };

describe("loadWithPeer", () => {
  it("names the missing peer and the command that installs it", async () => {
    const missing = Object.assign(
      new Error(
        "Cannot find package 'ai' imported from /x/node_modules/@chaoscore/sdk/dist/adapters/ai-sdk-adapter.js",
      ),
      { code: "ERR_MODULE_NOT_FOUND" },
    );
    const error = await loadWithPeer(() => Promise.reject(missing), need).catch((e) => e);
    expect(isChaosCoreError(error, "SDK_PEER_MISSING")).toBe(true);
    expect(error.message).toContain('npm install ai@"^6.0.0"');
    expect(error.details).toEqual(need);
  });

  it("passes other failures through unchanged (another missing package, a bug in the adapter)", async () => {
    const other = Object.assign(new Error("Cannot find package 'zod' imported from /x"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    await expect(loadWithPeer(() => Promise.reject(other), need)).rejects.toBe(other);
    const bug = new TypeError("boom");
    await expect(loadWithPeer(() => Promise.reject(bug), need)).rejects.toBe(bug);
    expect(isMissingPackage(null, "ai")).toBe(false);
  });

  it("loads the adapter when the peer is there (the real entry points, peers installed here)", async () => {
    const ai = await import("./ai-sdk.js");
    expect(typeof ai.chaosCoreRun).toBe("function");
    const lc = await import("./langchain.js");
    expect(typeof lc.ChaosCoreCallbackHandler).toBe("function");
    const oa = await import("./openai-agents.js");
    expect(typeof oa.recordRunner).toBe("function");
  });
});
