import type { OnToolCallFinishEvent, OnToolCallStartEvent, TelemetryIntegration } from "ai";
import type { AgentRecorder } from "../recorder.js";
import { ToolCallLog, type ToolRecorderOptions } from "./tool-calls.js";

export {
  TOOL_ACTION_TYPES,
  type ToolActionType,
  type ToolPayload,
  type ToolRecorderOptions,
} from "./tool-calls.js";

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
  const calls = new ToolCallLog(recorder, "ai-sdk", options);
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
