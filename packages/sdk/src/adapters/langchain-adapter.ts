import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import { type BaseMessage, isBaseMessage, isToolMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { AgentRecorder } from "../recorder.js";
import {
  ModelCallLog,
  type ModelRecorderOptions,
  RunChain,
  type TokenUsage,
  tokenCount,
} from "./model-calls.js";
import { parseArguments, ToolCallLog, type ToolRecorderOptions } from "./tool-calls.js";

/**
 * A LangChain.js callback handler (also for LangGraph.js, whose nodes run
 * LangChain models and tools) that records every model call and tool run as
 * signed actions, chained in the run's order (model call → model result →
 * tool call → tool result → next model call): `model.call`
 * (`{ framework: "langchain", provider, model, promptHash }`) and
 * `model.result` (`{ …, completionHash, usage, latencyMs, finishReason }`),
 * content only with `includeContent`, `models: false` to record tools only; and
 * `tool.call` when it starts (`{ framework: "langchain", tool, callId, input }`,
 * `callId` being the model's tool call id when there is one), then
 * `tool.result` (`{ …, output }`) or `tool.error` (`{ …, error }`) with the
 * call as parent. Tool messages are recorded as `{ content, status?, artifact? }`,
 * other messages as `{ type, content }`.
 *
 * `awaitHandlers` is true, so LangChain calls the handler in order, inline
 * with the run (it only queues entries unless `awaitRecords` is set). Pass
 * it in `callbacks` of any `invoke`; then `await recorder.flush()`.
 *
 * @example
 * const handler = new ChaosCoreCallbackHandler(recorder)
 * await agent.invoke({ messages: [new HumanMessage("…")] }, { callbacks: [handler] })
 * const { failures } = await recorder.flush()
 */
export class ChaosCoreCallbackHandler extends BaseCallbackHandler {
  name = "chaoscore";
  override awaitHandlers = true;
  private readonly calls: ToolCallLog;
  private readonly models: ModelCallLog | undefined;

  constructor(
    recorder: AgentRecorder,
    options: ToolRecorderOptions & ModelRecorderOptions & { models?: boolean } = {},
  ) {
    super();
    const chain = new RunChain();
    this.calls = new ToolCallLog(recorder, "langchain", options, chain);
    this.models =
      options.models === false
        ? undefined
        : new ModelCallLog(recorder, "langchain", chain, options);
  }

  override handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ): Promise<void> {
    if (this.models === undefined) return Promise.resolve();
    return this.models.start(runId, {
      ...modelOf(llm, extraParams, metadata),
      prompt: messages.map((batch) =>
        batch.map((m) => ({ type: m.getType(), content: m.content })),
      ),
    });
  }

  override handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ): Promise<void> {
    if (this.models === undefined) return Promise.resolve();
    return this.models.start(runId, { ...modelOf(llm, extraParams, metadata), prompt: prompts });
  }

  override handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    if (this.models === undefined) return Promise.resolve();
    const generations = output.generations.map((batch) =>
      batch.map((g) => {
        const message = (g as { message?: unknown }).message;
        return isBaseMessage(message)
          ? {
              type: message.getType(),
              content: message.content,
              toolCalls: (message as { tool_calls?: unknown }).tool_calls ?? [],
            }
          : { text: g.text };
      }),
    );
    const first = output.generations[0]?.[0] as
      | { message?: unknown; generationInfo?: Record<string, unknown> }
      | undefined;
    return this.models.finish(runId, {
      completion: generations,
      usage: usageOf(output, first?.message),
      finishReason:
        typeof first?.generationInfo?.finish_reason === "string"
          ? first.generationInfo.finish_reason
          : null,
    });
  }

  override handleLLMError(error: unknown, runId: string): Promise<void> {
    if (this.models === undefined) return Promise.resolve();
    return this.models.fail(runId, error);
  }

  /** A copy that shares the open calls, so a run started on one is finished on the other. */
  override copy(): ChaosCoreCallbackHandler {
    return Object.assign(Object.create(Object.getPrototypeOf(this)), this);
  }

  override handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): Promise<void> {
    return this.calls.start(runId, {
      tool: runName ?? tool.name ?? tool.id.at(-1) ?? null,
      callId: toolCallId ?? null,
      input: parseArguments(input),
    });
  }

  override handleToolEnd(output: unknown, runId: string): Promise<void> {
    return this.calls.finish(runId, toolOutput(output));
  }

  override handleToolError(error: unknown, runId: string): Promise<void> {
    return this.calls.fail(runId, error);
  }
}

function toolOutput(output: unknown): unknown {
  if (isToolMessage(output)) {
    return {
      content: output.content,
      ...(output.status === undefined ? {} : { status: output.status }),
      ...(output.artifact === undefined ? {} : { artifact: output.artifact }),
    };
  }
  if (isBaseMessage(output)) return { type: output.getType(), content: output.content };
  return output;
}

/** Provider and model id: LangSmith's metadata (`ls_provider`, `ls_model_name`), else the invocation params and class. */
function modelOf(
  llm: Serialized,
  extraParams: Record<string, unknown> | undefined,
  metadata: Record<string, unknown> | undefined,
): { provider: string | null; model: string | null } {
  const params = (extraParams?.invocation_params ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  return {
    provider: str(metadata?.ls_provider) ?? str(llm.id.at(-1)) ?? null,
    model: str(metadata?.ls_model_name) ?? str(params.model) ?? str(params.model_name) ?? null,
  };
}

/** Token counts: the message's `usage_metadata`, else the LLM output's `tokenUsage`. */
function usageOf(output: LLMResult, message: unknown): TokenUsage {
  const meta = (message as { usage_metadata?: Record<string, unknown> } | undefined)
    ?.usage_metadata;
  if (meta !== undefined) {
    return {
      inputTokens: tokenCount(meta.input_tokens),
      outputTokens: tokenCount(meta.output_tokens),
      totalTokens: tokenCount(meta.total_tokens),
    };
  }
  const usage = (output.llmOutput?.tokenUsage ?? {}) as Record<string, unknown>;
  return {
    inputTokens: tokenCount(usage.promptTokens),
    outputTokens: tokenCount(usage.completionTokens),
    totalTokens: tokenCount(usage.totalTokens),
  };
}
