import type { AgentOutputType, RunHookEvents, Runner } from "@openai/agents";
import type { AgentRecorder } from "../recorder.js";
import { parseArguments, ToolCallLog, type ToolRecorderOptions } from "./tool-calls.js";

export {
  TOOL_ACTION_TYPES,
  type ToolActionType,
  type ToolPayload,
  type ToolRecorderOptions,
} from "./tool-calls.js";

// biome-ignore lint/suspicious/noExplicitAny: the Runner's own hook types (RunHooks<any, …>)
type Events = RunHookEvents<any, AgentOutputType<unknown>>;
type ToolCall = Events["agent_tool_start"][3]["toolCall"];

/** The call's id (`callId` for function calls), else its item id. */
function callIdOf(toolCall: ToolCall): string | null {
  if ("callId" in toolCall && typeof toolCall.callId === "string") return toolCall.callId;
  return typeof toolCall.id === "string" ? toolCall.id : null;
}

/** A function call's JSON arguments (parsed), or the whole item for other tool kinds. */
function inputOf(toolCall: ToolCall): unknown {
  if (toolCall.type === "function_call") return parseArguments(toolCall.arguments);
  const { providerData: _, ...item } = toolCall as ToolCall & { providerData?: unknown };
  return item;
}

/**
 * Records the tool runs of an OpenAI Agents SDK `Runner` as signed actions,
 * through its run hooks: `tool.call` on `agent_tool_start`
 * (`{ framework: "openai-agents", tool, callId, input, agent }`, `input` being
 * the parsed JSON arguments of a function call) and `tool.result` on
 * `agent_tool_end` (`{ …, output }`, the string the model sees) with the call
 * as parent.
 *
 * The SDK emits these hooks without waiting for listeners, so entries are
 * only queued (`awaitRecords` cannot hold the run): `await recorder.flush()`
 * after the run. A function tool that throws is reported by the SDK as an
 * ordinary end whose output is its error function's message, so it is
 * recorded as `tool.result`, not `tool.error`.
 *
 * @returns a function that removes the hooks.
 * @example
 * const runner = new Runner()
 * const stop = recordRunnerTools(runner, recorder)
 * await runner.run(agent, "…")
 * stop()
 * const { failures } = await recorder.flush()
 */
export function recordRunnerTools(
  runner: Pick<Runner, "on" | "off">,
  recorder: AgentRecorder,
  options: ToolRecorderOptions = {},
): () => void {
  const calls = new ToolCallLog(recorder, "openai-agents", options);
  const keyOf = (toolCall: ToolCall) => callIdOf(toolCall) ?? "(no call id)";
  const onStart = (...[, agent, tool, details]: Events["agent_tool_start"]) => {
    void calls.start(keyOf(details.toolCall), {
      tool: tool.name,
      callId: callIdOf(details.toolCall),
      input: inputOf(details.toolCall),
      agent: agent.name,
    });
  };
  const onEnd = (...[, , , result, details]: Events["agent_tool_end"]) => {
    void calls.finish(keyOf(details.toolCall), result);
  };
  runner.on("agent_tool_start", onStart);
  runner.on("agent_tool_end", onEnd);
  return () => {
    runner.off("agent_tool_start", onStart);
    runner.off("agent_tool_end", onEnd);
  };
}
