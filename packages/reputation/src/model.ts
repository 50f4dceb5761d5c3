/**
 * The reputation model (docs/reputation.md), pure: dimensions, the value x of
 * an outcome, evidence classes, exponential decay and the Beta-score fold
 * shared by the incremental path and the full recomputation.
 *
 * @module
 */
import { fail, type Hex } from "@chaoscore/core";

/** A reputation dimension: the overall score, one capability, or one studio. */
export type Dimension = "overall" | `capability:${string}` | `studio:${string}`;

/**
 * How strongly a piece of evidence is tied to the signed log:
 * - `outcome`: a signed outcome in the log (an evaluator's verdict on a signed action);
 * - `linked`: feedback that names a signed action of the subject that has an outcome in the log;
 * - `unlinked`: plain feedback, tied to nothing in the log;
 * - `self`: an agent evaluating its own action (never counts).
 */
export type EvidenceClass = "outcome" | "linked" | "unlinked" | "self";

export const EVIDENCE_CLASSES: readonly EvidenceClass[] = ["outcome", "linked", "unlinked", "self"];

/** The weight of each evidence class (the `e` of w = ρ·e). */
export type EvidenceWeights = Readonly<Record<EvidenceClass, number>>;

export const DEFAULT_EVIDENCE_WEIGHTS: EvidenceWeights = {
  outcome: 1,
  linked: 1,
  unlinked: 0.2,
  self: 0,
};

/** 30 days, in seconds. */
export const DEFAULT_HALF_LIFE_SECONDS = 30 * 24 * 3600;

/** Longest name of a capability or studio in a dimension (UTF-16 code units). */
export const MAX_DIMENSION_NAME = 256;

// No lone surrogates (and, checked apart, no NUL): what Postgres text and JSON carry unchanged.
const NAME_RE = /^(?:[^\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$/;

/** True when `value` is a well-formed {@link Dimension}. */
export function isDimension(value: unknown): value is Dimension {
  if (typeof value !== "string") return false;
  if (value === "overall") return true;
  const name = value.startsWith("capability:")
    ? value.slice(11)
    : value.startsWith("studio:")
      ? value.slice(7)
      : null;
  return (
    name !== null &&
    name.length <= MAX_DIMENSION_NAME &&
    !name.includes("\u0000") &&
    NAME_RE.test(name)
  );
}

/**
 * Checks a dimension.
 * @throws ChaosCoreError REPUTATION_DIMENSION_INVALID unless `value` is
 * `overall`, `capability:<name>` or `studio:<name>` (name: 1–256 characters,
 * no NUL, no lone surrogate).
 */
export function assertDimension(value: unknown): asserts value is Dimension {
  if (!isDimension(value)) {
    fail(
      "REPUTATION_DIMENSION_INVALID",
      "a dimension is overall, capability:<name> or studio:<name>",
      {
        dimension: typeof value === "string" ? value.slice(0, 300) : typeof value,
      },
    );
  }
}

/**
 * The capability an action exercises: its action type up to the first dot
 * (`governance.vote` → `governance`), or null when that is empty.
 */
export function capabilityOf(actionType: string): string | null {
  const name = actionType.split(".")[0] ?? "";
  return name === "" ? null : name;
}

/**
 * The value x ∈ [0, 1] of an evaluated outcome: success 1, failure 0,
 * partial `metrics.score` when it is a number in [0, 1], else 0.5.
 * `metrics` is the outcome's canonical JSON text (only read for partial).
 */
export function outcomeValue(status: string, metrics: string | null): number {
  if (status === "success") return 1;
  if (status === "failure") return 0;
  if (metrics === null) return 0.5;
  try {
    const parsed = JSON.parse(metrics) as unknown;
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      const score = (parsed as Record<string, unknown>).score;
      if (typeof score === "number" && score >= 0 && score <= 1) return score;
    }
  } catch {
    // not JSON: the neutral value
  }
  return 0.5;
}

/**
 * Evidence older than this many half-lives counts 0: 2^−1000 is still a
 * normal float8, so `power` in SQL never underflows.
 */
export const DECAY_HORIZON_HALF_LIVES = 1000;

/**
 * Factors below this are taken as 0 in a product ({@link mulFlushed}): every
 * product is then ≥ 1e-300 or exactly 0, so Postgres never raises
 * "value out of range: underflow" (JavaScript would return a denormal or 0).
 */
export const FLUSH_BELOW = 1e-150;

/**
 * 2^(−Δt/H): 1 for Δt ≤ 0, 0 beyond {@link DECAY_HORIZON_HALF_LIVES}.
 * The SQL of the incremental path is generated from this definition
 * (decay-sql.ts, tested equal on PGlite and Postgres).
 */
export function decayFactor(dt: number, halfLife: number): number {
  if (dt <= 0) return 1;
  const halves = dt / halfLife;
  return halves > DECAY_HORIZON_HALF_LIVES ? 0 : 2 ** -halves;
}

/** `v`, or 0 when |v| < {@link FLUSH_BELOW} (denormals are not valid float8 input). */
export function flushTiny(v: number): number {
  return Math.abs(v) < FLUSH_BELOW ? 0 : v;
}

/** a · b, or 0 when a factor is below {@link FLUSH_BELOW} (the product SQL computes). */
export function mulFlushed(a: number, b: number): number {
  return Math.abs(a) < FLUSH_BELOW || Math.abs(b) < FLUSH_BELOW ? 0 : a * b;
}

/**
 * The mass w·x (or w·(1 − x)) one piece of evidence adds, flushed as
 * {@link flushTiny}: what the incremental path sends to SQL.
 */
export function evidenceMass(w: number, x: number): { alpha: number; beta: number } {
  return { alpha: flushTiny(w * x), beta: flushTiny(w * (1 - x)) };
}

/**
 * α (or β) after adding `mass` at time t to a stored α (or β) as of
 * `lastUpdate`: when t is the newer, the stored mass above the prior's 1 decays
 * to t and `mass` adds undecayed; else `mass` adds decayed to `lastUpdate`.
 */
export function foldMass(
  stored: number,
  lastUpdate: number,
  mass: number,
  t: number,
  halfLife: number,
): number {
  return t >= lastUpdate
    ? 1 + mulFlushed(stored - 1, decayFactor(t - lastUpdate, halfLife)) + mass
    : stored + mulFlushed(mass, decayFactor(lastUpdate - t, halfLife));
}

/** α (or β) stored as of `lastUpdate`, decayed to `t` (no decay when t is earlier). */
export function decayedMass(
  stored: number,
  lastUpdate: number,
  t: number,
  halfLife: number,
): number {
  return 1 + mulFlushed(stored - 1, decayFactor(t - lastUpdate, halfLife));
}

/** A piece of evidence about one agent: an outcome or a feedback. */
export type Contribution = {
  /** The outcome id or feedback id. */
  id: Hex;
  source: "outcome" | "feedback";
  /** The signed action behind it (null for unlinked feedback). */
  actionId: Hex | null;
  /** The agent the evidence is about. */
  agent: string;
  /** Who gave it: the outcome's evaluator or the feedback's rater. */
  rater: string;
  /** The capability and studio dimensions it also counts for (besides overall). */
  capability: string | null;
  studio: string | null;
  x: number;
  evidence: EvidenceClass;
  /** The evidence-class weight e. */
  e: number;
  /** Unix seconds. */
  t: number;
};

/** The dimensions a contribution counts for: overall, then its capability and studio. */
export function dimensionsOf(c: Pick<Contribution, "capability" | "studio">): Dimension[] {
  const out: Dimension[] = ["overall"];
  if (c.capability !== null) out.push(`capability:${c.capability}`);
  if (c.studio !== null) out.push(`studio:${c.studio}`);
  return out;
}

/**
 * The stored state of one (agent, dimension): α and β "as of" `lastUpdate`
 * (α(t) = 1 + (α − 1)·2^(−(t − lastUpdate)/H) on read), and sample counts.
 */
export type ScoreState = {
  alpha: number;
  beta: number;
  samples: number;
  byClass: Record<EvidenceClass, number>;
  lastUpdate: number;
};

/** The prior Beta(1, 1): no evidence. */
export function priorState(): ScoreState {
  return {
    alpha: 1,
    beta: 1,
    samples: 0,
    byClass: { outcome: 0, linked: 0, unlinked: 0, self: 0 },
    lastUpdate: Number.NEGATIVE_INFINITY,
  };
}

/**
 * Adds one piece of evidence (weight w, value x, time t) to a state in O(1):
 * when t is the newest time, the stored mass decays to t and the evidence
 * adds undecayed; an older t adds decayed to the state's time ({@link foldMass}).
 * The SQL upsert of the incremental path computes exactly this (decay-sql.ts).
 */
export function foldEvidence(
  s: ScoreState,
  w: number,
  x: number,
  t: number,
  evidence: EvidenceClass,
  halfLife: number,
): void {
  const mass = evidenceMass(w, x);
  if (s.samples === 0) {
    s.alpha = 1 + mass.alpha;
    s.beta = 1 + mass.beta;
    s.lastUpdate = t;
  } else {
    s.alpha = foldMass(s.alpha, s.lastUpdate, mass.alpha, t, halfLife);
    s.beta = foldMass(s.beta, s.lastUpdate, mass.beta, t, halfLife);
    s.lastUpdate = Math.max(s.lastUpdate, t);
  }
  s.samples++;
  s.byClass[evidence]++;
}

/** α and β decayed from `lastUpdate` to `t` (no decay when t is earlier). */
export function decayedAt(
  s: Pick<ScoreState, "alpha" | "beta" | "lastUpdate" | "samples">,
  t: number,
  halfLife: number,
): { alpha: number; beta: number } {
  if (s.samples === 0) return { alpha: s.alpha, beta: s.beta };
  return {
    alpha: decayedMass(s.alpha, s.lastUpdate, t, halfLife),
    beta: decayedMass(s.beta, s.lastUpdate, t, halfLife),
  };
}

/**
 * The posterior mean α/(α+β) and the confidence 1 − √(12·Var), where Var =
 * αβ/((α+β)²(α+β+1)) is the Beta variance and 1/12 that of the prior Beta(1, 1):
 * 0 with no evidence, towards 1 as evidence accumulates.
 */
export function meanAndConfidence(
  alpha: number,
  beta: number,
): { value: number; confidence: number } {
  const n = alpha + beta;
  const variance = (alpha * beta) / (n * n * (n + 1));
  return { value: alpha / n, confidence: Math.max(0, 1 - Math.sqrt(12 * variance)) };
}
