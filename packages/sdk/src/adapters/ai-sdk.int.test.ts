import { generateText, stepCountIs, streamText, tool } from "ai";
import { convertArrayToReadableStream, MockLanguageModelV3 } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { chaosCoreRun, chaosCoreTelemetry, TOOL_ACTION_TYPES } from "./ai-sdk.js";
import { type Harness, hashOf, openHarness } from "./test-support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(() => h.close());

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

/** A scripted model: first two tool calls (weather, explode), then a final answer. */
function scriptedModel() {
  return new MockLanguageModelV3({
    doGenerate: [
      {
        content: [
          {
            type: "tool-call",
            toolCallId: "call-1",
            toolName: "weather",
            input: JSON.stringify({ city: "Paris" }),
          },
          { type: "tool-call", toolCallId: "call-2", toolName: "explode", input: "{}" },
        ],
        finishReason: { unified: "tool-calls", raw: undefined },
        usage,
        warnings: [],
      },
      {
        content: [{ type: "text", text: "It is 21°C in Paris." }],
        finishReason: { unified: "stop", raw: undefined },
        usage,
        warnings: [],
      },
    ],
  });
}

const tools = {
  weather: tool({
    description: "current weather",
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, celsius: 21, observed: new Date(0), samples: 3n }),
  }),
  explode: tool({
    description: "always fails",
    inputSchema: z.object({}),
    execute: async (): Promise<string> => {
      throw new RangeError("out of range");
    },
  }),
};

describe("chaosCoreTelemetry (Vercel AI SDK)", () => {
  it("records each tool call, its result and its error as signed actions the log proves", async () => {
    const { agent, recorder } = await h.newRecorder();
    const result = await generateText({
      model: scriptedModel(),
      tools,
      prompt: "Weather in Paris?",
      stopWhen: stepCountIs(3),
      experimental_telemetry: { integrations: [chaosCoreTelemetry(recorder)] },
    });
    expect(result.text).toBe("It is 21°C in Paris.");
    expect(await recorder.flush()).toEqual({ recorded: 4, failures: [] });

    const rows = await h.actionsOf(agent.address);
    expect(rows.map((r) => r.actionType).sort()).toEqual(
      [
        TOOL_ACTION_TYPES.call,
        TOOL_ACTION_TYPES.call,
        TOOL_ACTION_TYPES.error,
        TOOL_ACTION_TYPES.result,
      ].sort(),
    );
    expect(rows.map((r) => r.nonce)).toEqual(["1", "2", "3", "4"]);

    const receipts = await Promise.all(rows.map((r) => h.verifiedReceipt(r.id)));
    const byType = (type: string, callId: string) => {
      const found = receipts.find(
        ({ receipt }) =>
          receipt.action.entry.message.actionType === type &&
          (receipt.payload as { callId: string }).callId === callId,
      );
      if (found === undefined) throw new Error(`no ${type} for ${callId}`);
      return found;
    };

    const call = byType("tool.call", "call-1");
    expect(call.receipt.payload).toEqual({
      framework: "ai-sdk",
      tool: "weather",
      callId: "call-1",
      input: { city: "Paris" },
      step: 0,
    });
    expect(call.receipt.action.entry.message.payloadHash).toBe(hashOf(call.receipt.payload));
    expect(call.verified.agent).toBe(agent.address);

    const output = byType("tool.result", "call-1");
    expect(output.receipt.payload).toEqual({
      framework: "ai-sdk",
      tool: "weather",
      callId: "call-1",
      output: { city: "Paris", celsius: 21, observed: "1970-01-01T00:00:00.000Z", samples: "3" },
    });
    expect(output.receipt.action.entry.message.parents).toEqual([call.verified.actionId]);

    const failedCall = byType("tool.call", "call-2");
    const error = byType("tool.error", "call-2");
    expect(error.receipt.payload).toEqual({
      framework: "ai-sdk",
      tool: "explode",
      callId: "call-2",
      error: { name: "RangeError", message: "out of range" },
    });
    expect(error.receipt.action.entry.message.parents).toEqual([failedCall.verified.actionId]);
    // Each call precedes its own result in the log.
    expect(call.verified.leafIndex).toBeLessThan(output.verified.leafIndex);
    expect(failedCall.verified.leafIndex).toBeLessThan(error.verified.leafIndex);
  });

  it("with awaitRecords, the call is in the log before the tool runs; redact rewrites payloads", async () => {
    const { agent, recorder } = await h.newRecorder();
    let seenBeforeExecute: string[] = [];
    const result = await generateText({
      model: new MockLanguageModelV3({
        doGenerate: [
          {
            content: [
              {
                type: "tool-call",
                toolCallId: "c",
                toolName: "login",
                input: JSON.stringify({ user: "ada", password: "hunter2" }),
              },
            ],
            finishReason: { unified: "tool-calls", raw: undefined },
            usage,
            warnings: [],
          },
          {
            content: [{ type: "text", text: "done" }],
            finishReason: { unified: "stop", raw: undefined },
            usage,
            warnings: [],
          },
        ],
      }),
      tools: {
        login: tool({
          inputSchema: z.object({ user: z.string(), password: z.string() }),
          execute: async () => {
            seenBeforeExecute = (await h.actionsOf(agent.address)).map((r) => r.actionType);
            return "ok";
          },
        }),
      },
      prompt: "log in",
      stopWhen: stepCountIs(2),
      experimental_telemetry: {
        integrations: chaosCoreTelemetry(recorder, {
          awaitRecords: true,
          redact: (type, payload) =>
            type === "tool.call"
              ? { ...payload, input: { ...(payload.input as object), password: "[redacted]" } }
              : payload,
        }),
      },
    });
    expect(result.text).toBe("done");
    expect(seenBeforeExecute).toEqual(["tool.call"]);
    await recorder.flush();
    const [call] = await h.actionsOf(agent.address);
    const { receipt } = await h.verifiedReceipt(call?.id ?? "0x");
    expect(receipt.payload).toMatchObject({ input: { user: "ada", password: "[redacted]" } });
  });

  it("records the tools of a streamed run (streamText) the same way", async () => {
    const { agent, recorder } = await h.newRecorder();
    const finish = (unified: "tool-calls" | "stop") => ({
      type: "finish" as const,
      finishReason: { unified, raw: undefined },
      usage,
    });
    const model = new MockLanguageModelV3({
      doStream: [
        {
          stream: convertArrayToReadableStream([
            { type: "stream-start", warnings: [] },
            {
              type: "tool-call",
              toolCallId: "s-1",
              toolName: "weather",
              input: JSON.stringify({ city: "Lima" }),
            },
            finish("tool-calls"),
          ]),
        },
        {
          stream: convertArrayToReadableStream([
            { type: "stream-start", warnings: [] },
            { type: "text-start", id: "t" },
            { type: "text-delta", id: "t", delta: "Warm." },
            { type: "text-end", id: "t" },
            finish("stop"),
          ]),
        },
      ],
    });
    const stream = streamText({
      model,
      tools,
      prompt: "Weather in Lima?",
      stopWhen: stepCountIs(3),
      experimental_telemetry: { integrations: [chaosCoreTelemetry(recorder)] },
    });
    expect(await stream.text).toBe("Warm.");
    expect(await recorder.flush()).toEqual({ recorded: 2, failures: [] });
    const [call, result] = await h.actionsOf(agent.address);
    expect([call?.actionType, result?.actionType]).toEqual(["tool.call", "tool.result"]);
    const { receipt } = await h.verifiedReceipt(result?.id ?? "0x");
    expect(receipt.action.entry.message.parents).toEqual([call?.id]);
    expect(receipt.payload).toMatchObject({ callId: "s-1", output: { city: "Lima", celsius: 21 } });
  });

  it("never breaks the run when recording fails: the tool runs, flush reports why", async () => {
    const { recorder } = await h.newRecorder({ agent: `0x${"cd".repeat(20)}` }); // not registered
    const result = await generateText({
      model: scriptedModel(),
      tools,
      prompt: "Weather in Paris?",
      stopWhen: stepCountIs(3),
      experimental_telemetry: {
        integrations: [chaosCoreTelemetry(recorder, { awaitRecords: true })],
      },
    });
    expect(result.text).toBe("It is 21°C in Paris.");
    const { recorded, failures } = await recorder.flush();
    expect(recorded).toBe(0);
    expect(
      failures.map((f) => [f.subject, f.state, (f.error as { code?: string }).code]).sort(),
    ).toEqual(
      [
        ["tool.call", "rejected", "AGENT_NOT_FOUND"],
        ["tool.call", "rejected", "AGENT_NOT_FOUND"],
        ["tool.error", "not-sent", "AGENCY_PARENT_NOT_FOUND"],
        ["tool.result", "not-sent", "AGENCY_PARENT_NOT_FOUND"],
      ].sort(),
    );
  });
});

describe("chaosCoreRun (Vercel AI SDK, model steps included)", () => {
  it("chains model call → model result → tool calls → tool results → next model call", async () => {
    const { agent, recorder } = await h.newRecorder();
    const run = chaosCoreRun(recorder);
    const result = await generateText({
      model: run.wrap(scriptedModel()),
      tools,
      prompt: "Weather in Paris?",
      stopWhen: stepCountIs(3),
      experimental_telemetry: { integrations: [run.telemetry] },
    });
    expect(result.text).toBe("It is 21°C in Paris.");
    expect(await recorder.flush()).toEqual({ recorded: 8, failures: [] });
    const view = await h.stepsOf(agent.address);
    const [call1, answer1] = view;
    expect(call1?.type).toBe("model.call");
    expect(call1?.parents).toEqual([]);
    expect(call1?.payload).toEqual({
      framework: "ai-sdk",
      provider: "mock-provider",
      model: "mock-model-id",
      promptHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
    expect(answer1?.type).toBe("model.result");
    expect(answer1?.parents).toEqual([call1?.id]);
    expect(answer1?.payload).toMatchObject({
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
      finishReason: "tool-calls",
      latencyMs: expect.any(Number),
    });
    const toolCalls = view.filter((v) => v.type === "tool.call");
    expect(toolCalls).toHaveLength(2);
    for (const c of toolCalls) expect(c.parents).toEqual([answer1?.id]);
    const ends = view.filter((v) => v.type === "tool.result" || v.type === "tool.error");
    const call2 = view.find((v, i) => v.type === "model.call" && i > 0);
    expect(new Set(call2?.parents)).toEqual(new Set(ends.map((e) => e.id)));
    const answer2 = view.at(-1);
    expect(answer2).toMatchObject({ type: "model.result", parents: [call2?.id] });
    expect(answer2?.payload.finishReason).toBe("stop");
    // the log order is the run's order
    expect(view.map((v) => v.type)).toEqual([
      "model.call",
      "model.result",
      ...view.slice(2, 6).map((v) => v.type),
      "model.call",
      "model.result",
    ]);
  });

  it("records streamed model steps when the stream ends, content only when asked", async () => {
    const { agent, recorder } = await h.newRecorder();
    const run = chaosCoreRun(recorder, { includeContent: true });
    const model = new MockLanguageModelV3({
      doStream: [
        {
          stream: convertArrayToReadableStream([
            { type: "stream-start", warnings: [] },
            { type: "text-start", id: "t" },
            { type: "text-delta", id: "t", delta: "Warm." },
            { type: "text-end", id: "t" },
            { type: "finish", finishReason: { unified: "stop", raw: undefined }, usage },
          ]),
        },
      ],
    });
    const stream = streamText({ model: run.wrap(model), prompt: "Weather?" });
    expect(await stream.text).toBe("Warm.");
    expect(await recorder.flush()).toEqual({ recorded: 2, failures: [] });
    const [call, answer] = await h.actionsOf(agent.address);
    const callReceipt = (await h.verifiedReceipt(call?.id ?? "0x")).receipt;
    expect(callReceipt.payload).toMatchObject({ prompt: [{ role: "user" }] });
    const { receipt } = await h.verifiedReceipt(answer?.id ?? "0x");
    expect(receipt.payload).toMatchObject({
      finishReason: "stop",
      completion: expect.arrayContaining([{ type: "text-delta", id: "t", delta: "Warm." }]),
    });
  });

  it("cuts a prompt larger than the content cap to a marker, keeping the hash of the whole prompt", async () => {
    const { agent, recorder } = await h.newRecorder();
    const run = chaosCoreRun(recorder, { includeContent: true });
    const big = "x".repeat(200_000);
    await generateText({
      model: run.wrap(
        new MockLanguageModelV3({
          doGenerate: [
            {
              content: [{ type: "text", text: "short" }],
              finishReason: { unified: "stop", raw: undefined },
              usage,
              warnings: [],
            },
          ],
        }),
      ),
      prompt: big,
    });
    expect(await recorder.flush()).toEqual({ recorded: 2, failures: [] });
    const [call] = await h.actionsOf(agent.address);
    const { receipt } = await h.verifiedReceipt(call?.id ?? "0x");
    const payload = receipt.payload as { promptHash: string; prompt: Record<string, unknown> };
    expect(payload.prompt).toMatchObject({ format: "chaoscore.truncated/v1" });
    expect(payload.prompt.sha256).toBe(payload.promptHash);
    expect((payload.prompt.bytes as number) > 200_000).toBe(true);
  });
});
