import type { BaseMessage } from "@langchain/core/messages";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { tool } from "@langchain/core/tools";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ChaosCoreCallbackHandler, TOOL_ACTION_TYPES } from "./langchain.js";
import { type Harness, hashOf, openHarness } from "./test-support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(() => h.close());

/**
 * LangChain's fake list model, taught to answer with scripted messages
 * (tool calls included) instead of plain strings: a stand-in for the LLM.
 */
class ScriptedToolCallingModel extends FakeListChatModel {
  private readonly script: AIMessage[];
  constructor(script: AIMessage[]) {
    super({ responses: script.map((m) => String(m.content)) });
    this.script = script;
  }
  override async _generate(_messages: BaseMessage[]): Promise<ChatResult> {
    const message = this.script[this.i] as AIMessage;
    this._incrementResponse();
    return { generations: [{ message, text: String(message.content) }] };
  }
  override bindTools() {
    return this;
  }
}

const weather = tool(async ({ city }) => `21°C in ${city}`, {
  name: "weather",
  description: "current weather",
  schema: z.object({ city: z.string() }),
});
const explode = tool(
  async (): Promise<string> => {
    throw new RangeError("out of range");
  },
  { name: "explode", description: "always fails", schema: z.object({}) },
);

describe("ChaosCoreCallbackHandler (LangChain.js / LangGraph.js)", () => {
  it("records a LangGraph ReAct agent's tool calls, results and errors; receipts verify", async () => {
    const { agent, recorder } = await h.newRecorder();
    const model = new ScriptedToolCallingModel([
      new AIMessage({
        content: "",
        tool_calls: [
          { id: "tc-1", name: "weather", args: { city: "Paris" }, type: "tool_call" },
          { id: "tc-2", name: "explode", args: {}, type: "tool_call" },
        ],
      }),
      new AIMessage("It is 21°C in Paris."),
    ]);
    const graph = createReactAgent({ llm: model, tools: [weather, explode] });
    const handler = new ChaosCoreCallbackHandler(recorder, { models: false });
    const state = await graph.invoke(
      { messages: [new HumanMessage("Weather in Paris?")] },
      { callbacks: [handler] },
    );
    expect(state.messages.at(-1)?.content).toBe("It is 21°C in Paris.");
    expect(await recorder.flush()).toEqual({ recorded: 4, failures: [] });

    const rows = await h.actionsOf(agent.address);
    const receipts = await Promise.all(rows.map((r) => h.verifiedReceipt(r.id)));
    const payloads = receipts.map(({ receipt }) => ({
      type: receipt.action.entry.message.actionType,
      parents: receipt.action.entry.message.parents,
      payload: receipt.payload,
    }));
    const find = (type: string, callId: string) => {
      const i = payloads.findIndex(
        (p) => p.type === type && (p.payload as { callId: string }).callId === callId,
      );
      expect(i).toBeGreaterThanOrEqual(0);
      return { ...payloads[i], id: rows[i]?.id, leaf: rows[i]?.leafIndex ?? -1 };
    };
    const call1 = find(TOOL_ACTION_TYPES.call, "tc-1");
    const result1 = find(TOOL_ACTION_TYPES.result, "tc-1");
    const call2 = find(TOOL_ACTION_TYPES.call, "tc-2");
    const error2 = find(TOOL_ACTION_TYPES.error, "tc-2");
    expect(call1.payload).toEqual({
      framework: "langchain",
      tool: "weather",
      callId: "tc-1",
      input: { city: "Paris" },
    });
    expect(result1.payload).toEqual({
      framework: "langchain",
      tool: "weather",
      callId: "tc-1",
      output: { content: "21°C in Paris", status: "success" },
    });
    expect(result1.parents).toEqual([call1.id]);
    expect(error2.payload).toEqual({
      framework: "langchain",
      tool: "explode",
      callId: "tc-2",
      error: { name: "RangeError", message: "out of range" },
    });
    expect(error2.parents).toEqual([call2.id]);
    expect(call1.leaf).toBeLessThan(result1.leaf);
    expect(call2.leaf).toBeLessThan(error2.leaf);
    expect(rows.map((r) => r.payloadHash)).toEqual(payloads.map((p) => hashOf(p.payload)));
  });

  it("a LangGraph run's receipts cover its model and tool steps, chained in order", async () => {
    const { agent, recorder } = await h.newRecorder();
    const model = new ScriptedToolCallingModel([
      Object.assign(
        new AIMessage({
          content: "",
          tool_calls: [{ id: "tc-1", name: "weather", args: { city: "Oslo" }, type: "tool_call" }],
        }),
        { usage_metadata: { input_tokens: 12, output_tokens: 3, total_tokens: 15 } },
      ),
      new AIMessage("It is 21°C in Oslo."),
    ]);
    const graph = createReactAgent({ llm: model, tools: [weather] });
    await graph.invoke(
      { messages: [new HumanMessage("Weather in Oslo?")] },
      { callbacks: [new ChaosCoreCallbackHandler(recorder)] },
    );
    expect(await recorder.flush()).toEqual({ recorded: 6, failures: [] });
    const steps = await h.stepsOf(agent.address);
    expect(steps.map((s) => s.type)).toEqual([
      "model.call",
      "model.result",
      "tool.call",
      "tool.result",
      "model.call",
      "model.result",
    ]);
    const [call1, answer1, toolCall, toolResult, call2, answer2] = steps;
    expect(call1?.parents).toEqual([]);
    expect(answer1?.parents).toEqual([call1?.id]);
    expect(toolCall?.parents).toEqual([answer1?.id]);
    expect(toolResult?.parents).toEqual([toolCall?.id]);
    expect(call2?.parents).toEqual([toolResult?.id]);
    expect(answer2?.parents).toEqual([call2?.id]);
    expect(call1?.payload).toMatchObject({
      framework: "langchain",
      promptHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
    expect(call1?.payload).not.toHaveProperty("prompt");
    expect(answer1?.payload).toMatchObject({
      usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
      completionHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
  });

  it("records a tool invoked directly: plain arguments, a plain result, and a thrown error", async () => {
    const { agent, recorder } = await h.newRecorder();
    const handler = new ChaosCoreCallbackHandler(recorder, { awaitRecords: true });
    expect(await weather.invoke({ city: "Oslo" }, { callbacks: [handler] })).toBe("21°C in Oslo");
    await expect(explode.invoke({}, { callbacks: [handler] })).rejects.toThrow("out of range");
    // awaitRecords: everything is in the log already, before any flush.
    const rows = await h.actionsOf(agent.address);
    expect(rows.map((r) => r.actionType)).toEqual([
      "tool.call",
      "tool.result",
      "tool.call",
      "tool.error",
    ]);
    const { receipt } = await h.verifiedReceipt(rows[1]?.id ?? "0x");
    expect(receipt.payload).toEqual({
      framework: "langchain",
      tool: "weather",
      callId: null,
      output: "21°C in Oslo",
    });
    expect(receipt.action.entry.message.parents).toEqual([rows[0]?.id]);
    expect(await recorder.flush()).toEqual({ recorded: 4, failures: [] });
  });

  it("records a tool message's artifact", async () => {
    const { agent, recorder } = await h.newRecorder();
    const search = tool(async ({ q }) => [`results for ${q}`, { hits: 2 }], {
      name: "search",
      description: "search",
      schema: z.object({ q: z.string() }),
      responseFormat: "content_and_artifact",
    });
    const handler = new ChaosCoreCallbackHandler(recorder);
    await search.invoke(
      { id: "tc-9", name: "search", args: { q: "x" }, type: "tool_call" },
      { callbacks: [handler] },
    );
    await recorder.flush();
    const [, result] = await h.actionsOf(agent.address);
    const { receipt } = await h.verifiedReceipt(result?.id ?? "0x");
    expect(receipt.payload).toEqual({
      framework: "langchain",
      tool: "search",
      callId: "tc-9",
      output: { content: "results for x", status: "success", artifact: { hits: 2 } },
    });
  });

  it("records an end without a start with no parent, and non-tool messages by type", async () => {
    const { agent, recorder } = await h.newRecorder();
    const handler = new ChaosCoreCallbackHandler(recorder);
    await handler.handleToolEnd(new AIMessage("from nowhere"), "unknown-run");
    const copy = handler.copy();
    expect(copy).toBeInstanceOf(ChaosCoreCallbackHandler);
    expect(copy).not.toBe(handler);
    await handler.handleToolStart(
      { lc: 1, type: "not_implemented", id: ["x", "SerializedTool"] },
      "not json",
      "run-1",
    );
    await copy.handleToolEnd("done", "run-1"); // the copy knows the call
    await recorder.flush();
    const rows = await h.actionsOf(agent.address);
    const [orphan, call, end] = await Promise.all(rows.map((r) => h.verifiedReceipt(r.id)));
    expect(end?.receipt.action.entry.message.parents).toEqual([call?.verified.actionId]);
    expect(end?.receipt.payload).toMatchObject({ tool: "SerializedTool", output: "done" });
    expect(orphan?.receipt.payload).toEqual({
      framework: "langchain",
      tool: null,
      callId: null,
      output: { type: "ai", content: "from nowhere" },
    });
    expect(orphan?.receipt.action.entry.message.parents).toEqual([]);
    expect(call?.receipt.payload).toEqual({
      framework: "langchain",
      tool: "SerializedTool",
      callId: null,
      input: "not json",
    });
  });
});
