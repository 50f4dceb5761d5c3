import type { AgentRecorder, RecordedAction } from "../recorder.js";
import type { RunChain } from "./model-calls.js";

/** The action types the framework adapters record. */
export const TOOL_ACTION_TYPES = {
  call: "tool.call",
  result: "tool.result",
  error: "tool.error",
} as const;

/** One of {@link TOOL_ACTION_TYPES}. */
export type ToolActionType = (typeof TOOL_ACTION_TYPES)[keyof typeof TOOL_ACTION_TYPES];

/**
 * The payload of a tool action before normalisation. `tool.call` carries
 * `input` (and framework-specific context such as `step` or `agent`);
 * `tool.result` carries `output`; `tool.error` carries `error`.
 */
export type ToolPayload = {
  framework: string;
  /** The tool's name, or null when the framework did not say (a result without its call). */
  tool: string | null;
  /** The framework's id of the call (the model's tool call id), or null. */
  callId: string | null;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  [key: string]: unknown;
};

/** Options shared by the framework adapters. */
export type ToolRecorderOptions = {
  /**
   * Hold the framework until each entry is recorded (or has failed): the
   * call is in the log before the tool runs. Default false: entries are only
   * queued, and `recorder.flush()` waits for them. Recording failures are
   * never thrown into the framework either way; they reach `onError` and
   * `flush()`.
   */
  awaitRecords?: boolean;
  /** Rewrites a payload before it is signed (e.g. to drop secrets); return the payload to keep. */
  redact?: (actionType: ToolActionType, payload: ToolPayload) => unknown;
};

type Open = { tool: string | null; callId: string | null; action: Promise<RecordedAction> };

/**
 * The bookkeeping every adapter shares: records `tool.call` when a tool
 * starts and `tool.result` / `tool.error` when it ends, with the call as the
 * result's parent. Calls are matched by a key the framework provides (a run
 * id or tool call id).
 */
export class ToolCallLog {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly recorder: AgentRecorder,
    private readonly framework: string,
    private readonly options: ToolRecorderOptions = {},
    /** The run's order, when model steps are recorded too (see {@link RunChain}). */
    private readonly chain?: RunChain,
  ) {}

  /** Records `tool.call`. */
  start(
    key: string,
    call: { tool: string | null; callId: string | null; input: unknown } & Record<string, unknown>,
  ): Promise<void> {
    const action = this.record(
      TOOL_ACTION_TYPES.call,
      { framework: this.framework, ...call },
      this.chain?.forToolCall() ?? [],
    );
    this.open.set(key, { tool: call.tool, callId: call.callId, action });
    return this.settle(action);
  }

  /** Records `tool.result`, the child of the call started under `key` (if any). */
  finish(key: string, output: unknown): Promise<void> {
    return this.end(key, TOOL_ACTION_TYPES.result, { output });
  }

  /** Records `tool.error`, the child of the call started under `key` (if any). */
  fail(key: string, error: unknown): Promise<void> {
    return this.end(key, TOOL_ACTION_TYPES.error, { error });
  }

  private end(
    key: string,
    actionType: ToolActionType,
    fields: { output: unknown } | { error: unknown },
  ): Promise<void> {
    const call = this.open.get(key);
    this.open.delete(key);
    const payload: ToolPayload = {
      framework: this.framework,
      tool: call?.tool ?? null,
      callId: call?.callId ?? null,
      ...fields,
    };
    const action = this.record(actionType, payload, call === undefined ? [] : [call.action]);
    this.chain?.toolEnded(action);
    return this.settle(action);
  }

  private record(
    actionType: ToolActionType,
    payload: ToolPayload,
    parents: Promise<RecordedAction>[],
  ): Promise<RecordedAction> {
    const redact = this.options.redact;
    return this.recorder.record(actionType, redact ? redact(actionType, payload) : payload, {
      parents,
    });
  }

  private async settle(action: Promise<RecordedAction>): Promise<void> {
    if (this.options.awaitRecords) await action.then(noop, noop);
  }
}

const noop = () => undefined;

/**
 * Tool arguments that arrive as JSON text: the parsed object when the text
 * is a JSON object, else the text unchanged.
 */
export function parseArguments(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // not JSON: keep the text
  }
  return text;
}
