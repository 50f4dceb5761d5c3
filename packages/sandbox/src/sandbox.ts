import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import {
  ChaosCoreError,
  canonicalJson,
  computeMeasurement,
  type ExecutionLimits,
  type Hex,
  hashExecutionCode,
  hashExecutionInput,
  isWellFormedJsonValue,
  isWellFormedText,
  type JsonValue,
  type RuntimeIdentity,
  sha256,
  sha256Hex,
  utf8,
} from "@chaoscore/core";
import { GAS_METER_VERSION } from "./gas-meter.mjs";
import { PRELUDE } from "./prelude.mjs";
import { type RunStats, SandboxWorkerPool } from "./worker-pool.js";

/** Version of this sandbox (the prelude, the host API and the worker protocol). */
export const SANDBOX_VERSION = "chaoscore.sandbox/2";

const require = createRequire(import.meta.url);
const QUICKJS_VERSION: string = (require("quickjs-emscripten/package.json") as { version: string })
  .version;

/**
 * The identity of this sandbox runtime, as measured: QuickJS through
 * quickjs-emscripten (its npm version), the WebAssembly variant with the
 * version of the gas instrumentation applied to it, the sandbox version and
 * the SHA-256 of the guest prelude.
 */
export const RUNTIME_IDENTITY: RuntimeIdentity = Object.freeze({
  engine: "quickjs",
  engineVersion: `quickjs-emscripten@${QUICKJS_VERSION}`,
  variant: `@jitl/quickjs-wasmfile-release-sync+${GAS_METER_VERSION}`,
  sandbox: SANDBOX_VERSION,
  prelude: sha256Hex(utf8(PRELUDE)),
});

/**
 * Default limits: 64 MiB of heap, 256 KiB of stack, 200 million gas (one
 * unit per function entry or loop iteration of the WebAssembly engine:
 * roughly 1 s of work on a 2020s core), a 5 s wall clock, 1 MiB of output
 * and 64 KiB of log.
 */
export const DEFAULT_EXECUTION_LIMITS: ExecutionLimits = Object.freeze({
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 256 * 1024,
  gas: 200_000_000,
  timeoutMs: 5000,
  outputBytes: 1024 * 1024,
  logBytes: 64 * 1024,
});

/** The engine's bounds on limits (the format allows more; the worker's native stack is 64 MiB). */
export const MAX_EXECUTION_LIMITS: ExecutionLimits = Object.freeze({
  memoryBytes: 1024 * 1024 * 1024,
  stackBytes: 1024 * 1024,
  gas: 2 ** 50,
  timeoutMs: 600_000,
  outputBytes: 64 * 1024 * 1024,
  logBytes: 16 * 1024 * 1024,
});

/**
 * Default server-side maxima of a {@link SecureExecutionEnvironment}: what a
 * caller may ask for per run (10 s, 64 MiB, 2 billion gas). An operator
 * raises them with the `maxLimits` option, up to {@link MAX_EXECUTION_LIMITS}.
 */
export const DEFAULT_MAX_LIMITS: ExecutionLimits = Object.freeze({
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 1024 * 1024,
  gas: 2_000_000_000,
  timeoutMs: 10_000,
  outputBytes: 4 * 1024 * 1024,
  logBytes: 1024 * 1024,
});

/** Largest code (after transpilation) and input (canonical JSON), in UTF-8 bytes. */
export const MAX_CODE_BYTES = 1024 * 1024;
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;
/** Extra time the parent waits past `timeoutMs` before it kills the worker. */
export const BACKSTOP_GRACE_MS = 2000;
/**
 * The engine image below the heap (static data and the 5 MiB C stack): a
 * run's WebAssembly memory is capped at ENGINE_IMAGE_BYTES + memoryBytes
 * (sandbox-worker.mjs holds the same constant).
 */
export const ENGINE_IMAGE_BYTES = 8 * 1024 * 1024;
/** A worker whose run ended with more WebAssembly memory than this is replaced. */
export const RECYCLE_ABOVE_BYTES = 48 * 1024 * 1024;

/** The language of the source handed to {@link SecureExecutionEnvironment.run}. */
export type CodeLanguage = "javascript" | "typescript";

/** Options of one run. Everything here that changes the output is recorded. */
export type RunOptions = {
  /** "typescript" transpiles first (the transpiled text is what runs and is measured). */
  language?: CodeLanguage;
  /** The PRNG seed (any text up to 1024 characters); default "". */
  seed?: string;
  /** The fixed clock, milliseconds since the epoch, that Date.now() and new Date() return; default 0. */
  clock?: number;
  /** Overrides of the environment's limits (they are part of the measurement). */
  limits?: Partial<ExecutionLimits>;
};

/** What a run produced. */
export type ExecutionResult = {
  /** The returned value (a JSON value). */
  output: JsonValue;
  /** SHA-256(JCS(output)). */
  outputHash: Hex;
  /** SHA-256(JCS({ format: "chaoscore.execution-input/v1", input, seed, clock })). */
  inputHash: Hex;
  /** SHA-256 of the code that ran. */
  codeHash: Hex;
  /** SHA-256(JCS({ format: "chaoscore.measurement/v2", codeHash, runtime, limits })). */
  measurement: Hex;
  /** The JavaScript that ran (after transpilation). */
  code: string;
  input: JsonValue;
  seed: string;
  clock: number;
  runtime: RuntimeIdentity;
  limits: ExecutionLimits;
  /** Gas the run used: deterministic, the same on every run of the same code, input, seed and clock. */
  gasUsed: number;
  /** Lines passed to `host.log` / `console.log`. */
  logs: string[];
  stats: RunStats;
};

function badInput(message: string, details?: Record<string, unknown>): never {
  throw new ChaosCoreError(
    "EXECUTION_BAD_INPUT",
    message,
    details === undefined ? {} : { details },
  );
}

/**
 * Lower bounds on configurable limits: below them QuickJS cannot even set up
 * its runtime (a run would fail as a sandbox failure, not as the code's fault).
 */
export const MIN_EXECUTION_LIMITS: ExecutionLimits = Object.freeze({
  memoryBytes: 1024 * 1024,
  stackBytes: 32 * 1024,
  gas: 1,
  timeoutMs: 1,
  outputBytes: 1,
  logBytes: 1,
});

/**
 * Merges `overrides` into `base` and checks every limit is an integer in
 * [MIN_EXECUTION_LIMITS, min(maxima, MAX_EXECUTION_LIMITS)].
 * @param maxima the server-side maxima (default {@link MAX_EXECUTION_LIMITS}).
 * @throws ChaosCoreError EXECUTION_BAD_INPUT.
 * @example resolveLimits({ gas: 1_000_000 }, DEFAULT_EXECUTION_LIMITS, DEFAULT_MAX_LIMITS)
 */
export function resolveLimits(
  overrides: Partial<ExecutionLimits> = {},
  base: ExecutionLimits = DEFAULT_EXECUTION_LIMITS,
  maxima: ExecutionLimits = MAX_EXECUTION_LIMITS,
): ExecutionLimits {
  const limits = { ...base };
  for (const key of Object.keys(MAX_EXECUTION_LIMITS) as (keyof ExecutionLimits)[]) {
    const value = overrides[key];
    if (value !== undefined) limits[key] = value;
    const v = limits[key];
    const max = Math.min(maxima[key], MAX_EXECUTION_LIMITS[key]);
    if (!Number.isSafeInteger(v) || v < MIN_EXECUTION_LIMITS[key] || v > max) {
      badInput(`limit ${key} must be an integer in [${MIN_EXECUTION_LIMITS[key]}, ${max}]`, {
        key,
        value: v,
        maximum: max,
      });
    }
  }
  const unknown = Object.keys(overrides).filter((k) => !(k in MAX_EXECUTION_LIMITS));
  if (unknown.length > 0) badInput(`unknown limits: ${unknown.join(", ")}`);
  return limits;
}

type TypeScriptModule = typeof import("typescript");
let typescript: Promise<TypeScriptModule> | undefined;

/**
 * Transpiles TypeScript to the JavaScript module that runs (ES2022, ES
 * modules; types are erased, nothing is type-checked). The output depends on
 * the `typescript` version; it is what gets measured, so a replay runs the
 * recorded JavaScript, never the TypeScript again.
 * @throws ChaosCoreError EXECUTION_COMPILE_ERROR on a syntax error.
 * @example const js = await transpileTypeScript("export default (x: number) => x + 1");
 */
export async function transpileTypeScript(source: string): Promise<string> {
  typescript ??= import("typescript").then((m) => (m.default ?? m) as TypeScriptModule);
  const ts = await typescript;
  const out = ts.transpileModule(source, {
    reportDiagnostics: true,
    fileName: "agent.ts",
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      sourceMap: false,
      inlineSourceMap: false,
      removeComments: false,
      newLine: ts.NewLineKind.LineFeed,
    },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const first = errors[0] as (typeof errors)[number];
    throw new ChaosCoreError(
      "EXECUTION_COMPILE_ERROR",
      `TypeScript: ${ts.flattenDiagnosticMessageText(first.messageText, "\n")}`,
      { details: { start: first.start ?? null, count: errors.length } },
    );
  }
  return out.outputText;
}

/** The 4 uint32 words of the PRNG state: SHA-256(UTF-8 seed)[0..16], big-endian. */
export function seedWords(seed: string): [number, number, number, number] {
  const digest = sha256(utf8(seed));
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  return [view.getUint32(0), view.getUint32(4), view.getUint32(8), view.getUint32(12)];
}

/**
 * The Secure Execution Environment (decision D8): runs agent JavaScript (or
 * TypeScript, transpiled first) in QuickJS compiled to WebAssembly, in a
 * worker thread, with a fresh QuickJS runtime and context per run.
 *
 * - limits: heap (`memoryBytes`: the WebAssembly memory's maximum, strings
 *   and ArrayBuffers included), stack (`stackBytes`), a deterministic gas
 *   budget (`gas`: every function entry and loop iteration
 *   of the WebAssembly engine, builtins and RegExp included), a wall clock
 *   (`timeoutMs`, a backstop only: checked by the interrupt
 *   handler, plus a backstop that terminates the worker), output and log sizes;
 * - no ambient authority: no fs, net, process, require, imports or host
 *   objects; the host API is `main(input, host)` with
 *   `host = { log(...args), random(), now() }` and `console.log`;
 * - deterministic: `Math.random` is the seeded PRNG, `Date.now()` and
 *   `new Date()` return the fixed clock, local time is UTC, and WeakRef,
 *   FinalizationRegistry, SharedArrayBuffer and Atomics are removed; the same
 *   code, input, seed and clock give the same output bytes.
 *
 * The module's default export, or its export `main`, is called with the
 * input (a fresh copy) and the host API, and returns a JSON value or a
 * promise of one.
 *
 * @example
 * ```ts
 * const sandbox = new SecureExecutionEnvironment();
 * const r = await sandbox.run("export default (input) => input.a + 1", { a: 1 });
 * r.output; // 2
 * await sandbox.close();
 * ```
 */
export class SecureExecutionEnvironment {
  /** The runtime identity that measurements of this environment use. */
  readonly runtime: RuntimeIdentity = RUNTIME_IDENTITY;
  /** The environment's default limits. */
  readonly limits: ExecutionLimits;
  /** The most a run may ask for (server-side maxima). */
  readonly maxLimits: ExecutionLimits;
  /** The worker threads. */
  readonly pool: SandboxWorkerPool;

  /**
   * @param options.limits overrides of {@link DEFAULT_EXECUTION_LIMITS}.
   * @param options.maxLimits overrides of {@link DEFAULT_MAX_LIMITS}: the
   * most a run may ask for (up to {@link MAX_EXECUTION_LIMITS}).
   * @param options.workers worker threads (default: 2, or 1 on one core).
   * @param options.backstopGraceMs how long past `timeoutMs` the parent waits
   * before it terminates the worker (default {@link BACKSTOP_GRACE_MS}).
   * @param options.recycleAboveBytes a worker whose run ended with more
   * WebAssembly memory than this is replaced (default {@link RECYCLE_ABOVE_BYTES}).
   * @throws ChaosCoreError EXECUTION_BAD_INPUT for invalid limits or options.
   */
  constructor(
    options: {
      limits?: Partial<ExecutionLimits>;
      maxLimits?: Partial<ExecutionLimits>;
      workers?: number;
      backstopGraceMs?: number;
      recycleAboveBytes?: number;
    } = {},
  ) {
    // The maxima default to DEFAULT_MAX_LIMITS, raised to this environment's own defaults.
    const baseMax = { ...DEFAULT_MAX_LIMITS };
    for (const key of Object.keys(baseMax) as (keyof ExecutionLimits)[]) {
      const own = options.limits?.[key];
      if (Number.isSafeInteger(own) && (own as number) > baseMax[key]) baseMax[key] = own as number;
    }
    this.maxLimits = Object.freeze(resolveLimits(options.maxLimits, baseMax));
    this.limits = Object.freeze(
      resolveLimits(options.limits, DEFAULT_EXECUTION_LIMITS, this.maxLimits),
    );
    const backstopGraceMs = options.backstopGraceMs ?? BACKSTOP_GRACE_MS;
    const workers = options.workers ?? Math.min(2, availableParallelism());
    const recycleAboveBytes = options.recycleAboveBytes ?? RECYCLE_ABOVE_BYTES;
    for (const [name, v, min] of [
      ["backstopGraceMs", backstopGraceMs, 0],
      ["workers", workers, 1],
      ["recycleAboveBytes", recycleAboveBytes, 0],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < min) badInput(`${name} must be an integer ≥ ${min}`);
    }
    if (workers > 64) badInput("workers must be at most 64");
    this.pool = new SandboxWorkerPool({ size: workers, backstopGraceMs, recycleAboveBytes });
  }

  /**
   * The JavaScript that runs for `source`: the source itself, or its
   * TypeScript transpilation.
   * @throws ChaosCoreError EXECUTION_COMPILE_ERROR (TypeScript syntax),
   * EXECUTION_BAD_INPUT (not text, or over {@link MAX_CODE_BYTES}).
   */
  async prepare(source: string, language: CodeLanguage = "javascript"): Promise<string> {
    if (typeof source !== "string" || !isWellFormedText(source)) {
      badInput("the code is not well-formed text");
    }
    if (language !== "javascript" && language !== "typescript") {
      badInput(`unknown language ${String(language)}`);
    }
    const code = language === "typescript" ? await transpileTypeScript(source) : source;
    const size = Buffer.byteLength(code, "utf8");
    if (size > MAX_CODE_BYTES) {
      badInput("the code is too large", { size, limit: MAX_CODE_BYTES });
    }
    return code;
  }

  /**
   * The measurement of `code` (JavaScript, as it runs) under this
   * environment's runtime and the given limits.
   * @throws ChaosCoreError EXECUTION_BAD_INPUT for invalid limits.
   */
  measure(code: string, limits: Partial<ExecutionLimits> = {}): Hex {
    return computeMeasurement({
      codeHash: hashExecutionCode(code),
      runtime: this.runtime,
      limits: resolveLimits(limits, this.limits, this.maxLimits),
    });
  }

  /**
   * Runs `source` on `input` in a fresh QuickJS runtime.
   * @throws ChaosCoreError EXECUTION_BAD_INPUT, EXECUTION_COMPILE_ERROR,
   * EXECUTION_CODE_ERROR, EXECUTION_TIMEOUT, EXECUTION_CPU_LIMIT,
   * EXECUTION_MEMORY_LIMIT, EXECUTION_STACK_OVERFLOW,
   * EXECUTION_OUTPUT_TOO_LARGE, EXECUTION_LOG_TOO_LARGE, EXECUTION_BAD_OUTPUT,
   * EXECUTION_SANDBOX_FAILURE. `details.logs` and `details.stats` are set on
   * failures that happened inside the sandbox.
   * @example
   * ```ts
   * const r = await sandbox.run(code, proposal, { seed: "task-7", clock: Date.parse("2025-01-01") });
   * ```
   */
  async run(source: string, input: unknown, options: RunOptions = {}): Promise<ExecutionResult> {
    const seed = options.seed ?? "";
    const clock = options.clock ?? 0;
    if (typeof seed !== "string" || seed.length > 1024 || !isWellFormedText(seed)) {
      badInput("the seed must be well-formed text of at most 1024 characters");
    }
    if (!Number.isSafeInteger(clock) || Math.abs(clock) > 8.64e15) {
      badInput("the clock must be integer milliseconds within the Date range", { clock });
    }
    const limits = resolveLimits(options.limits, this.limits, this.maxLimits);
    const code = await this.prepare(source, options.language ?? "javascript");
    let inputText: string;
    try {
      inputText = canonicalJson(input);
    } catch (cause) {
      throw new ChaosCoreError("EXECUTION_BAD_INPUT", "the input is not a JSON value", { cause });
    }
    if (!isWellFormedJsonValue(input)) badInput("the input holds a lone surrogate");
    const inputSize = Buffer.byteLength(inputText, "utf8");
    if (inputSize > MAX_INPUT_BYTES) {
      badInput("the input is too large", { size: inputSize, limit: MAX_INPUT_BYTES });
    }
    const jsonInput = JSON.parse(inputText) as JsonValue;
    const codeHash = hashExecutionCode(code);
    const measurement = computeMeasurement({ codeHash, runtime: this.runtime, limits });
    const inputHash = hashExecutionInput({ input: jsonInput, seed, clock });

    const answer = await this.pool.run({
      code,
      inputText,
      clock,
      seedWords: seedWords(seed),
      limits,
    });
    if (!answer.ok) {
      throw new ChaosCoreError(
        answer.code ?? "EXECUTION_SANDBOX_FAILURE",
        answer.message ?? "the run failed",
        { details: { ...(answer.details ?? {}), logs: answer.logs, stats: answer.stats } },
      );
    }
    // Host-side output checks: their failures carry the run's logs and stats too.
    const ran = { logs: answer.logs, stats: answer.stats };
    let output: JsonValue;
    let canonical: string;
    try {
      output = JSON.parse(answer.outputText ?? "") as JsonValue;
      canonical = canonicalJson(output);
    } catch (cause) {
      throw new ChaosCoreError("EXECUTION_BAD_OUTPUT", "the output is not a JSON value", {
        cause,
        details: ran,
      });
    }
    if (!isWellFormedJsonValue(output)) {
      throw new ChaosCoreError("EXECUTION_BAD_OUTPUT", "the output holds a lone surrogate", {
        details: ran,
      });
    }
    const outputBytes = utf8(canonical);
    if (outputBytes.length > limits.outputBytes) {
      throw new ChaosCoreError(
        "EXECUTION_OUTPUT_TOO_LARGE",
        "the output exceeds the output limit",
        {
          details: { size: outputBytes.length, limit: limits.outputBytes, ...ran },
        },
      );
    }
    return {
      output,
      outputHash: sha256Hex(outputBytes),
      inputHash,
      codeHash,
      measurement,
      code,
      input: jsonInput,
      seed,
      clock,
      runtime: this.runtime,
      limits,
      gasUsed: answer.stats.gasUsed,
      logs: answer.logs,
      stats: answer.stats,
    };
  }

  /** Starts the worker and loads QuickJS, so that the next run is warm. */
  async warmUp(): Promise<void> {
    await this.run("export default () => null", null);
  }

  /** Terminates the workers. The environment can still be used: new workers start on demand. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
