/**
 * The anchoring halt (issue 12 part 3): when the next anchor cannot extend
 * the history on chain (the chain holds a checkpoint of this log that the
 * stored tree does not contain: a rollback, a reset database, another log
 * with the same origin), retrying cannot help and must not hide it. The
 * scheduled anchoring stops, and the halt is state that readiness checks,
 * metrics and logs report until an operator acts.
 * @module
 */
import { type ChaosCoreError, isChaosCoreError } from "@chaoscore/core";

/** Why anchoring stopped. */
export type AnchoringHalt = {
  /** The error code that stopped it (ANCHOR_LOG_MISMATCH). */
  readonly code: string;
  readonly reason: string;
  /** The chain's checkpoint the log does not contain (origin, index, size, root, chain, contract). */
  readonly details: Readonly<Record<string, unknown>>;
  readonly at: string;
};

/** True for the errors that mean the stored log no longer matches the chain's history. */
export function isChainHistoryBroken(error: unknown): error is ChaosCoreError {
  return isChaosCoreError(error, "ANCHOR_LOG_MISMATCH");
}

/** The halt state of one anchoring service, with listeners (a gateway logs it). */
export class AnchoringHaltState {
  #halt: AnchoringHalt | undefined;
  readonly #listeners = new Set<(halt: AnchoringHalt) => void>();

  /** The halt, or undefined while anchoring may go on. */
  get current(): AnchoringHalt | undefined {
    return this.#halt;
  }

  /** Records the halt (the first one wins) and tells the listeners. */
  halt(error: ChaosCoreError, now: Date = new Date()): AnchoringHalt {
    if (this.#halt !== undefined) return this.#halt;
    const halt: AnchoringHalt = {
      code: error.code,
      reason: error.message,
      details: { ...(error.details ?? {}) },
      at: now.toISOString(),
    };
    this.#halt = halt;
    for (const listener of this.#listeners) {
      try {
        listener(halt);
      } catch {
        // a listener's failure does not undo the halt
      }
    }
    return halt;
  }

  /** Calls `listener` on a halt (at once when already halted); returns an unsubscribe. */
  onHalt(listener: (halt: AnchoringHalt) => void): () => void {
    if (this.#halt !== undefined) listener(this.#halt);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
