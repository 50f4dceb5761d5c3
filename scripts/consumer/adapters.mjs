// Consumer test (f): each framework adapter entry point, installed with its peer,
// records a scripted run (model and tool steps) into an in-memory sink; before the
// peers are installed, importing one fails with SDK_PEER_MISSING (checked by the
// shell script). A stand-in sink keeps this about the adapters, not the gateway.
import { AgentRecorder, generatePrivateKey } from "@chaoscore/sdk";

function memorySink() {
  const entries = [];
  const record = async ({ entry }) => {
    entries.push(entry);
    return {
      id: `0x${entries.length.toString(16).padStart(64, "0")}`,
      leafIndex: entries.length - 1,
      duplicate: false,
    };
  };
  return { entries, recordAction: record, recordOutcome: record };
}
const recorderOf = (sink) =>
  new AgentRecorder({ privateKey: generatePrivateKey(), chainId: 31337n, sink, nextNonce: 1n });
const types = (sink) => sink.entries.map((e) => e.message.actionType).join(",");

// Vercel AI SDK
{
  const { chaosCoreRun } = await import("@chaoscore/sdk/ai-sdk");
  const { generateText } = await import("ai");
  const { MockLanguageModelV3 } = await import("ai/test");
  const sink = memorySink();
  const recorder = recorderOf(sink);
  const run = chaosCoreRun(recorder);
  const usage = { inputTokens: { total: 3 }, outputTokens: { total: 2 } };
  const model = new MockLanguageModelV3({
    doGenerate: async () => ({
      content: [{ type: "text", text: "ok" }],
      finishReason: { unified: "stop" },
      usage,
      warnings: [],
    }),
  });
  const result = await generateText({
    model: run.wrap(model),
    prompt: "hi",
    experimental_telemetry: { integrations: [run.telemetry] },
  });
  await recorder.flush();
  if (result.text !== "ok" || types(sink) !== "model.call,model.result")
    throw new Error(`ai-sdk: ${types(sink)}`);
  console.log(`ai-sdk: ${types(sink)}`);
}

// LangChain.js
{
  const { ChaosCoreCallbackHandler } = await import("@chaoscore/sdk/langchain");
  const { FakeListChatModel } = await import("@langchain/core/utils/testing");
  const sink = memorySink();
  const recorder = recorderOf(sink);
  const model = new FakeListChatModel({ responses: ["ok"] });
  await model.invoke("hi", { callbacks: [new ChaosCoreCallbackHandler(recorder)] });
  await recorder.flush();
  if (types(sink) !== "model.call,model.result") throw new Error(`langchain: ${types(sink)}`);
  console.log(`langchain: ${types(sink)}`);
}

// OpenAI Agents SDK
{
  const { recordRunner } = await import("@chaoscore/sdk/openai-agents");
  const { Agent, Runner, Usage } = await import("@openai/agents");
  const sink = memorySink();
  const recorder = recorderOf(sink);
  const scripted = {
    async getResponse() {
      return {
        usage: new Usage(),
        output: [
          {
            type: "message",
            role: "assistant",
            status: "completed",
            content: [{ type: "output_text", text: "ok" }],
          },
        ],
      };
    },
    getStreamedResponse() {
      throw new Error("not scripted");
    },
  };
  const runner = new Runner({ tracingDisabled: true });
  const run = recordRunner(runner, recorder);
  const result = await runner.run(
    new Agent({ name: "a", model: run.wrap(scripted, "scripted") }),
    "hi",
  );
  run.stop();
  await recorder.flush();
  if (result.finalOutput !== "ok" || types(sink) !== "model.call,model.result")
    throw new Error(`openai-agents: ${types(sink)}`);
  console.log(`openai-agents: ${types(sink)}`);
}
console.log("ADAPTERS OK");
