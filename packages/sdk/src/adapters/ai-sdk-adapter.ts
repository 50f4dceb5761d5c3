import type {
  LanguageModelV3,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from "@ai-sdk/provider";
import {
  type LanguageModelMiddleware,
  type OnToolCallFinishEvent,
  type OnToolCallStartEvent,
  type TelemetryIntegration,
  wrapLanguageModel,
} from "ai";
import type { AgentRecorder } from "../recorder.js";
import {
  ModelCallLog,
  type ModelRecorderOptions,
  RunChain,
  type TokenUsage,
  tokenCount,
} from "./model-calls.js";
import { ToolCallLog, type ToolRecorderOptions } from "./tool-calls.js";

/**
 * A Vercel AI SDK (v6) telemetry integration that records every tool
 * execution as signed actions: `tool.call` before the tool's `execute` runs
 * (`{ framework: "ai-sdk", tool, callId, input, step }`), then `tool.result`
 * (`{ …, output }`) or `tool.error` (`{ …, error }`) with the call as parent.
 * Tool calls the SDK does not execute (no `execute`, provider-executed, or
 * refused by input validation) are not recorded.
 *
 * Pass it per call in `experimental_telemetry.integrations` (telemetry
 * itself can stay disabled), or to `registerTelemetryIntegration` for every
 * call; then `await recorder.flush()`.
 *
 * @example
 * const result = await generateText({
 *   model, tools, prompt,
 *   experimental_telemetry: { integrations: [chaosCoreTelemetry(recorder)] },
 * })
 * const { failures } = await recorder.flush()
 */
export function chaosCoreTelemetry(
  recorder: AgentRecorder,
  options: ToolRecorderOptions = {},
): TelemetryIntegration {
  return toolTelemetry(new ToolCallLog(recorder, "ai-sdk", options));
}

/** The AI SDK's tool events, recorded by `calls`. */
function toolTelemetry(calls: ToolCallLog): TelemetryIntegration {
  return {
    onToolCallStart(event: OnToolCallStartEvent) {
      const { toolCallId, toolName, input } = event.toolCall;
      return calls.start(toolCallId, {
        tool: toolName,
        callId: toolCallId,
        input,
        step: event.stepNumber ?? null,
      });
    },
    onToolCallFinish(event: OnToolCallFinishEvent) {
      const key = event.toolCall.toolCallId;
      return event.success ? calls.finish(key, event.output) : calls.fail(key, event.error);
    },
  };
}

/** Options of {@link chaosCoreRun}. */
export type RunRecorderOptions = ToolRecorderOptions & ModelRecorderOptions;

/** Token counts of an AI SDK (provider v3) usage object. */
function usageOf(usage: LanguageModelV3Usage | undefined): TokenUsage {
  const input = tokenCount(usage?.inputTokens?.total);
  const output = tokenCount(usage?.outputTokens?.total);
  return {
    inputTokens: input,
    outputTokens: output,
    totalTokens: input === null || output === null ? null : input + output,
  };
}

/**
 * Records a whole Vercel AI SDK run, model steps included: `model.call`
 * (`{ framework: "ai-sdk", provider, model, promptHash }`) before each call
 * of the wrapped model and `model.result` (`{ …, completionHash, usage,
 * latencyMs, finishReason }`) after it, and the tool calls as
 * {@link chaosCoreTelemetry} does — all in one chain of parents: model call →
 * model result → tool call → tool result → next model call. Prompts and
 * completions are hashed; `includeContent` records them too. Streams are
 * recorded when they end.
 *
 * @example
 * const run = chaosCoreRun(recorder)
 * await generateText({ model: run.wrap(model), tools, prompt,
 *   experimental_telemetry: { integrations: [run.telemetry] } })
 * await recorder.flush()
 */
export function chaosCoreRun(
  recorder: AgentRecorder,
  options: RunRecorderOptions = {},
): { wrap: (model: LanguageModelV3) => LanguageModelV3; telemetry: TelemetryIntegration } {
  const chain = new RunChain();
  const models = new ModelCallLog(recorder, "ai-sdk", chain, options);
  const calls = new ToolCallLog(recorder, "ai-sdk", options, chain);
  let step = 0;
  const middleware: LanguageModelMiddleware = {
    specificationVersion: "v3",
    async wrapGenerate({ doGenerate, params, model }) {
      const key = `generate-${step++}`;
      await models.start(key, {
        provider: model.provider,
        model: model.modelId,
        prompt: params.prompt,
      });
      try {
        const result = await doGenerate();
        await models.finish(key, {
          completion: result.content,
          usage: usageOf(result.usage),
          finishReason: result.finishReason?.unified ?? null,
        });
        return result;
      } catch (error) {
        await models.fail(key, error);
        throw error;
      }
    },
    async wrapStream({ doStream, params, model }) {
      const key = `stream-${step++}`;
      await models.start(key, {
        provider: model.provider,
        model: model.modelId,
        prompt: params.prompt,
      });
      let result: Awaited<ReturnType<typeof doStream>>;
      try {
        result = await doStream();
      } catch (error) {
        await models.fail(key, error);
        throw error;
      }
      const parts: LanguageModelV3StreamPart[] = [];
      let usage: LanguageModelV3Usage | undefined;
      let finishReason: string | null = null;
      const record = new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
        transform(part, controller) {
          if (part.type === "finish") {
            usage = part.usage;
            finishReason = part.finishReason?.unified ?? null;
          } else if (part.type === "error") {
            void models.fail(key, part.error);
          } else if (part.type !== "stream-start" && part.type !== "response-metadata") {
            parts.push(part);
          }
          controller.enqueue(part);
        },
        async flush() {
          await models.finish(key, { completion: parts, usage: usageOf(usage), finishReason });
        },
      });
      return { ...result, stream: result.stream.pipeThrough(record) };
    },
  };
  return {
    wrap: (model) => wrapLanguageModel({ model, middleware }) as LanguageModelV3,
    telemetry: toolTelemetry(calls),
  };
}
