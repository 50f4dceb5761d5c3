/**
 * The hashes that bind an execution (docs/spec/attestation.md §1): code hash,
 * input hash, output hash, measurement, report data, and the attestation hash
 * an Action signs.
 * @module
 */

import {
  EXECUTION_INPUT_FORMAT,
  type ExecutionLimits,
  MEASUREMENT_FORMAT,
  parseQuote,
  type RuntimeIdentity,
} from "./attestation-formats.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { ChaosCoreError } from "./errors.js";
import { sha256, sha256Hex, utf8 } from "./hash.js";
import { bytesToHex, concatBytes, type Hex, hexToBytes } from "./hex.js";

/**
 * SHA-256 of the UTF-8 bytes of the JavaScript that runs (TypeScript is
 * transpiled first; the transpiled text is hashed).
 * @example hashExecutionCode("export default () => 1")
 */
export function hashExecutionCode(code: string): Hex {
  return sha256Hex(utf8(code));
}

/**
 * The execution input hash: SHA-256(JCS({ format: "chaoscore.execution-input/v1",
 * input, seed, clock })). It binds the task input with the PRNG seed and the
 * fixed clock, the other two things a run's output depends on.
 * @throws ChaosCoreError INVALID_JSON when `input` is not a JSON value.
 * @example hashExecutionInput({ input: { votes: 3 }, seed: "", clock: 0 })
 */
export function hashExecutionInput(args: { input: unknown; seed: string; clock: number }): Hex {
  return sha256Hex(
    canonicalJsonBytes({
      format: EXECUTION_INPUT_FORMAT,
      input: args.input,
      seed: args.seed,
      clock: args.clock,
    }),
  );
}

/**
 * SHA-256 of the output's canonical JSON (RFC 8785).
 * @throws ChaosCoreError INVALID_JSON when `output` is not a JSON value.
 * @example hashExecutionOutput({ approve: true })
 */
export function hashExecutionOutput(output: unknown): Hex {
  return sha256Hex(canonicalJsonBytes(output));
}

/**
 * The measurement (the MRENCLAVE equivalent):
 * SHA-256(JCS({ format: "chaoscore.measurement/v2", codeHash, runtime, limits })).
 * @throws ChaosCoreError INVALID_JSON for non-JSON fields.
 * @example computeMeasurement({ codeHash, runtime: sandbox.runtime, limits })
 */
export function computeMeasurement(args: {
  codeHash: Hex;
  runtime: RuntimeIdentity;
  limits: ExecutionLimits;
}): Hex {
  const { runtime, limits } = args;
  return sha256Hex(
    canonicalJsonBytes({
      format: MEASUREMENT_FORMAT,
      codeHash: args.codeHash,
      runtime: {
        engine: runtime.engine,
        engineVersion: runtime.engineVersion,
        variant: runtime.variant,
        sandbox: runtime.sandbox,
        prelude: runtime.prelude,
      },
      limits: {
        memoryBytes: limits.memoryBytes,
        stackBytes: limits.stackBytes,
        gas: limits.gas,
        timeoutMs: limits.timeoutMs,
        outputBytes: limits.outputBytes,
        logBytes: limits.logBytes,
      },
    }),
  );
}

/**
 * reportData = SHA-256(inputHash ‖ outputHash ‖ nonce), over the raw bytes
 * (32 + 32 + 1..64 bytes).
 * @throws ChaosCoreError INVALID_HEX when a hash is not 32-byte hex or the nonce not 1..64 bytes.
 * @example computeReportData(result.inputHash, result.outputHash, nonce)
 */
export function computeReportData(inputHash: Hex, outputHash: Hex, nonce: Hex): Hex {
  const n = hexToBytes(nonce);
  if (n.length < 1 || n.length > 64) {
    throw new ChaosCoreError("INVALID_HEX", "a nonce is 1 to 64 bytes", {
      details: { value: nonce.slice(0, 80) },
    });
  }
  return bytesToHex(sha256(concatBytes(hexToBytes(inputHash, 32), hexToBytes(outputHash, 32), n)));
}

/**
 * SHA-256 of the quote's canonical JSON: the value an Action carries in
 * `attestationHash`.
 * @throws ChaosCoreError ATTESTATION_MALFORMED when `quote` is not a v1 quote.
 * @example signAction({ ..., attestationHash: attestationHash(quote) })
 */
export function attestationHash(quote: unknown): Hex {
  return sha256Hex(canonicalJsonBytes(parseQuote(quote)));
}
