import { ChaosCoreError } from "@chaoscore/core";

/** Bounds of the group-commit queue of Proof of Agency. */
export type IngestQueueLimits = {
  /** Most entries queued or being written at once; default 20,000. */
  maxQueueEntries: number;
  /**
   * Most bytes held by queued entries (signed entry + payload or metrics +
   * attestation quote + a fixed overhead per entry); default 128 MiB.
   */
  maxQueueBytes: number;
};

export const DEFAULT_QUEUE_LIMITS: IngestQueueLimits = {
  maxQueueEntries: 20_000,
  maxQueueBytes: 128 * 1024 * 1024,
};

/** What one queued entry costs besides its bytes (objects, digest, promise, closures). */
export const ENTRY_OVERHEAD_BYTES = 1024;

/**
 * Counts what the ingest queue holds, from enqueue until the entry is
 * answered, and refuses new entries past either bound, so that a flood of
 * requests (up to 1 MiB of payload each) cannot exhaust the server's memory.
 */
export class IngestBudget {
  entries = 0;
  bytes = 0;

  constructor(private readonly limits: IngestQueueLimits) {}

  /**
   * Takes room for an entry of `size` bytes.
   * @returns the function that gives it back (call it once, when the entry is answered).
   * @throws ChaosCoreError AGENCY_QUEUE_FULL (retryable) when it does not fit.
   */
  admit(size: number): () => void {
    const cost = size + ENTRY_OVERHEAD_BYTES;
    if (
      this.entries + 1 > this.limits.maxQueueEntries ||
      this.bytes + cost > this.limits.maxQueueBytes
    ) {
      throw new ChaosCoreError("AGENCY_QUEUE_FULL", "the ingest queue is full; retry shortly", {
        details: {
          retryAfterSeconds: 1,
          queuedEntries: this.entries,
          queuedBytes: this.bytes,
          maxQueueEntries: this.limits.maxQueueEntries,
          maxQueueBytes: this.limits.maxQueueBytes,
        },
      });
    }
    this.entries++;
    this.bytes += cost;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.entries--;
      this.bytes -= cost;
    };
  }
}
