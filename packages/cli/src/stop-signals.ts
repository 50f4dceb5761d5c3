/**
 * SIGINT and SIGTERM for the `chaoscore` process. A command that runs until
 * it is stopped (`serve`, `chain up`, `witness serve`, …) waits with
 * {@link untilStopSignal} and then stops in its own way (drains requests,
 * saves the chain's state). Any other signal — one that comes while such a
 * command is still starting or is already stopping, or one to a command that
 * does not wait for it (`demo`) — ends the process at once, with
 * 128 + the signal's number, through `process.exit`: its `exit` hooks still
 * run, so the local anvil it started is killed and the data dir's lock
 * released. Node's default action for the signal would skip them and leave
 * anvil running on its port.
 * @module
 */
import { constants } from "node:os";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type StopSignal = (typeof SIGNALS)[number];

let installed = false;
/** The commands waiting for their stop signal; taken (emptied) by the first signal. */
let waiting = new Set<(signal: StopSignal) => void>();

/**
 * Handles SIGINT and SIGTERM from now on (idempotent): the first signal
 * while a command waits in {@link untilStopSignal} is that command's; any
 * other ends the process at once.
 */
export function installStopSignals(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      const waiters = waiting;
      waiting = new Set();
      if (waiters.size > 0) {
        for (const stop of waiters) stop(signal);
        return;
      }
      process.stderr.write(`${signal}: stopping now\n`);
      process.exit(128 + constants.signals[signal]);
    });
  }
}

/**
 * Resolves with the first SIGINT or SIGTERM from now on. The command then
 * stops gracefully; a second signal meanwhile ends the process at once.
 */
export function untilStopSignal(): Promise<StopSignal> {
  return new Promise((resolve) => onStopSignal(resolve));
}

/**
 * Calls `stop` on the first SIGINT or SIGTERM from now on, as
 * {@link untilStopSignal}; returns the function that takes it back (for a
 * command that can also end on its own).
 */
export function onStopSignal(stop: (signal: StopSignal) => void): () => void {
  installStopSignals();
  waiting.add(stop);
  return () => {
    waiting.delete(stop);
  };
}
