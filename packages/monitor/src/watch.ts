/**
 * The monitor as a long-running loop: a pass every interval until stopped.
 * @module
 */
import { isChaosCoreError } from "@chaoscore/core";
import { finding } from "./findings.js";
import { type MonitorOptions, type MonitorPassResult, monitorLogWithStateFile } from "./monitor.js";

/** Errors that waiting will not cure: the loop stops on them. */
const FATAL = new Set<string>([
  "TRUST_POLICY_MALFORMED",
  "TRUST_POLICY_NO_KEY",
  "TRUST_POLICY_DUPLICATE_KEY",
  "TRUST_POLICY_QUORUM_INVALID",
  "MONITOR_STATE_INVALID",
  "INVALID_INPUT",
]);

/** Options of {@link watchLog}. */
export type WatchOptions = Omit<MonitorOptions, "state"> & {
  readonly statePath: string;
  /** Milliseconds between the end of a pass and the start of the next. */
  readonly intervalMs: number;
  /** Stops the loop (the pass under way finishes first). */
  readonly signal: AbortSignal;
  /** Called after every pass, with its result. */
  readonly onPass: (result: MonitorPassResult) => void | Promise<void>;
};

/**
 * Runs {@link monitorLogWithStateFile} every `intervalMs` until `signal`
 * aborts. A pass that throws a coded error other than a bad policy or a bad
 * option (e.g. the state file cannot be written) is reported as an
 * `unreachable` finding and the loop goes on; a bad policy, option or state
 * file stops it (they will not get better by waiting).
 * @throws ChaosCoreError TRUST_POLICY_*, MONITOR_STATE_INVALID, INVALID_INPUT.
 * @example
 * ```ts
 * const stop = new AbortController();
 * await watchLog({ gateway, policy, statePath, intervalMs: 10_000, signal: stop.signal, onPass: console.log });
 * ```
 */
export async function watchLog(options: WatchOptions): Promise<void> {
  const { intervalMs, signal, onPass, ...pass } = options;
  while (!signal.aborted) {
    let result: MonitorPassResult;
    try {
      result = await monitorLogWithStateFile(pass);
    } catch (error) {
      if (isChaosCoreError(error) && FATAL.has(error.code)) throw error;
      result = {
        findings: [finding("unreachable", `the pass failed: ${(error as Error).message}`)],
        checkpoint: null,
        previousSize: 0,
        newEntries: 0,
        witnesses: null,
        anchorsChecked: 0,
        state: null,
        advanced: false,
      };
    }
    await onPass(result);
    await sleep(intervalMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
