import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import { isBaseMessage, isToolMessage } from "@langchain/core/messages";
import type { AgentRecorder } from "../recorder.js";
import { parseArguments, ToolCallLog, type ToolRecorderOptions } from "./tool-calls.js";

export {
  TOOL_ACTION_TYPES,
  type ToolActionType,
  type ToolPayload,
  type ToolRecorderOptions,
} from "./tool-calls.js";

/**
 * A LangChain.js callback handler (also for LangGraph.js, whose nodes run
 * LangChain tools) that records every tool run as signed actions:
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

  constructor(recorder: AgentRecorder, options: ToolRecorderOptions = {}) {
    super();
    this.calls = new ToolCallLog(recorder, "langchain", options);
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
