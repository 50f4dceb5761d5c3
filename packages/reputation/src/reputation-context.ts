/**
 * What the writer, the epochs and the queries share: the settings of a
 * {@link ReputationComputer} (its context), input parsing, and the
 * contributions built from outcome and feedback rows.
 *
 * @module
 */
import { entryId, fail, type Hex, isHex, parseEntry } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import {
  type Contribution,
  capabilityOf,
  type EvidenceClass,
  type EvidenceWeights,
  outcomeValue,
} from "./model.js";
import type { FeedbackRow, OutcomeRow } from "./reputation-tables.js";
import type { OutcomeRef } from "./reputation-types.js";

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** The settings every reputation operation reads; `preTrusted` is read at each call. */
export type ReputationContext = {
  readonly db: Db;
  readonly halfLife: number;
  readonly damping: number;
  readonly epsilon: number;
  readonly maxIterations: number;
  readonly evidenceWeights: EvidenceWeights;
  readonly now: () => Date;
  /** The pre-trusted raters now: sorted, lower case (the computer replaces the array). */
  preTrusted: readonly string[];
};

export function contributionOfOutcome(ctx: ReputationContext, row: OutcomeRow): Contribution {
  const agent = row.agent_id;
  const rater = row.evaluator;
  const evidence: EvidenceClass = rater === agent ? "self" : "outcome";
  return {
    id: `0x${row.id}`,
    source: "outcome",
    actionId: `0x${row.action_id}`,
    agent,
    rater,
    capability: capabilityOf(row.action_type),
    studio: row.studio === "" ? null : row.studio,
    x: outcomeValue(row.status, row.metrics),
    evidence,
    e: ctx.evidenceWeights[evidence],
    t: Number(row.t),
  };
}

export function contributionOfFeedback(ctx: ReputationContext, row: FeedbackRow): Contribution {
  const evidence: EvidenceClass = row.evidence === null ? "unlinked" : "linked";
  const dim = row.dimension;
  return {
    id: `0x${row.id}`,
    source: "feedback",
    actionId: row.evidence === null ? null : `0x${row.evidence}`,
    agent: row.subject,
    rater: row.rater,
    capability: dim.startsWith("capability:") ? dim.slice(11) : null,
    studio: dim.startsWith("studio:") ? dim.slice(7) : null,
    x: Number(row.value),
    evidence,
    e: ctx.evidenceWeights[evidence],
    t: Number(row.ts),
  };
}

/** ρ: 1 for a pre-trusted rater, else its weight in the latest epoch, else 0. */
export function raterWeight(
  ctx: ReputationContext,
  rater: string,
  stored: number | null | undefined,
): number {
  if (ctx.preTrusted.includes(rater)) return 1;
  return stored == null ? 0 : Number(stored);
}

/** Unix seconds of a time option (default: the clock). */
export function secondsOf(
  ctx: ReputationContext,
  value: Date | number | undefined,
  what: string,
): number {
  if (value === undefined) return ctx.now().getTime() / 1000;
  const t = value instanceof Date ? value.getTime() / 1000 : value;
  if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > 1e11) {
    fail("REPUTATION_INPUT_INVALID", `${what} must be a Date or unix seconds`);
  }
  return t;
}

export function checkLimit(limit: unknown): number {
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    fail("REPUTATION_INPUT_INVALID", "limit must be an integer in [1, 1000]");
  }
  return limit;
}

export function normalizeAgent(value: unknown, role: string): string {
  if (typeof value !== "string" || !ADDRESS_RE.test(value)) {
    fail("REPUTATION_INPUT_INVALID", `${role} must be an agent id (a 0x address)`, { role });
  }
  return value.toLowerCase();
}

export function normalizeAgents(values: readonly string[]): string[] {
  if (!Array.isArray(values)) fail("REPUTATION_INPUT_INVALID", "preTrusted must be an array");
  return [...new Set(values.map((v) => normalizeAgent(v, "preTrusted")))].sort();
}

export function parseOutcomeRef(ref: OutcomeRef): { id: Hex; action: Hex | null } {
  if (typeof ref === "string") {
    if (!isHex(ref, 32)) fail("REPUTATION_INPUT_INVALID", "an outcome id is 32-byte 0x-hex");
    return { id: ref, action: null };
  }
  if (typeof ref === "object" && ref !== null && "entry" in ref) {
    let entry: ReturnType<typeof parseEntry>;
    try {
      entry = parseEntry(ref.entry);
    } catch (cause) {
      fail("REPUTATION_INPUT_INVALID", "not a chaoscore.entry/v1 outcome", undefined, cause);
    }
    if (entry.kind !== "outcome") fail("REPUTATION_INPUT_INVALID", "the entry is not an outcome");
    return { id: entryId(entry), action: entry.message.action };
  }
  if (typeof ref === "object" && ref !== null && "id" in ref && isHex(ref.id, 32)) {
    return { id: ref.id, action: null };
  }
  return fail("REPUTATION_INPUT_INVALID", "an outcome is its id or { entry }");
}
