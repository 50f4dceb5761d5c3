import type {
  AgentOutputType,
  Model,
  ModelRequest,
  ModelResponse,
  RunHookEvents,
  Runner,
} from "@openai/agents";
import type { AgentRecorder } from "../recorder.js";
import { ModelCallLog, type ModelRecorderOptions, RunChain, tokenCount } from "./model-calls.js";
import { parseArguments, ToolCallLog, type ToolRecorderOptions } from "./tool-calls.js";

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
  options: ToolRecorderOptions & { chain?: RunChain } = {},
): () => void {
  const calls = new ToolCallLog(recorder, "openai-agents", options, options.chain);
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

/**
 * Records a whole OpenAI Agents SDK run, model steps included: the tools as
 * {@link recordRunnerTools} does, and each call of a model wrapped with
 * `wrap` as `model.call` / `model.result` (`{ framework: "openai-agents",
 * provider, model, promptHash, completionHash, usage, latencyMs }`), all
 * chained in the run's order. Streamed responses are recorded when they end.
 *
 * @example
 * const run = recordRunner(runner, recorder)
 * const agent = new Agent({ name: "a", model: run.wrap(model), tools })
 * await runner.run(agent, "…")
 * run.stop()
 * await recorder.flush()
 */
export function recordRunner(
  runner: Pick<Runner, "on" | "off">,
  recorder: AgentRecorder,
  options: ToolRecorderOptions & ModelRecorderOptions & { provider?: string } = {},
): { wrap: (model: Model, modelId?: string) => Model; stop: () => void } {
  const chain = new RunChain();
  const stop = recordRunnerTools(runner, recorder, { ...options, chain });
  const models = new ModelCallLog(recorder, "openai-agents", chain, options);
  let calls = 0;
  const provider = options.provider ?? "openai";
  const promptOf = (request: ModelRequest) => ({
    systemInstructions: request.systemInstructions ?? null,
    input: request.input,
  });
  const answer = (response: ModelResponse) => ({
    completion: response.output,
    usage: {
      inputTokens: tokenCount(response.usage?.inputTokens),
      outputTokens: tokenCount(response.usage?.outputTokens),
      totalTokens: tokenCount(response.usage?.totalTokens),
    },
    finishReason: null,
  });
  function wrap(model: Model, modelId?: string): Model {
    const id = modelId ?? null;
    return {
      async getResponse(request) {
        const key = `call-${calls++}`;
        await models.start(key, { provider, model: id, prompt: promptOf(request) });
        try {
          const response = await model.getResponse(request);
          await models.finish(key, answer(response));
          return response;
        } catch (error) {
          await models.fail(key, error);
          throw error;
        }
      },
      async *getStreamedResponse(request) {
        const key = `stream-${calls++}`;
        await models.start(key, { provider, model: id, prompt: promptOf(request) });
        try {
          for await (const event of model.getStreamedResponse(request)) {
            if (event.type === "response_done")
              await models.finish(key, answer(event.response as never));
            yield event;
          }
        } catch (error) {
          await models.fail(key, error);
          throw error;
        }
      },
    };
  }
  return { wrap, stop };
}
