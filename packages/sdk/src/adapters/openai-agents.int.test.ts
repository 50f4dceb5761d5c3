import {
  Agent,
  type AgentOutputItem,
  type AgentOutputType,
  type Model,
  type ModelResponse,
  RunContext,
  Runner,
  tool,
  Usage,
} from "@openai/agents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { recordRunner, recordRunnerTools, TOOL_ACTION_TYPES } from "./openai-agents.js";
import { type Harness, openHarness } from "./test-support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(() => h.close());

/** A stand-in for the LLM: answers each turn with the next scripted output. */
class ScriptedModel implements Model {
  private turn = 0;
  constructor(private readonly turns: AgentOutputItem[][]) {}
  async getResponse(): Promise<ModelResponse> {
    const output = this.turns[this.turn++];
    if (output === undefined) throw new Error("the script has no more turns");
    return { usage: new Usage(), output };
  }
  getStreamedResponse(): AsyncIterable<never> {
    throw new Error("streaming is not scripted");
  }
}

const weather = tool({
  name: "weather",
  description: "current weather",
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => `21°C in ${city}`,
});
const explode = tool({
  name: "explode",
  description: "always fails",
  parameters: z.object({}),
  execute: async (): Promise<string> => {
    throw new RangeError("out of range");
  },
  errorFunction: (_context, error) => `failed: ${(error as Error).message}`,
});

describe("recordRunnerTools (OpenAI Agents SDK)", () => {
  it("records the tool calls and results of a run; receipts verify; stop() detaches", async () => {
    const { agent, recorder } = await h.newRecorder();
    const model = new ScriptedModel([
      [
        {
          type: "function_call",
          callId: "call-1",
          name: "weather",
          arguments: JSON.stringify({ city: "Paris" }),
          status: "completed",
        },
        { type: "function_call", callId: "call-2", name: "explode", arguments: "{}" },
      ],
      [
        {
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "It is 21°C in Paris." }],
        },
      ],
    ]);
    const assistant = new Agent({ name: "forecaster", model, tools: [weather, explode] });
    const runner = new Runner({ tracingDisabled: true });
    const stop = recordRunnerTools(runner, recorder);
    const result = await runner.run(assistant, "Weather in Paris?");
    stop();
    expect(result.finalOutput).toBe("It is 21°C in Paris.");
    expect(await recorder.flush()).toEqual({ recorded: 4, failures: [] });

    const rows = await h.actionsOf(agent.address);
    const receipts = await Promise.all(rows.map((r) => h.verifiedReceipt(r.id)));
    const seen = receipts.map(({ receipt }) => ({
      type: receipt.action.entry.message.actionType,
      parents: receipt.action.entry.message.parents,
      payload: receipt.payload as Record<string, unknown>,
    }));
    const find = (type: string, callId: string) => {
      const i = seen.findIndex((s) => s.type === type && s.payload.callId === callId);
      const found = seen[i];
      if (found === undefined) throw new Error(`no ${type} for ${callId}`);
      return { ...found, id: rows[i]?.id };
    };
    const call1 = find(TOOL_ACTION_TYPES.call, "call-1");
    expect(call1.payload).toEqual({
      framework: "openai-agents",
      tool: "weather",
      callId: "call-1",
      input: { city: "Paris" },
      agent: "forecaster",
    });
    const result1 = find(TOOL_ACTION_TYPES.result, "call-1");
    expect(result1.payload).toEqual({
      framework: "openai-agents",
      tool: "weather",
      callId: "call-1",
      output: "21°C in Paris",
    });
    expect(result1.parents).toEqual([call1.id]);
    const result2 = find(TOOL_ACTION_TYPES.result, "call-2");
    expect(result2.payload.output).toBe("failed: out of range");
    expect(result2.parents).toEqual([find(TOOL_ACTION_TYPES.call, "call-2").id]);

    // Detached: a second run records nothing.
    const again = new ScriptedModel([
      [{ type: "function_call", callId: "call-3", name: "weather", arguments: '{"city":"Rome"}' }],
      [
        {
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "ok" }],
        },
      ],
    ]);
    await runner.run(assistant.clone({ model: again }), "Rome?");
    expect(await recorder.flush()).toEqual({ recorded: 0, failures: [] });
  });

  it("records other tool kinds by their item (without providerData) and id", async () => {
    const { agent, recorder } = await h.newRecorder();
    const runner = new Runner({ tracingDisabled: true });
    // The hooks are typed for any agent output; this one outputs text.
    const assistant = new Agent({
      name: "searcher",
      model: new ScriptedModel([]),
    }) as unknown as Agent<unknown, AgentOutputType<unknown>>;
    const stop = recordRunnerTools(runner, recorder);
    const context = new RunContext();
    const hosted = {
      type: "hosted_tool_call" as const,
      id: "ws-1",
      name: "web_search",
      arguments: '{"q":"x"}',
      providerData: { internal: true },
    };
    runner.emit("agent_tool_start", context, assistant, weather, { toolCall: hosted });
    runner.emit("agent_tool_end", context, assistant, weather, "found", { toolCall: hosted });
    const anonymous = { type: "hosted_tool_call" as const, name: "web_search" };
    runner.emit("agent_tool_start", context, assistant, weather, { toolCall: anonymous });
    stop();
    expect(await recorder.flush()).toEqual({ recorded: 3, failures: [] });
    const rows = await h.actionsOf(agent.address);
    const payloads = await Promise.all(
      rows.map(async (r) => (await h.verifiedReceipt(r.id)).receipt.payload),
    );
    expect(payloads).toEqual([
      {
        framework: "openai-agents",
        tool: "weather",
        callId: "ws-1",
        input: { type: "hosted_tool_call", id: "ws-1", name: "web_search", arguments: '{"q":"x"}' },
        agent: "searcher",
      },
      { framework: "openai-agents", tool: "weather", callId: "ws-1", output: "found" },
      {
        framework: "openai-agents",
        tool: "weather",
        callId: null,
        input: { type: "hosted_tool_call", name: "web_search" },
        agent: "searcher",
      },
    ]);
  });
});

describe("recordRunner (OpenAI Agents SDK, model steps included)", () => {
  it("chains model call → model result → tool call → tool result → model call", async () => {
    const { agent, recorder } = await h.newRecorder();
    const scripted = new ScriptedModel([
      [
        {
          type: "function_call",
          callId: "call-1",
          name: "weather",
          arguments: JSON.stringify({ city: "Oslo" }),
          status: "completed",
        },
      ],
      [
        {
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "It is 21°C in Oslo." }],
        },
      ],
    ]);
    const runner = new Runner({ tracingDisabled: true });
    const run = recordRunner(runner, recorder, { provider: "scripted" });
    const assistant = new Agent({
      name: "forecaster",
      model: run.wrap(scripted, "scripted-1"),
      tools: [weather],
    });
    const result = await runner.run(assistant, "Weather in Oslo?");
    run.stop();
    expect(result.finalOutput).toBe("It is 21°C in Oslo.");
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
    expect(call1?.payload).toMatchObject({ provider: "scripted", model: "scripted-1" });
    expect(answer1?.parents).toEqual([call1?.id]);
    expect(toolCall?.parents).toEqual([answer1?.id]);
    expect(toolResult?.parents).toEqual([toolCall?.id]);
    expect(call2?.parents).toEqual([toolResult?.id]);
    expect(answer2?.parents).toEqual([call2?.id]);
  });
});
