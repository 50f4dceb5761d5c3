/**
 * Rebuilds and epochs: {@link recompute} rebuilds every contribution and score
 * from the log; {@link runEpoch} runs EigenTrust, re-weights every score and
 * commits them as one Merkle root (RFC 9162).
 *
 * @module
 */
import { bytesToHex, CompactRange, leafHash, type StoredNode } from "@chaoscore/core";
import { type Db, toDbHex } from "@chaoscore/log";
import { mulSql } from "./decay-sql.js";
import { eigenTrust, raterWeights, trustGraphFromEdges } from "./eigentrust.js";
import {
  type Contribution,
  type Dimension,
  decayedAt,
  dimensionsOf,
  foldEvidence,
  priorState,
  type ScoreState,
} from "./model.js";
import {
  contributionOfFeedback,
  contributionOfOutcome,
  type ReputationContext,
  raterWeight,
  secondsOf,
} from "./reputation-context.js";
import {
  BATCH,
  CONTRIBUTION_SELECT,
  type ContributionRow,
  type FeedbackRow,
  insertContributions,
  insertScores,
  LOCK,
  OUTCOME_SELECT,
  type OutcomeRow,
  splitKey,
  toContribution,
} from "./reputation-tables.js";
import type { ReputationEpoch } from "./reputation-types.js";
import {
  compareScoreKeys,
  SCORE_LEAF_FORMAT,
  type ScoreLeaf,
  scoreLeafBytes,
} from "./score-proof.js";

/**
 * Rebuilds every contribution and score from the log alone (the outcomes
 * and actions tables) and the recorded feedback, under the current epoch's
 * rater weights. The result equals the incremental state (up to float
 * rounding of the summation order).
 */
export async function recompute(
  ctx: ReputationContext,
): Promise<{ contributions: number; scores: number }> {
  return ctx.db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK]);
    const weights = await loadWeights(tx);
    await tx.exec("TRUNCATE reputation_contributions, reputation_scores");
    const states = new Map<string, ScoreState>();
    let contributions = 0;
    const take = async (batch: Contribution[]) => {
      foldAll(ctx, states, batch, weights);
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
      await take(rows.map((r) => contributionOfOutcome(ctx, r)));
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
      await take(rows.map((r) => contributionOfFeedback(ctx, r)));
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
export async function runEpoch(
  ctx: ReputationContext,
  options: { asOf?: Date | number } = {},
): Promise<ReputationEpoch> {
  const asOf = secondsOf(ctx, options.asOf, "asOf");
  return ctx.db.transaction(async (tx) => {
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
      ctx.preTrusted,
    );
    const result = eigenTrust(graph, {
      preTrusted: ctx.preTrusted,
      damping: ctx.damping,
      epsilon: ctx.epsilon,
      maxIterations: ctx.maxIterations,
      ...(warm === undefined || warm.size === 0 ? {} : { warmStart: warm }),
    });
    const weights = raterWeights(result, ctx.preTrusted);
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
      foldAll(ctx, states, rows.map(toContribution), weights);
      afterId = (rows[rows.length - 1] as ContributionRow).id;
    }
    await tx.exec("TRUNCATE reputation_scores");
    await insertScores(tx, states);
    // Commit the scores as of asOf.
    const leaves: ScoreLeaf[] = [...states.entries()]
      .map(([key, s]) => {
        const [agent, dimension] = splitKey(key);
        const { alpha, beta } = decayedAt(s, asOf, ctx.halfLife);
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
      halfLifeSeconds: ctx.halfLife,
      damping: ctx.damping,
      epsilon: ctx.epsilon,
      evidenceWeights: ctx.evidenceWeights,
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
        JSON.stringify(ctx.preTrusted),
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
      preTrusted: [...ctx.preTrusted],
      iterations: result.iterations,
      residual: result.residual,
      createdAt: new Date().toISOString(),
    };
  });
}

function foldAll(
  ctx: ReputationContext,
  states: Map<string, ScoreState>,
  batch: readonly Contribution[],
  weights: ReadonlyMap<string, number>,
): void {
  for (const c of batch) {
    const w = raterWeight(ctx, c.rater, weights.get(c.rater));
    for (const dimension of dimensionsOf(c)) {
      const key = `${c.agent}\u0000${dimension}`;
      let s = states.get(key);
      if (s === undefined) {
        s = priorState();
        states.set(key, s);
      }
      foldEvidence(s, w, c.x, c.t, c.evidence, ctx.halfLife);
    }
  }
}

async function loadWeights(tx: Db): Promise<Map<string, number>> {
  const rows = await tx.query<{ rater: string; weight: number }>(
    `SELECT rater, weight FROM reputation_trust
     WHERE epoch = (SELECT max(epoch) FROM reputation_epochs)`,
  );
  return new Map(rows.map((r) => [r.rater, Number(r.weight)]));
}
