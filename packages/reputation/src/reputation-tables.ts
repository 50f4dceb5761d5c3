/**
 * The reputation tables as the code reads and writes them: row types, SQL
 * fragments shared by the writer, the epochs and the queries, and batch inserts.
 *
 * @module
 */
import type { Db } from "@chaoscore/log";
import type { Contribution, Dimension, EvidenceClass, ScoreState } from "./model.js";

/** The advisory lock: shared by incremental writers, exclusive for rebuilds. */
export const LOCK = 7271728;
/** Rows per batch of the rebuilds and the epoch commit. */
export const BATCH = 20_000;

export type ScoreRow = {
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

export type OutcomeRow = {
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

export type FeedbackRow = {
  id: string;
  rater: string;
  subject: string;
  dimension: string;
  value: number;
  evidence: string | null;
  ts: number;
};

export const OUTCOME_SELECT = `SELECT encode(o.id, 'hex') AS id, o.evaluator, o.status,
  CASE WHEN o.status = 'partial' THEN convert_from(o.metrics, 'UTF8') END AS metrics,
  extract(epoch FROM o.ts)::float8 AS t, encode(a.id, 'hex') AS action_id, a.agent_id, a.studio,
  a.action_type`;

export type ContributionRow = {
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

export const CONTRIBUTION_COLUMNS = `SELECT encode(c.id, 'hex') AS id, c.source,
  encode(c.action_id, 'hex') AS action_id, c.agent, c.rater, c.capability, c.studio, c.x,
  c.evidence, c.e, c.t`;
export const CONTRIBUTION_SELECT = `${CONTRIBUTION_COLUMNS} FROM reputation_contributions c`;

export const RHO_JOIN = `LEFT JOIN reputation_trust r
  ON r.rater = c.rater AND r.epoch = (SELECT max(epoch) FROM reputation_epochs)`;

/** ρ in SQL: 1 for a pre-trusted rater (the array parameter $n), else the epoch's weight, else 0. */
export function rhoSql(n: number): string {
  return `(CASE WHEN c.rater = ANY($${n}::text[]) THEN 1::float8 ELSE coalesce(r.weight, 0) END)`;
}

export function toContribution(r: ContributionRow): Contribution {
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

export function dimensionFilter(agent: string, dimension: Dimension) {
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

export async function insertContributions(tx: Db, batch: readonly Contribution[]): Promise<void> {
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

export async function insertScores(tx: Db, states: ReadonlyMap<string, ScoreState>): Promise<void> {
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

export function splitKey(key: string): [string, string] {
  const i = key.indexOf("\u0000");
  return [key.slice(0, i), key.slice(i + 1)];
}
