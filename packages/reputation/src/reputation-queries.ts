/**
 * The read side: scores now or at a time, top k, history, the contributions
 * behind a score, committed epochs and score proofs.
 *
 * @module
 */
import { bytesToBase64, fail, type Hex, inclusionProofPlan, resolveProof } from "@chaoscore/core";
import { fromDbHex } from "@chaoscore/log";
import { decayedMassSql, log2DecayedWeightSql, mulSql } from "./decay-sql.js";
import {
  assertDimension,
  type Dimension,
  decayedAt,
  decayFactor,
  meanAndConfidence,
  priorState,
  type ScoreState,
} from "./model.js";
import {
  checkLimit,
  normalizeAgent,
  type ReputationContext,
  secondsOf,
} from "./reputation-context.js";
import {
  CONTRIBUTION_COLUMNS,
  type ContributionRow,
  dimensionFilter,
  RHO_JOIN,
  rhoSql,
  type ScoreRow,
  toContribution,
} from "./reputation-tables.js";
import type {
  ReputationEpoch,
  ReputationScore,
  ScoreContribution,
  ScoreHistoryEntry,
} from "./reputation-types.js";
import { SCORE_PROOF_FORMAT, type ScoreLeaf, type ScoreProof } from "./score-proof.js";

/** An `explain` cursor: the last item's time and id. */
const CURSOR_RE = /^(-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?):([0-9a-f]{64})$/;

/**
 * The score of an agent in a dimension (default overall) as of now (or
 * `asOf`), with its breakdown and top contributing action ids. An agent
 * with no evidence has the prior: value 0.5, confidence 0.
 * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_DIMENSION_INVALID,
 * REPUTATION_AGENT_NOT_FOUND.
 */
export async function scoreOf(
  ctx: ReputationContext,
  agent: string,
  dimension: Dimension | string = "overall",
  options: { asOf?: Date | number } = {},
): Promise<ReputationScore> {
  const id = normalizeAgent(agent, "agent");
  assertDimension(dimension);
  const asOf = secondsOf(ctx, options.asOf, "asOf");
  const [row] = await ctx.db.query<Partial<ScoreRow> & { known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1) AS known, s.*
     FROM (SELECT 1) AS one
     LEFT JOIN reputation_scores s ON s.agent = $1 AND s.dimension = $2`,
    [id, dimension],
  );
  if (row === undefined || !row.known) {
    fail("REPUTATION_AGENT_NOT_FOUND", `no agent ${id} is registered`, { agent: id });
  }
  const score = toScore(ctx, row.alpha == null ? null : (row as ScoreRow), id, dimension, asOf);
  score.breakdown.topContributors =
    row.alpha == null ? [] : await topContributors(ctx, id, dimension, asOf);
  return score;
}

/**
 * Every dimension an agent has a score in, as of now (or `asOf`).
 * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_AGENT_NOT_FOUND.
 */
export async function scoresOf(
  ctx: ReputationContext,
  agent: string,
  options: { asOf?: Date | number } = {},
): Promise<ReputationScore[]> {
  const id = normalizeAgent(agent, "agent");
  const asOf = secondsOf(ctx, options.asOf, "asOf");
  await assertAgent(ctx, id);
  const rows = await ctx.db.query<ScoreRow>(
    "SELECT * FROM reputation_scores WHERE agent = $1 ORDER BY dimension",
    [id],
  );
  return rows.map((r) => toScore(ctx, r, id, r.dimension as Dimension, asOf));
}

/**
 * The k agents with the highest value in a dimension as of now (or
 * `asOf`), ties broken by more samples, then agent id. Scans the
 * dimension's scores (decay changes the order over time).
 * @throws ChaosCoreError REPUTATION_DIMENSION_INVALID, REPUTATION_INPUT_INVALID
 * (k not in [1, 1000]).
 */
export async function topK(
  ctx: ReputationContext,
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
  const asOf = secondsOf(ctx, options.asOf, "asOf");
  // The value as toScore computes it (decayedAt, then α/(α+β)): the order is the values' order.
  const alpha = decayedMassSql("alpha", "last_update", "$2::float8", "$3::float8");
  const beta = decayedMassSql("beta", "last_update", "$2::float8", "$3::float8");
  const rows = await ctx.db.query<ScoreRow>(
    `SELECT * FROM (
       SELECT s.*, ${alpha} / (${alpha} + ${beta}) AS v
       FROM reputation_scores s WHERE dimension = $1 AND samples >= $4) AS q
     ORDER BY v DESC, samples DESC, agent LIMIT $5`,
    [dimension, asOf, ctx.halfLife, minSamples, k],
  );
  return rows.map((r) => toScore(ctx, r, r.agent, dimension, asOf));
}

/**
 * The committed scores of an agent in a dimension, one per epoch, oldest first.
 * @throws ChaosCoreError REPUTATION_INPUT_INVALID, REPUTATION_DIMENSION_INVALID,
 * REPUTATION_AGENT_NOT_FOUND.
 */
export async function scoreHistory(
  ctx: ReputationContext,
  agent: string,
  dimension: Dimension | string = "overall",
  options: { limit?: number } = {},
): Promise<ScoreHistoryEntry[]> {
  const id = normalizeAgent(agent, "agent");
  assertDimension(dimension);
  const limit = checkLimit(options.limit ?? 100);
  await assertAgent(ctx, id);
  const rows = await ctx.db.query<{
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
export async function explainScore(
  ctx: ReputationContext,
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
  const score = await scoreOf(ctx, agent, dimension, options);
  const asOf = Date.parse(score.asOf) / 1000;
  const { where, params } = dimensionFilter(score.agent, score.dimension);
  if (cursor !== null) {
    params.push(cursor.t, cursor.id);
    where.push(`(c.t, c.id) < ($${params.length - 1}::float8, decode($${params.length}, 'hex'))`);
  }
  params.push(ctx.preTrusted);
  const rows = await ctx.db.query<ContributionRow & { rho: number }>(
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
      effectiveWeight: weight * decayFactor(asOf - c.t, ctx.halfLife),
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
export async function epochRoot(ctx: ReputationContext, epoch: number): Promise<ReputationEpoch> {
  if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > 2 ** 31 - 1) {
    fail("REPUTATION_INPUT_INVALID", "an epoch is a positive integer");
  }
  const [row] = await ctx.db.query<{
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
export async function latestEpoch(ctx: ReputationContext): Promise<number | null> {
  const [row] = await ctx.db.query<{ epoch: number | null }>(
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
export async function proveScore(
  ctx: ReputationContext,
  agent: string,
  dimension: Dimension | string,
  epoch: number,
): Promise<ScoreProof> {
  const id = normalizeAgent(agent, "agent");
  assertDimension(dimension);
  const e = await epochRoot(ctx, epoch);
  const [row] = await ctx.db.query<{ idx: number; leaf: string }>(
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
  const nodes = await ctx.db.query<{ level: number; idx: number; hash: string }>(
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

async function topContributors(
  ctx: ReputationContext,
  agent: string,
  dimension: Dimension,
  asOf: number,
) {
  const { where, params } = dimensionFilter(agent, dimension);
  params.push(ctx.preTrusted, ctx.halfLife, asOf);
  const n = params.length;
  const rows = await ctx.db.query<{ action_id: string }>(
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

function toScore(
  ctx: ReputationContext,
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
  const { alpha, beta } = decayedAt(state, asOf, ctx.halfLife);
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

async function assertAgent(ctx: ReputationContext, id: string): Promise<void> {
  const [row] = await ctx.db.query("SELECT 1 FROM agents WHERE id = $1", [id]);
  if (row === undefined) {
    fail("REPUTATION_AGENT_NOT_FOUND", `no agent ${id} is registered`, { agent: id });
  }
}
