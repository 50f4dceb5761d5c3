import { canonicalJsonBytes, type Hex, sha256Hex } from "@chaoscore/core";
import type { AgentRecorder, RecordedAction } from "../recorder.js";
import { toJsonSafe } from "../recorder.js";

/** The action types of model steps. */
export const MODEL_ACTION_TYPES = {
  call: "model.call",
  result: "model.result",
  error: "model.error",
} as const;

/** One of {@link MODEL_ACTION_TYPES}. */
export type ModelActionType = (typeof MODEL_ACTION_TYPES)[keyof typeof MODEL_ACTION_TYPES];

/** Token counts of one model call, as the provider reported them (null when it did not). */
export type TokenUsage = {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
};

/**
 * The payload of `model.call`: who was asked, and the hash of what. The
 * prompt itself only with `includeContent`.
 */
export type ModelCallPayload = {
  framework: string;
  provider: string | null;
  model: string | null;
  /** SHA-256 of the prompt's canonical JSON (RFC 8785) after {@link toJsonSafe}. */
  promptHash: Hex;
  prompt?: unknown;
  [key: string]: unknown;
};

/** The payload of `model.result`. The completion itself only with `includeContent`. */
export type ModelResultPayload = {
  framework: string;
  provider: string | null;
  model: string | null;
  completionHash: Hex;
  completion?: unknown;
  usage: TokenUsage;
  /** Wall time from the call to its answer, in milliseconds. */
  latencyMs: number;
  finishReason: string | null;
};

/** Options of the model-step recording of every adapter. */
export type ModelRecorderOptions = {
  /** Also record prompts and completions themselves, not only their hashes. Default false. */
  includeContent?: boolean;
  /**
   * Hold the framework until each model step is recorded (the call is in the
   * log before the model is asked). Default false: entries are only queued.
   */
  awaitRecords?: boolean;
};

/**
 * Largest prompt or completion kept as content (canonical JSON bytes); a
 * larger one is replaced by a `chaoscore.truncated/v1` marker (its size, its
 * SHA-256, a preview), so a step always fits the recorder's payload cap and
 * its `promptHash` / `completionHash` still name the whole content.
 */
export const MAX_CONTENT_BYTES = 32 * 1024;

/** The content kept with `includeContent`: normalised, cut to {@link MAX_CONTENT_BYTES}. */
function contentOf(value: unknown): unknown {
  return toJsonSafe(value, { maxBytes: MAX_CONTENT_BYTES });
}

/** SHA-256 of a value's canonical JSON, after the recorder's normalisation (never throws). */
export function contentHash(value: unknown): Hex {
  return sha256Hex(canonicalJsonBytes(toJsonSafe(value, { maxBytes: Infinity })));
}

/**
 * The order of one agent run, so that its receipts chain: a `model.call`
 * follows the tool results since the previous model answer (or that answer);
 * a `tool.call` follows the model answer that asked for it; a `tool.result`
 * follows its call. Shared by the tool and model logs of one adapter.
 */
export class RunChain {
  #lastAnswer: Promise<RecordedAction> | undefined;
  #sinceAnswer: Promise<RecordedAction>[] = [];

  /** Parents of the next `model.call`. */
  forModelCall(): Promise<RecordedAction>[] {
    if (this.#sinceAnswer.length > 0) return this.#sinceAnswer.slice(-64);
    return this.#lastAnswer === undefined ? [] : [this.#lastAnswer];
  }

  /** Parents of the next `tool.call`. */
  forToolCall(): Promise<RecordedAction>[] {
    return this.#lastAnswer === undefined ? [] : [this.#lastAnswer];
  }

  modelAnswered(answer: Promise<RecordedAction>): void {
    this.#lastAnswer = answer;
    this.#sinceAnswer = [];
  }

  toolEnded(end: Promise<RecordedAction>): void {
    this.#sinceAnswer.push(end);
  }
}

type Open = {
  provider: string | null;
  model: string | null;
  started: number;
  action: Promise<RecordedAction>;
};

/**
 * Records model steps: `model.call` when a model is asked, `model.result`
 * (or `model.error`) when it answers, with the call as parent. Calls are
 * matched by a key the framework provides (a run id, a step number).
 */
export class ModelCallLog {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly recorder: AgentRecorder,
    private readonly framework: string,
    private readonly chain: RunChain,
    private readonly options: ModelRecorderOptions = {},
  ) {}

  /** Records `model.call`. */
  start(
    key: string,
    call: { provider: string | null; model: string | null; prompt: unknown } & Record<
      string,
      unknown
    >,
  ): Promise<void> {
    const { prompt, ...rest } = call;
    const payload: ModelCallPayload = {
      framework: this.framework,
      ...rest,
      provider: call.provider,
      model: call.model,
      promptHash: contentHash(prompt),
      ...(this.options.includeContent ? { prompt: contentOf(prompt) } : {}),
    };
    const action = this.recorder.record(MODEL_ACTION_TYPES.call, payload, {
      parents: this.chain.forModelCall(),
    });
    this.open.set(key, { provider: call.provider, model: call.model, started: Date.now(), action });
    return this.settle(action);
  }

  /** Records `model.result`, the child of the call started under `key`. */
  finish(
    key: string,
    answer: { completion: unknown; usage: TokenUsage; finishReason: string | null },
  ): Promise<void> {
    const call = this.open.get(key);
    this.open.delete(key);
    const payload: ModelResultPayload = {
      framework: this.framework,
      provider: call?.provider ?? null,
      model: call?.model ?? null,
      completionHash: contentHash(answer.completion),
      ...(this.options.includeContent ? { completion: contentOf(answer.completion) } : {}),
      usage: answer.usage,
      latencyMs: call === undefined ? 0 : Date.now() - call.started,
      finishReason: answer.finishReason,
    };
    const action = this.recorder.record(MODEL_ACTION_TYPES.result, payload, {
      parents: call === undefined ? [] : [call.action],
    });
    this.chain.modelAnswered(action);
    return this.settle(action);
  }

  /** Records `model.error`, the child of the call started under `key`. */
  fail(key: string, error: unknown): Promise<void> {
    const call = this.open.get(key);
    this.open.delete(key);
    const action = this.recorder.record(
      MODEL_ACTION_TYPES.error,
      {
        framework: this.framework,
        provider: call?.provider ?? null,
        model: call?.model ?? null,
        error,
        latencyMs: call === undefined ? 0 : Date.now() - call.started,
      },
      { parents: call === undefined ? [] : [call.action] },
    );
    this.chain.modelAnswered(action);
    return this.settle(action);
  }

  private async settle(action: Promise<RecordedAction>): Promise<void> {
    if (this.options.awaitRecords) await action.then(noop, noop);
  }
}

const noop = () => undefined;

/** A count the provider reported, or null. */
export function tokenCount(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
