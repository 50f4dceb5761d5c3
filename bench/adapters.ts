/**
 * `npm run bench -- adapters`: what recording adds to an agent's steps. A real
 * gateway on loopback (PGlite, in this process), an agent signing locally:
 *
 * - MCP: a tool call through the recording middleware (tool.call signed and
 *   accepted before the call, tool.result after) beside the same call made
 *   bare, to a tool server run as its own process;
 * - AI SDK: one model step through `chaosCoreRun` (model.call and
 *   model.result), queued (the default) and awaited (`awaitRecords`), beside
 *   the same scripted model call bare.
 *
 * Figures are medians over `--calls` steps, after a warm-up.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEVELOPMENT_DEPLOYMENT, generateNoteKey, privateKeyToAddress } from "@chaoscore/core";
import { createEngine, NODE_MIGRATIONS, openDatabase } from "@chaoscore/engine";
import { buildGateway, GATEWAY_MIGRATIONS, gatewayServices } from "@chaoscore/gateway";
import { composeMigrations } from "@chaoscore/log";
import { recordMcpToolCalls } from "@chaoscore/mcp";
import { AgentRecorder, ChaosCoreClient } from "@chaoscore/sdk";
import { chaosCoreRun } from "@chaoscore/sdk/ai-sdk";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { generateText } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { makeAgents, registerAgents } from "./agents.js";
import { describeMachine, goal } from "./machine.js";
import { intOption } from "./options.js";
import { median } from "./stats.js";

const CHAIN_ID = 31337n;
const TOOL_SERVER = fileURLToPath(
  new URL("../packages/mcp/src/test-support/tool-server.mjs", import.meta.url),
);

async function timeEach(n: number, step: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await step();
    out.push(performance.now() - start);
  }
  return out;
}

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};
const scriptedModel = () =>
  new MockLanguageModelV3({
    doGenerate: async () => ({
      content: [{ type: "text", text: "ok" }],
      finishReason: { unified: "stop", raw: undefined },
      usage,
      warnings: [],
    }),
  });

export async function runAdaptersBench(args: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args,
    options: { calls: { type: "string", default: "300" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log("npm run bench -- adapters [--calls N]   (default 300 recorded steps per adapter)");
    return true;
  }
  const calls = intOption("calls", values.calls);
  const warmup = Math.min(50, calls);
  const dir = mkdtempSync(join(tmpdir(), "chaoscore-bench-adapters-"));
  const db = await openDatabase({
    databaseUrl: null,
    dataDir: dir,
    migrations: composeMigrations(NODE_MIGRATIONS, GATEWAY_MIGRATIONS),
  });
  const origin = "chaoscore.bench/log/adapters";
  const engine = await createEngine({
    db,
    chainId: CHAIN_ID,
    verifyingContract: DEVELOPMENT_DEPLOYMENT,
    log: { origin, ...generateNoteKey(origin) },
    signatureThreads: 0,
  });
  let base = "";
  const app = await buildGateway({
    ...gatewayServices({ engine, chainId: CHAIN_ID }),
    logger: false,
    rateLimit: false,
    origins: () => [base],
  });
  base = await app.listen({ port: 0, host: "127.0.0.1" });
  const [mcpAgent, aiAgent] = makeAgents(2);
  if (mcpAgent === undefined || aiAgent === undefined) throw new Error("no agents");
  await registerAgents(engine, [mcpAgent, aiAgent], CHAIN_ID);
  const recorderFor = (privateKey: Uint8Array, nextNonce?: bigint) => {
    const client = new ChaosCoreClient({ baseUrl: base, agentKey: privateKey });
    return new AgentRecorder({
      privateKey,
      chainId: CHAIN_ID,
      sink: client,
      nextNonce: nextNonce ?? (() => client.nextNonce(privateKeyToAddress(privateKey))),
    });
  };
  console.log(`machine: ${describeMachine()}`);
  console.log(`gateway on ${base} (PGlite, signatures inline), ${calls} steps each, medians`);
  try {
    // ---- MCP -------------------------------------------------------------------------------
    const mcp = recordMcpToolCalls(
      new Client({ name: "bench", version: "1" }),
      recorderFor(mcpAgent.privateKey),
    );
    await mcp.connect(
      new StdioClientTransport({ command: process.execPath, args: [TOOL_SERVER], stderr: "pipe" }),
    );
    const bareCall = () =>
      Client.prototype.callTool.call(mcp, { name: "echo", arguments: { text: "x" } });
    const recordedCall = () => mcp.callTool({ name: "echo", arguments: { text: "x" } });
    await timeEach(warmup, bareCall);
    await timeEach(warmup, recordedCall);
    const mcpBare = median(await timeEach(calls, bareCall));
    const mcpRecorded = median(await timeEach(calls, recordedCall));
    await mcp.close();
    const mcpAdded = mcpRecorded - mcpBare;
    console.log(
      `mcp tool call: bare ${mcpBare.toFixed(3)} ms, recorded ${mcpRecorded.toFixed(3)} ms (tool.call awaited before, tool.result after): +${mcpAdded.toFixed(3)} ms`,
    );

    // ---- AI SDK ----------------------------------------------------------------------------
    // queued (the adapters' default): signing only in the step, the sends run behind it
    const measureAi = async (awaitRecords: boolean) => {
      const recorder = recorderFor(aiAgent.privateKey, awaitRecords ? 1n : undefined);
      const run = chaosCoreRun(recorder, { awaitRecords });
      const model = scriptedModel();
      const recordedModel = run.wrap(model);
      const bareStep = () => generateText({ model, prompt: "hi" });
      const recordedStep = () => generateText({ model: recordedModel, prompt: "hi" });
      await timeEach(warmup, bareStep);
      await timeEach(warmup, recordedStep);
      const bare = median(await timeEach(calls, bareStep));
      const recorded = median(await timeEach(calls, recordedStep));
      const { failures } = await recorder.flush();
      if (failures.length > 0) throw new Error(`${failures.length} model steps not recorded`);
      return { bare, recorded, added: recorded - bare };
    };
    const queued = await measureAi(false);
    console.log(
      `ai-sdk model step (queued, the default): bare ${queued.bare.toFixed(3)} ms, recorded ${queued.recorded.toFixed(3)} ms: +${queued.added.toFixed(3)} ms`,
    );
    const awaited = await measureAi(true);
    console.log(
      `ai-sdk model step (awaitRecords: model.call and model.result in the log before the step goes on): bare ${awaited.bare.toFixed(3)} ms, recorded ${awaited.recorded.toFixed(3)} ms: +${awaited.added.toFixed(3)} ms`,
    );
    const aiAdded = queued.added;
    const a = goal("mcp_tool_call_added_ms_median", mcpAdded, 2, false);
    const b = goal("ai_sdk_model_step_added_ms_median", aiAdded, 2, false);
    console.log(
      "(an awaited record costs one durable write of the log: the MCP call waits for its tool.call by design, so that a refused call is not made)",
    );
    return a && b;
  } finally {
    await app.close();
    await engine.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
