/**
 * The incremental writer: applies one outcome or one feedback to the scores
 * it counts for, reading and writing a fixed number of rows whatever the size
 * of the history (the fold is generated from the model: decay-sql.ts).
 *
 * @module
 */
import { canonicalJsonBytes, fail, type Hex, isHex, sha256Hex } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import { foldMassSql } from "./decay-sql.js";
import { assertDimension, type Contribution, dimensionsOf, evidenceMass } from "./model.js";
import {
  contributionOfFeedback,
  contributionOfOutcome,
  normalizeAgent,
  parseOutcomeRef,
  type ReputationContext,
  raterWeight,
  secondsOf,
} from "./reputation-context.js";
import { LOCK, OUTCOME_SELECT, type OutcomeRow } from "./reputation-tables.js";
import type { ApplyResult, FeedbackInput, OutcomeRef } from "./reputation-types.js";

/**
 * Applies one evaluated outcome of the log to its agent's scores (overall,
 * the action's capability and its studio): one read, one write, whatever
 * the size of the history. Idempotent per outcome id.
 * @throws ChaosCoreError REPUTATION_INPUT_INVALID (not an id or an outcome
 * entry), REPUTATION_ACTION_NOT_FOUND (the entry's action is not in the
 * log), REPUTATION_OUTCOME_NOT_FOUND (no such outcome recorded).
 */
export async function applyOutcome(
  ctx: ReputationContext,
  outcome: OutcomeRef,
): Promise<ApplyResult> {
  const { id, action } = parseOutcomeRef(outcome);
  return ctx.db.transaction(async (tx) => {
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
    const c = contributionOfOutcome(ctx, row);
    const w = raterWeight(ctx, c.rater, row.rater_weight);
    const applied = await writeContribution(ctx, tx, c, w);
    return { id: c.id, applied, agent: c.agent, dimensions: dimensionsOf(c), x: c.x, weight: w };
  });
}

/**
 * Applies every outcome of the log that has not been applied yet, oldest
 * first (e.g. after a crash between recording and applying).
 * @returns how many were applied.
 */
export async function catchUp(ctx: ReputationContext, limit = 10_000): Promise<number> {
  const rows = await ctx.db.query<{ id: string }>(
    `SELECT encode(o.id, 'hex') AS id FROM outcomes o
     WHERE NOT EXISTS (SELECT 1 FROM reputation_contributions c WHERE c.id = o.id)
     ORDER BY o.log_id, o.leaf_index LIMIT $1`,
    [limit],
  );
  let n = 0;
  for (const r of rows) if ((await applyOutcome(ctx, `0x${r.id}`)).applied) n++;
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
export async function recordFeedback(
  ctx: ReputationContext,
  input: FeedbackInput,
): Promise<ApplyResult> {
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
  const t = secondsOf(ctx, input.timestamp, "timestamp");
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
  return ctx.db.transaction(async (tx) => {
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
    const c = contributionOfFeedback(ctx, {
      id: id.slice(2),
      rater,
      subject,
      dimension,
      value,
      evidence: actionId === null ? null : actionId.slice(2),
      ts: t,
    });
    const w = raterWeight(ctx, rater, check?.rater_weight ?? null);
    const applied = inserted.length > 0 && (await writeContribution(ctx, tx, c, w));
    return { id, applied, agent: subject, dimensions: dimensionsOf(c), x: c.x, weight: w };
  });
}

/** Inserts the contribution and folds it into its scores, unless it is there already. */
async function writeContribution(
  ctx: ReputationContext,
  tx: Db,
  c: Contribution,
  w: number,
): Promise<boolean> {
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
      ctx.halfLife,
    ],
  );
  return rows.length > 0;
}
