import {
  bytesToBase64,
  bytesToHex,
  CompactRange,
  canonicalJsonBytes,
  entryId,
  fail,
  type Hex,
  inclusionProofPlan,
  isHex,
  leafHash,
  type OutcomeEntry,
  parseEntry,
  resolveProof,
  type StoredNode,
  sha256Hex,
} from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import { fromDbHex, toDbHex } from "@chaoscore/log";
import { decayedMassSql, foldMassSql, log2DecayedWeightSql, mulSql } from "./decay-sql.js";
import { eigenTrust, raterWeights, trustGraphFromEdges } from "./eigentrust.js";
import {
  assertDimension,
  type Contribution,
  capabilityOf,
  DEFAULT_EVIDENCE_WEIGHTS,
  DEFAULT_HALF_LIFE_SECONDS,
  type Dimension,
  decayedAt,
  decayFactor,
  dimensionsOf,
  EVIDENCE_CLASSES,
  type EvidenceClass,
  type EvidenceWeights,
  evidenceMass,
  foldEvidence,
  meanAndConfidence,
  outcomeValue,
  priorState,
  type ScoreState,
} from "./model.js";
import {
  compareScoreKeys,
  SCORE_LEAF_FORMAT,
  SCORE_PROOF_FORMAT,
  type ScoreLeaf,
  type ScoreProof,
  scoreLeafBytes,
} from "./score-proof.js";

/** The advisory lock: shared by incremental writers, exclusive for rebuilds. */
const LOCK = 7271728;
const BATCH = 20_000;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const CURSOR_RE = /^(-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?):([0-9a-f]{64})$/;

/** A reputation score of one agent in one dimension, as of a time. */
export type ReputationScore = {
  agent: string;
  dimension: Dimension;
  /** The posterior mean α/(α+β) at `asOf`. */
  value: number;
  /** 1 − √(12·Var(Beta(α, β))): 0 with no evidence, towards 1 with more. */
  confidence: number;
  /** Pieces of evidence counted (outcomes and feedback, any weight). */
  samples: number;
  /** The time of the newest evidence (ISO 8601), null with none. */
  lastUpdate: string | null;
  /** The time the value is computed for (ISO 8601). */
  asOf: string;
  breakdown: {
    /** α and β decayed to `asOf` (each includes the prior's 1). */
    alpha: number;
    beta: number;
    /** Samples per evidence class. */
    byEvidenceClass: Record<EvidenceClass, number>;
    /**
     * The action ids behind the contributions with the largest current
     * weight (largest first); present on `get`, absent on `topK`.
     */
    topContributors?: Hex[];
  };
};

/** One contribution behind a score, as `explain` lists it. */
export type ScoreContribution = {
  /** The outcome id, or the feedback id. */
  id: Hex;
  source: "outcome" | "feedback";
  /** The signed action behind it (null for unlinked feedback). */
  actionId: Hex | null;
  rater: string;
  evidence: EvidenceClass;
  /** The value x ∈ [0, 1] it reports. */
  x: number;
  /** e: the evidence class's weight. */
  evidenceWeight: number;
  /** ρ: the rater's weight from the current epoch's trust (1 for pre-trusted raters). */
  raterWeight: number;
  /** w = ρ·e. */
  weight: number;
  /** w·2^(−(asOf − t)/H): its share of α + β − 2 now. */
  effectiveWeight: number;
  /** The evidence's time (ISO 8601). */
  timestamp: string;
};

/** A committed epoch. */
export type ReputationEpoch = {
  epoch: number;
  /** The Merkle root (RFC 9162) of the epoch's score leaves: what is anchored on chain. */
  root: Hex;
  size: number;
  asOf: string;
  preTrusted: string[];
  iterations: number;
  residual: number;
  createdAt: string;
};

/** One epoch's committed score of an agent in a dimension. */
export type ScoreHistoryEntry = {
  epoch: number;
  asOf: string;
  value: number;
  alpha: number;
  beta: number;
  samples: number;
  root: Hex;
};

/** Which outcome to apply: its id (e.g. `recordOutcome`'s result) or its signed entry. */
export type OutcomeRef = string | { id: string } | { entry: OutcomeEntry | unknown };

/** The result of applying one outcome or feedback. */
export type ApplyResult = {
  /** The outcome id or feedback id. */
  id: Hex;
  /** False when it was applied before (a replay changes nothing). */
  applied: boolean;
  agent: string;
  dimensions: Dimension[];
  x: number;
  /** w = ρ·e at the time of applying. */
  weight: number;
};

/** Plain feedback from one agent about another. */
export type FeedbackInput = {
  rater: string;
  subject: string;
  /** In [0, 1]: 1 is fully positive. */
  value: number;
  /** Default `overall`. */
  dimension?: Dimension | string;
  /** The subject's signed action it is about (with an outcome in the log), or null. */
  evidence?: { actionId: string } | null;
  /** Unix seconds or a Date; default now. Part of the feedback's id (idempotency). */
  timestamp?: number | Date;
};

export type ReputationOptions = {
  db: Db;
  /** The pre-trusted raters (studio operators): rater weight 1, EigenTrust's p. */
  preTrusted?: readonly string[];
  /** Half-life H of evidence, seconds; default 30 days. */
  halfLifeSeconds?: number;
  /** EigenTrust damping a; default 0.15. */
  damping?: number;
  /** EigenTrust convergence ε (L1); default 1e-10. */
  epsilon?: number;
  maxIterations?: number;
  /** Weights e of the evidence classes; default outcome 1, linked 1, unlinked 0.2, self 0. */
  evidenceWeights?: Partial<EvidenceWeights>;
  now?: () => Date;
};

/** Read access to reputation: what studios, the gateway and the CLI use. */
export interface ReputationQueryInterface {
  get(
    agent: string,
    dimension?: Dimension | string,
    options?: { asOf?: Date | number },
  ): Promise<ReputationScore>;
  dimensions(agent: string, options?: { asOf?: Date | number }): Promise<ReputationScore[]>;
  topK(
    dimension: Dimension | string,
    k: number,
    options?: { asOf?: Date | number; minSamples?: number },
  ): Promise<ReputationScore[]>;
  history(
    agent: string,
    dimension?: Dimension | string,
    options?: { limit?: number },
  ): Promise<ScoreHistoryEntry[]>;
  explain(
    agent: string,
    dimension?: Dimension | string,
    options?: { limit?: number; cursor?: string; asOf?: Date | number },
  ): Promise<{ score: ReputationScore; items: ScoreContribution[]; nextCursor: string | null }>;
  epochRoot(epoch: number): Promise<ReputationEpoch>;
  proveScore(agent: string, dimension: Dimension | string, epoch: number): Promise<ScoreProof>;
}

type ScoreRow = {
  agent: string;
  dimension: string;
  alpha: number;
  beta: number;
  samples: number | string;
  n_outcome: number | string;
  n_linked: number | string;
  n_unlinked: number | string;
  n_self: number | string;
  last_update: number;
};

type OutcomeRow = {
  id: string;
  evaluator: string;
  status: string;
  metrics: string | null;
  t: number;
  action_id: string;
  agent_id: string;
  studio: string;
  action_type: string;
};

type FeedbackRow = {
  id: string;
  rater: string;
  subject: string;
  dimension: string;
  value: number;
  evidence: string | null;
  ts: number;
};

/**
 * Reputation: the Beta model over verified outcomes and feedback, EigenTrust
 * rater weights per epoch, epoch commitments, and queries (docs/reputation.md).
 *
 * Writes are incremental — {@link applyOutcome} and {@link recordFeedback}
 * read and write a fixed number of rows — and {@link recompute} rebuilds the
 * same state from the log alone.
 *
 * @example
 * ```ts
 * const reputation = new ReputationComputer({ db: engine.db, preTrusted: [operator] });
 * const r = await engine.agency.recordOutcome(signedOutcome);
 * await reputation.applyOutcome(r.id);
 * const score = await reputation.get(agent, "studio:gov");
 * ```
 */
export class ReputationComputer implements ReputationQueryInterface {
  readonly halfLife: number;
  readonly damping: number;
  readonly epsilon: number;
  readonly maxIterations: number;
  readonly evidenceWeights: EvidenceWeights;
  private readonly db: Db;
  private readonly now: () => Date;
  private preTrusted: string[];
  /** The raters given to the constructor (kept when the stored set is loaded). */
  #configured: string[] = [];
  #loadedAt = 0;

  constructor(options: ReputationOptions) {
    this.db = options.db;
    this.halfLife = options.halfLifeSeconds ?? DEFAULT_HALF_LIFE_SECONDS;
    this.damping = options.damping ?? 0.15;
    this.epsilon = options.epsilon ?? 1e-10;
    this.maxIterations = options.maxIterations ?? 1000;
    this.evidenceWeights = { ...DEFAULT_EVIDENCE_WEIGHTS, ...options.evidenceWeights };
    this.now = options.now ?? (() => new Date());
    if (!(this.halfLife > 0) || !Number.isFinite(this.halfLife)) {
      fail("REPUTATION_INPUT_INVALID", "halfLifeSeconds must be a positive number");
    }
    for (const c of EVIDENCE_CLASSES) {
      const e = this.evidenceWeights[c];
      if (typeof e !== "number" || !(e >= 0 && e <= 1)) {
        fail("REPUTATION_INPUT_INVALID", `evidence weight ${c} must be in [0, 1]`);
      }
    }
    this.preTrusted = normalizeAgents(options.preTrusted ?? []);
    this.#configured = this.preTrusted;
  }

  /**
   * Sets the pre-trusted raters (studio operators). Scores already stored
   * used the previous set: call {@link runEpoch} (or {@link recompute}) to
   * re-weight them.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID when an id is not an address.
   */
  setPreTrusted(agents: readonly string[]): void {
    this.preTrusted = normalizeAgents(agents);
  }

  /** The pre-trusted raters. */
  getPreTrusted(): string[] {
    return [...this.preTrusted];
  }

  /**
   * Stores the pre-trusted raters in the database (replacing the stored set)
   * and uses them: every process that {@link loadPreTrusted}s then agrees.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID when an id is not an address.
   */
  async savePreTrusted(agents: readonly string[]): Promise<string[]> {
    const set = normalizeAgents(agents);
    await this.db.transaction(async (tx) => {
      await tx.query("DELETE FROM reputation_pre_trusted");
      if (set.length > 0) {
        await tx.query(
          `INSERT INTO reputation_pre_trusted (agent_id, added_at)
           SELECT unnest($1::text[]), now()`,
          [set],
        );
      }
    });
    this.preTrusted = normalizeAgents([...this.#configured, ...set]);
    this.#loadedAt = Date.now();
    return [...this.preTrusted];
  }

  /**
   * Uses the stored pre-trusted raters (with those given to the constructor),
   * read again at most every `maxAgeMs` (default 2 s): what another process
   * saved is seen here within that time.
   */
  async loadPreTrusted(maxAgeMs = 2000): Promise<string[]> {
    if (Date.now() - this.#loadedAt > maxAgeMs) {
      const rows = await this.db.query<{ agent_id: string }>(
        "SELECT agent_id FROM reputation_pre_trusted ORDER BY agent_id",
      );
      this.preTrusted = normalizeAgents([...this.#configured, ...rows.map((r) => r.agent_id)]);
      this.#loadedAt = Date.now();
    }
    return [...this.preTrusted];
  }

  // ---- writes ---------------------------------------------------------------------------------

  /**
   * Applies one evaluated outcome of the log to its agent's scores (overall,
   * the action's capability and its studio): one read, one write, whatever
   * the size of the history. Idempotent per outcome id.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID (not an id or an outcome
   * entry), REPUTATION_ACTION_NOT_FOUND (the entry's action is not in the
   * log), REPUTATION_OUTCOME_NOT_FOUND (no such outcome recorded).
   */
  async applyOutcome(outcome: OutcomeRef): Promise<ApplyResult> {
    const { id, action } = parseOutcomeRef(outcome);
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock_shared($1)", [LOCK]);
      const [row] = await tx.query<OutcomeRow & { rater_weight: number | null }>(
        `${OUTCOME_SELECT},
           (SELECT weight FROM reputation_trust
             WHERE rater = o.evaluator AND epoch = (SELECT max(epoch) FROM reputation_epochs))
             AS rater_weight
         FROM outcomes o JOIN actions a ON a.id = o.action_id
         WHERE o.id = decode($1, 'hex')`,
        [id.slice(2)],
      );
      if (row === undefined) {
        if (action !== null) {
          const [known] = await tx.query("SELECT 1 FROM actions WHERE id = decode($1, 'hex')", [
            action.slice(2),
          ]);
          if (known === undefined) {
            fail("REPUTATION_ACTION_NOT_FOUND", `the outcome's action ${action} is not in the log`);
          }
        }
        fail("REPUTATION_OUTCOME_NOT_FOUND", `no outcome ${id} is recorded in the log`);
      }
      const c = this.contributionOfOutcome(row);
      const w = this.raterWeight(c.rater, row.rater_weight);
      const applied = await this.write(tx, c, w);
      return { id: c.id, applied, agent: c.agent, dimensions: dimensionsOf(c), x: c.x, weight: w };
    });
  }

  /**
   * Applies every outcome of the log that has not been applied yet, oldest
   * first (e.g. after a crash between recording and applying).
   * @returns how many were applied.
   */
  async catchUp(limit = 10_000): Promise<number> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT encode(o.id, 'hex') AS id FROM outcomes o
       WHERE NOT EXISTS (SELECT 1 FROM reputation_contributions c WHERE c.id = o.id)
       ORDER BY o.log_id, o.leaf_index LIMIT $1`,
      [limit],
    );
    let n = 0;
    for (const r of rows) if ((await this.applyOutcome(`0x${r.id}`)).applied) n++;
    return n;
  }

  /**
   * Records plain feedback and applies it (overall and its dimension). With
   * `evidence`, it names a signed action of the subject that has an outcome in
   * the log (evidence class `linked`); without, it is `unlinked` (weight 0.2
   * by default). Idempotent: the same feedback (same fields and timestamp) is
   * recorded once.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_VALUE_OUT_OF_RANGE,
   * REPUTATION_DIMENSION_INVALID, REPUTATION_SELF_RATING,
   * REPUTATION_AGENT_NOT_FOUND, REPUTATION_ACTION_NOT_FOUND,
   * REPUTATION_EVIDENCE_MISMATCH. Nothing is written on error.
   */
  async recordFeedback(input: FeedbackInput): Promise<ApplyResult> {
    if (typeof input !== "object" || input === null) {
      fail("REPUTATION_INPUT_INVALID", "feedback must be an object");
    }
    const rater = normalizeAgent(input.rater, "rater");
    const subject = normalizeAgent(input.subject, "subject");
    if (rater === subject) fail("REPUTATION_SELF_RATING", "an agent cannot rate itself");
    const value = input.value;
    if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
      fail("REPUTATION_VALUE_OUT_OF_RANGE", "a feedback value is a number in [0, 1]", {
        value: typeof value === "number" ? value : typeof value,
      });
    }
    const dimension = input.dimension ?? "overall";
    assertDimension(dimension);
    const evidence = input.evidence ?? null;
    if (evidence !== null && (typeof evidence !== "object" || !isHex(evidence.actionId, 32))) {
      fail("REPUTATION_INPUT_INVALID", "evidence is { actionId: 32-byte 0x-hex } or null");
    }
    const t = this.seconds(input.timestamp, "timestamp");
    const actionId = evidence === null ? null : (evidence.actionId as Hex);
    const id = sha256Hex(
      canonicalJsonBytes({
        format: "chaoscore.reputation-feedback/v1",
        rater,
        subject,
        value,
        dimension,
        evidence: actionId,
        timestamp: t,
      }),
    );
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock_shared($1)", [LOCK]);
      const [check] = await tx.query<{
        agents: string[] | null;
        action_agent: string | null;
        has_outcome: boolean;
        rater_weight: number | null;
      }>(
        `SELECT (SELECT array_agg(id) FROM agents WHERE id IN ($1, $2)) AS agents,
                (SELECT agent_id FROM actions WHERE id = decode($3, 'hex')) AS action_agent,
                EXISTS (SELECT 1 FROM outcomes WHERE action_id = decode($3, 'hex')) AS has_outcome,
                (SELECT weight FROM reputation_trust
                  WHERE rater = $1 AND epoch = (SELECT max(epoch) FROM reputation_epochs))
                  AS rater_weight`,
        [rater, subject, actionId === null ? "" : actionId.slice(2)],
      );
      const known = new Set(check?.agents ?? []);
      for (const [role, agent] of [
        ["rater", rater],
        ["subject", subject],
      ] as const) {
        if (!known.has(agent)) {
          fail("REPUTATION_AGENT_NOT_FOUND", `no agent ${agent} is registered (${role})`, {
            [role]: agent,
          });
        }
      }
      if (actionId !== null) {
        if (check?.action_agent == null) {
          fail("REPUTATION_ACTION_NOT_FOUND", `the evidence action ${actionId} is not in the log`);
        }
        if (check.action_agent !== subject) {
          fail("REPUTATION_EVIDENCE_MISMATCH", "the evidence action is not the subject's", {
            actionAgent: check.action_agent,
          });
        }
        if (!check.has_outcome) {
          fail("REPUTATION_EVIDENCE_MISMATCH", "the evidence action has no outcome in the log");
        }
      }
      const inserted = await tx.query(
        `INSERT INTO reputation_feedback (id, rater, subject, dimension, value, evidence, ts)
         VALUES (decode($1, 'hex'), $2, $3, $4, $5, decode($6, 'hex'), $7)
         ON CONFLICT (id) DO NOTHING RETURNING 1`,
        [
          id.slice(2),
          rater,
          subject,
          dimension,
          value,
          actionId === null ? null : actionId.slice(2),
          t,
        ],
      );
      const c = this.contributionOfFeedback({
        id: id.slice(2),
        rater,
        subject,
        dimension,
        value,
        evidence: actionId === null ? null : actionId.slice(2),
        ts: t,
      });
      const w = this.raterWeight(rater, check?.rater_weight ?? null);
      const applied = inserted.length > 0 && (await this.write(tx, c, w));
      return { id, applied, agent: subject, dimensions: dimensionsOf(c), x: c.x, weight: w };
    });
  }

  /** Inserts the contribution and folds it into its scores, unless it is there already. */
  private async write(tx: Db, c: Contribution, w: number): Promise<boolean> {
    const fold = (stored: string, mass: string) =>
      foldMassSql(stored, "s.last_update", mass, "EXCLUDED.last_update", "$19::float8");
    const mass = evidenceMass(w, c.x);
    const rows = await tx.query(
      `WITH ins AS (
         INSERT INTO reputation_contributions
           (id, source, action_id, agent, rater, capability, studio, x, evidence, e, t)
         VALUES (decode($1, 'hex'), $2, decode($3, 'hex'), $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO NOTHING RETURNING 1)
       INSERT INTO reputation_scores AS s
         (agent, dimension, alpha, beta, samples, n_outcome, n_linked, n_unlinked, n_self, last_update)
       SELECT $4, d, 1 + $12::float8, 1 + $13::float8, 1, $14, $15, $16, $17, $11
       FROM unnest($18::text[]) AS d WHERE EXISTS (SELECT 1 FROM ins)
       ON CONFLICT (agent, dimension) DO UPDATE SET
         alpha = ${fold("s.alpha", "$12::float8")},
         beta = ${fold("s.beta", "$13::float8")},
         samples = s.samples + 1,
         n_outcome = s.n_outcome + EXCLUDED.n_outcome,
         n_linked = s.n_linked + EXCLUDED.n_linked,
         n_unlinked = s.n_unlinked + EXCLUDED.n_unlinked,
         n_self = s.n_self + EXCLUDED.n_self,
         last_update = greatest(s.last_update, EXCLUDED.last_update)
       RETURNING 1`,
      [
        c.id.slice(2),
        c.source,
        c.actionId === null ? null : c.actionId.slice(2),
        c.agent,
        c.rater,
        c.capability,
        c.studio,
        c.x,
        c.evidence,
        c.e,
        c.t,
        mass.alpha,
        mass.beta,
        c.evidence === "outcome" ? 1 : 0,
        c.evidence === "linked" ? 1 : 0,
        c.evidence === "unlinked" ? 1 : 0,
        c.evidence === "self" ? 1 : 0,
        dimensionsOf(c),
        this.halfLife,
      ],
    );
    return rows.length > 0;
  }

  private contributionOfOutcome(row: OutcomeRow): Contribution {
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
      e: this.evidenceWeights[evidence],
      t: Number(row.t),
    };
  }

  private contributionOfFeedback(row: FeedbackRow): Contribution {
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
      e: this.evidenceWeights[evidence],
      t: Number(row.ts),
    };
  }

  /** ρ: 1 for a pre-trusted rater, else its weight in the latest epoch, else 0. */
  private raterWeight(rater: string, stored: number | null | undefined): number {
    if (this.preTrusted.includes(rater)) return 1;
    return stored == null ? 0 : Number(stored);
  }

  // ---- rebuilds -------------------------------------------------------------------------------

  /**
   * Rebuilds every contribution and score from the log alone (the outcomes
   * and actions tables) and the recorded feedback, under the current epoch's
   * rater weights. The result equals the incremental state (up to float
   * rounding of the summation order).
   */
  async recompute(): Promise<{ contributions: number; scores: number }> {
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK]);
      const weights = await this.loadWeights(tx);
      await tx.exec("TRUNCATE reputation_contributions, reputation_scores");
      const states = new Map<string, ScoreState>();
      let contributions = 0;
      const take = async (batch: Contribution[]) => {
        this.foldAll(states, batch, weights);
        await insertContributions(tx, batch);
        contributions += batch.length;
      };
      let after: { log: string; index: number } = { log: "", index: -1 };
      for (;;) {
        const rows = await tx.query<OutcomeRow & { log_id: string; leaf_index: number }>(
          `${OUTCOME_SELECT}, o.log_id, o.leaf_index
           FROM outcomes o JOIN actions a ON a.id = o.action_id
           WHERE (o.log_id, o.leaf_index) > ($1, $2)
           ORDER BY o.log_id, o.leaf_index LIMIT ${BATCH}`,
          [after.log, after.index],
        );
        if (rows.length === 0) break;
        await take(rows.map((r) => this.contributionOfOutcome(r)));
        const last = rows[rows.length - 1] as { log_id: string; leaf_index: number };
        after = { log: last.log_id, index: Number(last.leaf_index) };
      }
      let seq = 0;
      for (;;) {
        const rows = await tx.query<FeedbackRow & { seq: number }>(
          `SELECT encode(id, 'hex') AS id, rater, subject, dimension, value,
                  encode(evidence, 'hex') AS evidence, ts, seq
           FROM reputation_feedback WHERE seq > $1 ORDER BY seq LIMIT ${BATCH}`,
          [seq],
        );
        if (rows.length === 0) break;
        await take(rows.map((r) => this.contributionOfFeedback(r)));
        seq = Number((rows[rows.length - 1] as { seq: number }).seq);
      }
      await insertScores(tx, states);
      return { contributions, scores: states.size };
    });
  }

  /**
   * Runs one epoch: EigenTrust over the feedback graph (warm-started from the
   * previous epoch's vector), stores the new trust and rater weights,
   * re-weights every score with them, and commits all scores as one Merkle
   * root ({@link epochRoot}, for the anchoring service).
   */
  async runEpoch(options: { asOf?: Date | number } = {}): Promise<ReputationEpoch> {
    const asOf = this.seconds(options.asOf, "asOf");
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK]);
      const [last] = await tx.query<{ epoch: number | null }>(
        "SELECT max(epoch) AS epoch FROM reputation_epochs",
      );
      const previous = last?.epoch == null ? null : Number(last.epoch);
      const epoch = (previous ?? 0) + 1;
      const edges = await tx.query<{ rater: string; agent: string; s: number }>(
        `SELECT rater, agent, sum(${mulSql("e", "2 * x - 1")})::float8 AS s
         FROM reputation_contributions
         WHERE rater <> agent AND e > 0 GROUP BY rater, agent
         HAVING sum(${mulSql("e", "2 * x - 1")}) > 0`,
      );
      const warm =
        previous === null
          ? undefined
          : new Map(
              (
                await tx.query<{ rater: string; trust: number }>(
                  "SELECT rater, trust FROM reputation_trust WHERE epoch = $1",
                  [previous],
                )
              ).map((r) => [r.rater, Number(r.trust)]),
            );
      const graph = trustGraphFromEdges(
        edges.map((e) => [e.rater, e.agent, Number(e.s)] as const),
        this.preTrusted,
      );
      const result = eigenTrust(graph, {
        preTrusted: this.preTrusted,
        damping: this.damping,
        epsilon: this.epsilon,
        maxIterations: this.maxIterations,
        ...(warm === undefined || warm.size === 0 ? {} : { warmStart: warm }),
      });
      const weights = raterWeights(result, this.preTrusted);
      const trustRows = result.nodes.flatMap((rater, i) => {
        const trust = result.trust[i] as number;
        const weight = weights.get(rater) ?? 0;
        return trust > 0 || weight > 0 ? [{ rater, trust, weight }] : [];
      });
      for (let i = 0; i < trustRows.length; i += BATCH) {
        const part = trustRows.slice(i, i + BATCH);
        await tx.query(
          `INSERT INTO reputation_trust (epoch, rater, trust, weight)
           SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::float8[])`,
          [epoch, part.map((r) => r.rater), part.map((r) => r.trust), part.map((r) => r.weight)],
        );
      }
      // Re-weight every score with the new rater weights.
      const states = new Map<string, ScoreState>();
      let afterId = "";
      for (;;) {
        const rows = await tx.query<ContributionRow>(
          `${CONTRIBUTION_SELECT} WHERE c.id > decode($1, 'hex') ORDER BY c.id LIMIT ${BATCH}`,
          [afterId],
        );
        if (rows.length === 0) break;
        this.foldAll(states, rows.map(toContribution), weights);
        afterId = (rows[rows.length - 1] as ContributionRow).id;
      }
      await tx.exec("TRUNCATE reputation_scores");
      await insertScores(tx, states);
      // Commit the scores as of asOf.
      const leaves: ScoreLeaf[] = [...states.entries()]
        .map(([key, s]) => {
          const [agent, dimension] = splitKey(key);
          const { alpha, beta } = decayedAt(s, asOf, this.halfLife);
          return {
            format: SCORE_LEAF_FORMAT,
            epoch,
            agent,
            dimension: dimension as Dimension,
            value: alpha / (alpha + beta),
            alpha,
            beta,
            samples: s.samples,
          } satisfies ScoreLeaf;
        })
        .sort(compareScoreKeys);
      const range = new CompactRange();
      const nodes: StoredNode[] = [];
      const leafBytes = leaves.map((leaf) => {
        const bytes = scoreLeafBytes(leaf);
        nodes.push(...range.append(leafHash(bytes)));
        return bytes;
      });
      for (let i = 0; i < leaves.length; i += BATCH) {
        const part = leaves.slice(i, i + BATCH);
        await tx.query(
          `INSERT INTO reputation_epoch_scores (epoch, idx, agent, dimension, leaf)
           SELECT $1, u.idx, u.agent, u.dimension, decode(u.leaf, 'hex')
           FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS u(idx, agent, dimension, leaf)`,
          [
            epoch,
            part.map((_, j) => i + j),
            part.map((l) => l.agent),
            part.map((l) => l.dimension),
            part.map((_, j) => toDbHex(leafBytes[i + j] as Uint8Array)),
          ],
        );
      }
      for (let i = 0; i < nodes.length; i += BATCH) {
        const part = nodes.slice(i, i + BATCH);
        await tx.query(
          `INSERT INTO reputation_epoch_nodes (epoch, level, idx, hash)
           SELECT $1, u.level, u.idx, decode(u.hash, 'hex')
           FROM unnest($2::smallint[], $3::bigint[], $4::text[]) AS u(level, idx, hash)`,
          [
            epoch,
            part.map((n) => n.level),
            part.map((n) => n.index),
            part.map((n) => toDbHex(n.hash)),
          ],
        );
      }
      const root = bytesToHex(range.root());
      const params = {
        halfLifeSeconds: this.halfLife,
        damping: this.damping,
        epsilon: this.epsilon,
        evidenceWeights: this.evidenceWeights,
        warmStart: warm !== undefined && warm.size > 0,
        raters: result.nodes.length,
        edges: graph.from.length,
      };
      await tx.query(
        `INSERT INTO reputation_epochs (epoch, root, size, as_of, pre_trusted, params, iterations, residual)
         VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6, $7, $8)`,
        [
          epoch,
          root.slice(2),
          leaves.length,
          asOf,
          JSON.stringify(this.preTrusted),
          JSON.stringify(params),
          result.iterations,
          result.residual,
        ],
      );
      return {
        epoch,
        root,
        size: leaves.length,
        asOf: new Date(asOf * 1000).toISOString(),
        preTrusted: [...this.preTrusted],
        iterations: result.iterations,
        residual: result.residual,
        createdAt: new Date().toISOString(),
      };
    });
  }

  private foldAll(
    states: Map<string, ScoreState>,
    batch: readonly Contribution[],
    weights: ReadonlyMap<string, number>,
  ): void {
    for (const c of batch) {
      const w = this.raterWeight(c.rater, weights.get(c.rater));
      for (const dimension of dimensionsOf(c)) {
        const key = `${c.agent}\u0000${dimension}`;
        let s = states.get(key);
        if (s === undefined) {
          s = priorState();
          states.set(key, s);
        }
        foldEvidence(s, w, c.x, c.t, c.evidence, this.halfLife);
      }
    }
  }

  private async loadWeights(tx: Db): Promise<Map<string, number>> {
    const rows = await tx.query<{ rater: string; weight: number }>(
      `SELECT rater, weight FROM reputation_trust
       WHERE epoch = (SELECT max(epoch) FROM reputation_epochs)`,
    );
    return new Map(rows.map((r) => [r.rater, Number(r.weight)]));
  }

  // ---- queries --------------------------------------------------------------------------------

  /**
   * The score of an agent in a dimension (default overall) as of now (or
   * `asOf`), with its breakdown and top contributing action ids. An agent
   * with no evidence has the prior: value 0.5, confidence 0.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_DIMENSION_INVALID,
   * REPUTATION_AGENT_NOT_FOUND.
   */
  async get(
    agent: string,
    dimension: Dimension | string = "overall",
    options: { asOf?: Date | number } = {},
  ): Promise<ReputationScore> {
    const id = normalizeAgent(agent, "agent");
    assertDimension(dimension);
    const asOf = this.seconds(options.asOf, "asOf");
    const [row] = await this.db.query<Partial<ScoreRow> & { known: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1) AS known, s.*
       FROM (SELECT 1) AS one
       LEFT JOIN reputation_scores s ON s.agent = $1 AND s.dimension = $2`,
      [id, dimension],
    );
    if (row === undefined || !row.known) {
      fail("REPUTATION_AGENT_NOT_FOUND", `no agent ${id} is registered`, { agent: id });
    }
    const score = this.toScore(row.alpha == null ? null : (row as ScoreRow), id, dimension, asOf);
    score.breakdown.topContributors =
      row.alpha == null ? [] : await this.topContributors(id, dimension, asOf);
    return score;
  }

  /**
   * Every dimension an agent has a score in, as of now (or `asOf`).
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_AGENT_NOT_FOUND.
   */
  async dimensions(
    agent: string,
    options: { asOf?: Date | number } = {},
  ): Promise<ReputationScore[]> {
    const id = normalizeAgent(agent, "agent");
    const asOf = this.seconds(options.asOf, "asOf");
    await this.assertAgent(id);
    const rows = await this.db.query<ScoreRow>(
      "SELECT * FROM reputation_scores WHERE agent = $1 ORDER BY dimension",
      [id],
    );
    return rows.map((r) => this.toScore(r, id, r.dimension as Dimension, asOf));
  }

  /**
   * The k agents with the highest value in a dimension as of now (or
   * `asOf`), ties broken by more samples, then agent id. Scans the
   * dimension's scores (decay changes the order over time).
   * @throws ChaosCoreError REPUTATION_DIMENSION_INVALID, REPUTATION_INPUT_INVALID
   * (k not in [1, 1000]).
   */
  async topK(
    dimension: Dimension | string,
    k: number,
    options: { asOf?: Date | number; minSamples?: number } = {},
  ): Promise<ReputationScore[]> {
    assertDimension(dimension);
    if (!Number.isInteger(k) || k < 1 || k > 1000) {
      fail("REPUTATION_INPUT_INVALID", "k must be an integer in [1, 1000]");
    }
    const minSamples = options.minSamples ?? 0;
    if (!Number.isInteger(minSamples) || minSamples < 0) {
      fail("REPUTATION_INPUT_INVALID", "minSamples must be a non-negative integer");
    }
    const asOf = this.seconds(options.asOf, "asOf");
    // The value as toScore computes it (decayedAt, then α/(α+β)): the order is the values' order.
    const alpha = decayedMassSql("alpha", "last_update", "$2::float8", "$3::float8");
    const beta = decayedMassSql("beta", "last_update", "$2::float8", "$3::float8");
    const rows = await this.db.query<ScoreRow>(
      `SELECT * FROM (
         SELECT s.*, ${alpha} / (${alpha} + ${beta}) AS v
         FROM reputation_scores s WHERE dimension = $1 AND samples >= $4) AS q
       ORDER BY v DESC, samples DESC, agent LIMIT $5`,
      [dimension, asOf, this.halfLife, minSamples, k],
    );
    return rows.map((r) => this.toScore(r, r.agent, dimension, asOf));
  }

  /**
   * The committed scores of an agent in a dimension, one per epoch, oldest first.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_DIMENSION_INVALID,
   * REPUTATION_AGENT_NOT_FOUND.
   */
  async history(
    agent: string,
    dimension: Dimension | string = "overall",
    options: { limit?: number } = {},
  ): Promise<ScoreHistoryEntry[]> {
    const id = normalizeAgent(agent, "agent");
    assertDimension(dimension);
    const limit = checkLimit(options.limit ?? 100);
    await this.assertAgent(id);
    const rows = await this.db.query<{
      epoch: number;
      as_of: number;
      leaf: string;
      root: string;
    }>(
      `SELECT s.epoch, e.as_of, convert_from(s.leaf, 'UTF8') AS leaf, encode(e.root, 'hex') AS root
       FROM reputation_epoch_scores s JOIN reputation_epochs e ON e.epoch = s.epoch
       WHERE s.agent = $1 AND s.dimension = $2 ORDER BY s.epoch DESC LIMIT $3`,
      [id, dimension, limit],
    );
    return rows.reverse().map((r) => {
      const leaf = JSON.parse(r.leaf) as ScoreLeaf;
      return {
        epoch: Number(r.epoch),
        asOf: new Date(Number(r.as_of) * 1000).toISOString(),
        value: leaf.value,
        alpha: leaf.alpha,
        beta: leaf.beta,
        samples: leaf.samples,
        root: `0x${r.root}`,
      };
    });
  }

  /**
   * The score and every contribution behind it, newest first, a page at a
   * time, each with its weights: the trace from a score to its action ids.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID (limit, cursor),
   * REPUTATION_DIMENSION_INVALID, REPUTATION_AGENT_NOT_FOUND.
   */
  async explain(
    agent: string,
    dimension: Dimension | string = "overall",
    options: { limit?: number; cursor?: string; asOf?: Date | number } = {},
  ): Promise<{ score: ReputationScore; items: ScoreContribution[]; nextCursor: string | null }> {
    const limit = checkLimit(options.limit ?? 50);
    let cursor: { t: number; id: string } | null = null;
    if (options.cursor !== undefined) {
      const m = typeof options.cursor === "string" ? CURSOR_RE.exec(options.cursor) : null;
      if (m === null) fail("REPUTATION_INPUT_INVALID", "malformed cursor");
      cursor = { t: Number(m[1]), id: m[2] as string };
    }
    const score = await this.get(agent, dimension, options);
    const asOf = Date.parse(score.asOf) / 1000;
    const { where, params } = dimensionFilter(score.agent, score.dimension);
    if (cursor !== null) {
      params.push(cursor.t, cursor.id);
      where.push(`(c.t, c.id) < ($${params.length - 1}::float8, decode($${params.length}, 'hex'))`);
    }
    params.push(this.preTrusted);
    const rows = await this.db.query<ContributionRow & { rho: number }>(
      `${CONTRIBUTION_COLUMNS}, ${rhoSql(params.length)} AS rho
       FROM reputation_contributions c ${RHO_JOIN} WHERE ${where.join(" AND ")}
       ORDER BY c.t DESC, c.id DESC LIMIT ${limit + 1}`,
      params,
    );
    const page = rows.slice(0, limit);
    const items = page.map((r): ScoreContribution => {
      const c = toContribution(r);
      const rho = Number(r.rho);
      const weight = rho * c.e;
      return {
        id: c.id,
        source: c.source,
        actionId: c.actionId,
        rater: c.rater,
        evidence: c.evidence,
        x: c.x,
        evidenceWeight: c.e,
        raterWeight: rho,
        weight,
        effectiveWeight: weight * decayFactor(asOf - c.t, this.halfLife),
        timestamp: new Date(c.t * 1000).toISOString(),
      };
    });
    const lastRow = page[page.length - 1];
    return {
      score,
      items,
      nextCursor:
        rows.length > limit && lastRow !== undefined ? `${Number(lastRow.t)}:${lastRow.id}` : null,
    };
  }

  /**
   * A committed epoch: its Merkle root (what the anchoring service puts on
   * chain), size and time.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_EPOCH_NOT_FOUND.
   */
  async epochRoot(epoch: number): Promise<ReputationEpoch> {
    if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > 2 ** 31 - 1) {
      fail("REPUTATION_INPUT_INVALID", "an epoch is a positive integer");
    }
    const [row] = await this.db.query<{
      epoch: number;
      root: string;
      size: number;
      as_of: number;
      pre_trusted: string[] | string;
      iterations: number;
      residual: number;
      created_at: Date | string;
    }>(
      `SELECT epoch, encode(root, 'hex') AS root, size::float8 AS size, as_of, pre_trusted,
              iterations, residual, created_at
       FROM reputation_epochs WHERE epoch = $1`,
      [epoch],
    );
    if (row === undefined) fail("REPUTATION_EPOCH_NOT_FOUND", `no epoch ${epoch}`, { epoch });
    return {
      epoch: Number(row.epoch),
      root: `0x${row.root}`,
      size: Number(row.size),
      asOf: new Date(Number(row.as_of) * 1000).toISOString(),
      preTrusted:
        typeof row.pre_trusted === "string"
          ? (JSON.parse(row.pre_trusted) as string[])
          : row.pre_trusted,
      iterations: Number(row.iterations),
      residual: Number(row.residual),
      createdAt: new Date(row.created_at).toISOString(),
    };
  }

  /** The latest committed epoch number, or null before the first. */
  async latestEpoch(): Promise<number | null> {
    const [row] = await this.db.query<{ epoch: number | null }>(
      "SELECT max(epoch) AS epoch FROM reputation_epochs",
    );
    return row?.epoch == null ? null : Number(row.epoch);
  }

  /**
   * A proof that the agent's score in a dimension is committed by an epoch's
   * root; check it with {@link verifyScoreProof}.
   * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_DIMENSION_INVALID,
   * REPUTATION_EPOCH_NOT_FOUND, REPUTATION_SCORE_NOT_IN_EPOCH.
   */
  async proveScore(
    agent: string,
    dimension: Dimension | string,
    epoch: number,
  ): Promise<ScoreProof> {
    const id = normalizeAgent(agent, "agent");
    assertDimension(dimension);
    const e = await this.epochRoot(epoch);
    const [row] = await this.db.query<{ idx: number; leaf: string }>(
      `SELECT idx::float8 AS idx, convert_from(leaf, 'UTF8') AS leaf FROM reputation_epoch_scores
       WHERE epoch = $1 AND agent = $2 AND dimension = $3`,
      [epoch, id, dimension],
    );
    if (row === undefined) {
      fail("REPUTATION_SCORE_NOT_IN_EPOCH", `epoch ${epoch} has no score ${id} ${dimension}`, {
        epoch,
        agent: id,
        dimension,
      });
    }
    const leafIndex = Number(row.idx);
    const plan = inclusionProofPlan(leafIndex, e.size);
    const wanted = plan.nodes();
    const nodes = await this.db.query<{ level: number; idx: number; hash: string }>(
      `SELECT n.level, n.idx::float8 AS idx, encode(n.hash, 'hex') AS hash
       FROM reputation_epoch_nodes n
       JOIN unnest($2::smallint[], $3::bigint[]) AS u(level, idx) ON n.level = u.level AND n.idx = u.idx
       WHERE n.epoch = $1`,
      [epoch, wanted.map((n) => n.level), wanted.map((n) => n.index)],
    );
    const byKey = new Map(
      nodes.map((n) => [`${Number(n.level)}/${Number(n.idx)}`, fromDbHex(n.hash)]),
    );
    const proof = resolveProof(plan, (level, index) => byKey.get(`${level}/${index}`));
    return {
      format: SCORE_PROOF_FORMAT,
      leaf: JSON.parse(row.leaf) as ScoreLeaf,
      leafIndex,
      treeSize: e.size,
      inclusionProof: proof.map(bytesToBase64),
      root: e.root,
    };
  }

  private async topContributors(agent: string, dimension: Dimension, asOf: number) {
    const { where, params } = dimensionFilter(agent, dimension);
    params.push(this.preTrusted, this.halfLife, asOf);
    const n = params.length;
    const rows = await this.db.query<{ action_id: string }>(
      `SELECT encode(action_id, 'hex') AS action_id FROM (
         SELECT c.action_id, c.t, ${mulSql("c.e", rhoSql(n - 2))} AS w
         FROM reputation_contributions c ${RHO_JOIN}
         WHERE ${where.join(" AND ")} AND c.action_id IS NOT NULL AND c.e > 0) AS q
       WHERE w > 0
       ORDER BY ${log2DecayedWeightSql("w", `$${n}::float8`, "t", `$${n - 1}::float8`)} DESC LIMIT 5`,
      params,
    );
    return [...new Set(rows.map((r): Hex => `0x${r.action_id}`))];
  }

  private toScore(
    row: ScoreRow | null,
    agent: string,
    dimension: Dimension,
    asOf: number,
  ): ReputationScore {
    const state: ScoreState =
      row === null
        ? priorState()
        : {
            alpha: Number(row.alpha),
            beta: Number(row.beta),
            samples: Number(row.samples),
            byClass: {
              outcome: Number(row.n_outcome),
              linked: Number(row.n_linked),
              unlinked: Number(row.n_unlinked),
              self: Number(row.n_self),
            },
            lastUpdate: Number(row.last_update),
          };
    const { alpha, beta } = decayedAt(state, asOf, this.halfLife);
    const { value, confidence } = meanAndConfidence(alpha, beta);
    return {
      agent,
      dimension,
      value,
      confidence,
      samples: state.samples,
      lastUpdate: state.samples === 0 ? null : new Date(state.lastUpdate * 1000).toISOString(),
      asOf: new Date(asOf * 1000).toISOString(),
      breakdown: { alpha, beta, byEvidenceClass: { ...state.byClass } },
    };
  }

  private async assertAgent(id: string): Promise<void> {
    const [row] = await this.db.query("SELECT 1 FROM agents WHERE id = $1", [id]);
    if (row === undefined) {
      fail("REPUTATION_AGENT_NOT_FOUND", `no agent ${id} is registered`, { agent: id });
    }
  }

  /** Unix seconds of a time option (default: the clock). */
  private seconds(value: Date | number | undefined, what: string): number {
    if (value === undefined) return this.now().getTime() / 1000;
    const t = value instanceof Date ? value.getTime() / 1000 : value;
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > 1e11) {
      fail("REPUTATION_INPUT_INVALID", `${what} must be a Date or unix seconds`);
    }
    return t;
  }
}

// ---- SQL helpers ------------------------------------------------------------------------------

const OUTCOME_SELECT = `SELECT encode(o.id, 'hex') AS id, o.evaluator, o.status,
  CASE WHEN o.status = 'partial' THEN convert_from(o.metrics, 'UTF8') END AS metrics,
  extract(epoch FROM o.ts)::float8 AS t, encode(a.id, 'hex') AS action_id, a.agent_id, a.studio,
  a.action_type`;

type ContributionRow = {
  id: string;
  source: "outcome" | "feedback";
  action_id: string | null;
  agent: string;
  rater: string;
  capability: string | null;
  studio: string | null;
  x: number;
  evidence: EvidenceClass;
  e: number;
  t: number;
};

const CONTRIBUTION_COLUMNS = `SELECT encode(c.id, 'hex') AS id, c.source,
  encode(c.action_id, 'hex') AS action_id, c.agent, c.rater, c.capability, c.studio, c.x,
  c.evidence, c.e, c.t`;
const CONTRIBUTION_SELECT = `${CONTRIBUTION_COLUMNS} FROM reputation_contributions c`;

const RHO_JOIN = `LEFT JOIN reputation_trust r
  ON r.rater = c.rater AND r.epoch = (SELECT max(epoch) FROM reputation_epochs)`;

/** ρ in SQL: 1 for a pre-trusted rater (the array parameter $n), else the epoch's weight, else 0. */
function rhoSql(n: number): string {
  return `(CASE WHEN c.rater = ANY($${n}::text[]) THEN 1::float8 ELSE coalesce(r.weight, 0) END)`;
}

function toContribution(r: ContributionRow): Contribution {
  return {
    id: `0x${r.id}`,
    source: r.source,
    actionId: r.action_id === null ? null : `0x${r.action_id}`,
    agent: r.agent,
    rater: r.rater,
    capability: r.capability,
    studio: r.studio,
    x: Number(r.x),
    evidence: r.evidence,
    e: Number(r.e),
    t: Number(r.t),
  };
}

function dimensionFilter(agent: string, dimension: Dimension) {
  const params: unknown[] = [agent];
  const where = ["c.agent = $1"];
  if (dimension.startsWith("capability:")) {
    params.push(dimension.slice(11));
    where.push("c.capability = $2");
  } else if (dimension.startsWith("studio:")) {
    params.push(dimension.slice(7));
    where.push("c.studio = $2");
  }
  return { where, params };
}

async function insertContributions(tx: Db, batch: readonly Contribution[]): Promise<void> {
  if (batch.length === 0) return;
  await tx.query(
    `INSERT INTO reputation_contributions
       (id, source, action_id, agent, rater, capability, studio, x, evidence, e, t)
     SELECT decode(u.id, 'hex'), u.source, decode(u.action_id, 'hex'), u.agent, u.rater,
            u.capability, u.studio, u.x, u.evidence, u.e, u.t
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                 $7::text[], $8::float8[], $9::text[], $10::float8[], $11::float8[])
       AS u(id, source, action_id, agent, rater, capability, studio, x, evidence, e, t)`,
    [
      batch.map((c) => c.id.slice(2)),
      batch.map((c) => c.source),
      batch.map((c) => (c.actionId === null ? null : c.actionId.slice(2))),
      batch.map((c) => c.agent),
      batch.map((c) => c.rater),
      batch.map((c) => c.capability),
      batch.map((c) => c.studio),
      batch.map((c) => c.x),
      batch.map((c) => c.evidence),
      batch.map((c) => c.e),
      batch.map((c) => c.t),
    ],
  );
}

async function insertScores(tx: Db, states: ReadonlyMap<string, ScoreState>): Promise<void> {
  const all = [...states.entries()];
  for (let i = 0; i < all.length; i += BATCH) {
    const part = all.slice(i, i + BATCH);
    const keys = part.map(([key]) => splitKey(key));
    await tx.query(
      `INSERT INTO reputation_scores
         (agent, dimension, alpha, beta, samples, n_outcome, n_linked, n_unlinked, n_self, last_update)
       SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::bigint[],
                            $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::float8[])`,
      [
        keys.map((k) => k[0]),
        keys.map((k) => k[1]),
        part.map(([, s]) => s.alpha),
        part.map(([, s]) => s.beta),
        part.map(([, s]) => s.samples),
        part.map(([, s]) => s.byClass.outcome),
        part.map(([, s]) => s.byClass.linked),
        part.map(([, s]) => s.byClass.unlinked),
        part.map(([, s]) => s.byClass.self),
        part.map(([, s]) => s.lastUpdate),
      ],
    );
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf("\u0000");
  return [key.slice(0, i), key.slice(i + 1)];
}

function checkLimit(limit: unknown): number {
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    fail("REPUTATION_INPUT_INVALID", "limit must be an integer in [1, 1000]");
  }
  return limit;
}

function normalizeAgent(value: unknown, role: string): string {
  if (typeof value !== "string" || !ADDRESS_RE.test(value)) {
    fail("REPUTATION_INPUT_INVALID", `${role} must be an agent id (a 0x address)`, { role });
  }
  return value.toLowerCase();
}

function normalizeAgents(values: readonly string[]): string[] {
  if (!Array.isArray(values)) fail("REPUTATION_INPUT_INVALID", "preTrusted must be an array");
  return [...new Set(values.map((v) => normalizeAgent(v, "preTrusted")))].sort();
}

function parseOutcomeRef(ref: OutcomeRef): { id: Hex; action: Hex | null } {
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
