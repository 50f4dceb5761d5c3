export { GAS_METER_VERSION } from "./gas-meter.mjs";
export { type AttestationProvider, type MockTeeOptions, MockTeeProvider } from "./mock-tee.js";
export {
  type AttestedExecution,
  defaultSandbox,
  type ExecuteAttestedOptions,
  executeAttested,
  type ReplayRequest,
  replay,
  toRecordedExecution,
} from "./replay.js";
export {
  BACKSTOP_GRACE_MS,
  type CodeLanguage,
  DEFAULT_EXECUTION_LIMITS,
  DEFAULT_MAX_LIMITS,
  ENGINE_IMAGE_BYTES,
  type ExecutionResult,
  MAX_CODE_BYTES,
  MAX_EXECUTION_LIMITS,
  MAX_INPUT_BYTES,
  RECYCLE_ABOVE_BYTES,
  RUNTIME_IDENTITY,
  type RunOptions,
  resolveLimits,
  SANDBOX_VERSION,
  SecureExecutionEnvironment,
  seedWords,
  transpileTypeScript,
} from "./sandbox.js";
export {
  configfsTsmProvider,
  type NsmDevice,
  nitroNsmProvider,
  type TeeEvidenceProvider,
} from "./tee-providers.js";
export type { RunStats } from "./worker-pool.js";
