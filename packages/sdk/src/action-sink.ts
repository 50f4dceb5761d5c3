/**
 * The port an {@link AgentRecorder} sends signed entries to, and what it answers.
 * @module
 */
import type { ActionEntry, Hex, OutcomeEntry } from "@chaoscore/core";

/** What a log answers when it records an entry (or finds it already recorded). */
export type SinkResult = {
  id: Hex;
  /** The shard (log id) whose leaf it is, when the log says (docs/spec/shards.md). */
  log?: string;
  leafIndex: number;
  /** True when this exact signed entry was recorded before (its first record is returned). */
  duplicate: boolean;
};

/**
 * Where an {@link AgentRecorder} sends signed entries: the in-process
 * `ProofOfAgency` of `@chaoscore/engine` and the SDK's HTTP client both
 * satisfy it. A sink must be idempotent (sending the same signed entry twice
 * records it once) and must reject with a `ChaosCoreError` whose code says
 * why when it refuses an entry.
 */
export interface ActionSink {
  recordAction(input: {
    entry: ActionEntry;
    payload?: unknown;
    attestation?: unknown;
  }): Promise<SinkResult>;
  recordOutcome(input: { entry: OutcomeEntry; metrics: unknown }): Promise<SinkResult>;
}
