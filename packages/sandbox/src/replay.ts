import {
  type AttestationQuote,
  ChaosCoreError,
  computeReportData,
  EXECUTION_FORMAT,
  type ExecutionLimits,
  type Hex,
  hashExecutionOutput,
  isChaosCoreError,
  isHex,
  type JsonValue,
  attestationHash as quoteHash,
  type RecordedExecution,
} from "@chaoscore/core";
import type { AttestationProvider } from "./mock-tee.js";
import {
  type CodeLanguage,
  type ExecutionResult,
  type RunOptions,
  SecureExecutionEnvironment,
} from "./sandbox.js";

let sharedSandbox: SecureExecutionEnvironment | undefined;
/** The process-wide sandbox used when none is passed (its worker does not keep the process alive). */
export function defaultSandbox(): SecureExecutionEnvironment {
  sharedSandbox ??= new SecureExecutionEnvironment();
  return sharedSandbox;
}

/** Options of {@link executeAttested}. */
export type ExecuteAttestedOptions = RunOptions & {
  provider: AttestationProvider;
  /** 1 to 64 bytes, hex: the verifier's challenge (or a fresh random value). */
  nonce: Hex;
  sandbox?: SecureExecutionEnvironment;
};

/** An attested run. */
export type AttestedExecution = {
  result: ExecutionResult;
  quote: AttestationQuote;
  /** SHA-256(JCS(quote)): the Action's `attestationHash`. */
  attestationHash: Hex;
  /** The self-contained record to store next to the action (and in its receipt). */
  recorded: RecordedExecution;
};

/**
 * Runs `source` on `input` in the sandbox and, only if the run succeeded,
 * asks `provider` for a quote over its measurement and
 * reportData = SHA-256(inputHash ‖ outputHash ‖ nonce). A run that fails
 * (including every broken limit) throws and is never attested.
 * @throws ChaosCoreError every code of `SecureExecutionEnvironment.run`;
 * EXECUTION_BAD_INPUT for a nonce that is not 1–64 bytes of hex.
 * @example
 * ```ts
 * const { quote, attestationHash, recorded } = await executeAttested(code, proposal, {
 *   provider: tee, nonce: "0x" + randomBytes(32).toString("hex"),
 * });
 * ```
 */
export async function executeAttested(
  source: string,
  input: unknown,
  options: ExecuteAttestedOptions,
): Promise<AttestedExecution> {
  const { provider, nonce, sandbox = defaultSandbox(), ...runOptions } = options;
  if (!isHex(nonce) || nonce.length < 4 || nonce.length > 130) {
    throw new ChaosCoreError("EXECUTION_BAD_INPUT", "the nonce must be 1 to 64 bytes of hex");
  }
  const result = await sandbox.run(source, input, runOptions);
  const reportData = computeReportData(result.inputHash, result.outputHash, nonce);
  const quote = await provider.attest(result.measurement, reportData, nonce);
  return {
    result,
    quote,
    attestationHash: quoteHash(quote),
    recorded: toRecordedExecution(result, nonce, quote),
  };
}

/**
 * The `chaoscore.execution/v2` record of a run (with its quote, or null).
 * @example const recorded = toRecordedExecution(result, nonce, quote);
 */
export function toRecordedExecution(
  result: ExecutionResult,
  nonce: Hex,
  quote: AttestationQuote | null,
): RecordedExecution {
  return {
    format: EXECUTION_FORMAT,
    code: result.code,
    input: result.input,
    seed: result.seed,
    clock: result.clock,
    runtime: { ...result.runtime },
    limits: { ...result.limits },
    output: result.output,
    gasUsed: result.gasUsed,
    nonce,
    quote,
  };
}

/** What {@link replay} needs: a recorded run, or its parts. */
export type ReplayRequest = {
  /** The JavaScript that ran (or TypeScript with `language: "typescript"`). */
  code: string;
  input: unknown;
  seed?: string;
  clock?: number;
  language?: CodeLanguage;
  /** The limits of the recorded run (they are part of the measurement). */
  limits?: Partial<ExecutionLimits>;
  expectedOutputHash: Hex;
  /** When given, the replay's measurement must equal it. */
  measurement?: Hex;
  /** When given, the replay must use exactly this much gas (gas is deterministic). */
  expectedGasUsed?: number;
};

/**
 * Re-executes a recorded run in a fresh sandbox runtime and confirms that it
 * reproduces the recorded output hash (and measurement and gas used, when
 * given): the second path to trust, independent of any TEE.
 * @throws ChaosCoreError EXECUTION_REPLAY_MISMATCH when the output hash, the
 * measurement or the gas used differs, or the replay fails deterministically (the run's own
 * code is the `cause`); EXECUTION_TIMEOUT and EXECUTION_SANDBOX_FAILURE
 * unchanged (they depend on the machine: retry); EXECUTION_BAD_INPUT.
 * @example
 * ```ts
 * await replay({ ...recorded, expectedOutputHash: hashExecutionOutput(recorded.output),
 *   measurement: recorded.quote?.measurement });
 * ```
 */
export async function replay(
  request: ReplayRequest | RecordedExecution,
  options: { sandbox?: SecureExecutionEnvironment } = {},
): Promise<ExecutionResult> {
  const sandbox = options.sandbox ?? defaultSandbox();
  const r = normalize(request);
  let result: ExecutionResult;
  try {
    result = await sandbox.run(r.code, r.input, {
      ...(r.seed === undefined ? {} : { seed: r.seed }),
      ...(r.clock === undefined ? {} : { clock: r.clock }),
      ...(r.language === undefined ? {} : { language: r.language }),
      ...(r.limits === undefined ? {} : { limits: r.limits }),
    });
  } catch (cause) {
    if (
      isChaosCoreError(cause) &&
      !["EXECUTION_TIMEOUT", "EXECUTION_SANDBOX_FAILURE", "EXECUTION_BAD_INPUT"].includes(
        cause.code,
      )
    ) {
      throw new ChaosCoreError(
        "EXECUTION_REPLAY_MISMATCH",
        `the replay failed with ${cause.code}: ${cause.message}`,
        { details: { field: "run", failure: cause.code }, cause },
      );
    }
    throw cause;
  }
  if (r.measurement !== undefined && result.measurement !== r.measurement) {
    throw new ChaosCoreError("EXECUTION_REPLAY_MISMATCH", "the replay's measurement differs", {
      details: { field: "measurement", expected: r.measurement, actual: result.measurement },
    });
  }
  if (result.outputHash !== r.expectedOutputHash) {
    throw new ChaosCoreError("EXECUTION_REPLAY_MISMATCH", "the replay's output hash differs", {
      details: {
        field: "outputHash",
        expected: r.expectedOutputHash,
        actual: result.outputHash,
      },
    });
  }
  if (r.expectedGasUsed !== undefined && result.gasUsed !== r.expectedGasUsed) {
    throw new ChaosCoreError("EXECUTION_REPLAY_MISMATCH", "the replay's gas used differs", {
      details: { field: "gasUsed", expected: r.expectedGasUsed, actual: result.gasUsed },
    });
  }
  return result;
}

function normalize(request: ReplayRequest | RecordedExecution): ReplayRequest {
  if ("format" in request && request.format === EXECUTION_FORMAT) {
    const recorded = request as RecordedExecution;
    return {
      code: recorded.code,
      input: recorded.input,
      seed: recorded.seed,
      clock: recorded.clock,
      limits: recorded.limits,
      expectedOutputHash: outputHashOf(recorded.output),
      expectedGasUsed: recorded.gasUsed,
      ...(recorded.quote === null ? {} : { measurement: recorded.quote.measurement }),
    };
  }
  const r = request as ReplayRequest;
  if (typeof r.code !== "string" || !isHex(r.expectedOutputHash, 32)) {
    throw new ChaosCoreError(
      "EXECUTION_BAD_INPUT",
      "a replay needs the code and a 32-byte expectedOutputHash",
    );
  }
  return r;
}

function outputHashOf(output: JsonValue): Hex {
  try {
    return hashExecutionOutput(output);
  } catch (cause) {
    throw new ChaosCoreError("EXECUTION_BAD_INPUT", "the recorded output is not JSON", { cause });
  }
}
