/**
 * A {@link WitnessStore} in memory: for the demo's throwaway witnesses and
 * for benchmarks of the witness's own work. It forgets everything on exit,
 * so a real witness never uses it.
 * @module
 */
import { equalBytes } from "@chaoscore/core";
import type { WitnessedCheckpoint, WitnessStore } from "./witness-store.js";

/** A witness store that lives in this process only (same compare-and-swap rules). */
export class MemoryWitnessStore implements WitnessStore {
  readonly #rows = new Map<string, WitnessedCheckpoint>();

  async latest(origin: string): Promise<WitnessedCheckpoint | undefined> {
    return this.#rows.get(origin);
  }

  async update(
    oldSize: number,
    oldRoot: Uint8Array | undefined,
    next: WitnessedCheckpoint,
  ): Promise<boolean> {
    const held = this.#rows.get(next.origin);
    const matches =
      held === undefined
        ? oldRoot === undefined && oldSize === 0
        : oldRoot !== undefined && held.size === oldSize && equalBytes(held.rootHash, oldRoot);
    if (!matches) return false;
    this.#rows.set(next.origin, next);
    return true;
  }

  async close(): Promise<void> {}
}
