import type { Db } from "@chaoscore/log";
import type { openTestEngine } from "@chaoscore/testkit";
import { expect } from "vitest";

export type Harness = Awaited<ReturnType<typeof openTestEngine>>;
export type Agent = Awaited<ReturnType<Harness["newAgent"]>>;

export const T0 = 1_750_000_000;
export const DAY = 86_400;
export const RUNS = Number(process.env.FC_RUNS ?? 12);

export { expectCode } from "@chaoscore/testkit";

/** Row counts of every reputation table: to prove a refused call wrote nothing. */
export async function counts(db: Db) {
  const [row] = await db.query(
    `SELECT (SELECT count(*) FROM reputation_feedback)::int AS feedback,
            (SELECT count(*) FROM reputation_contributions)::int AS contributions,
            (SELECT count(*) FROM reputation_scores)::int AS scores,
            (SELECT coalesce(sum(samples), 0)::int FROM reputation_scores) AS samples,
            (SELECT count(*) FROM reputation_epochs)::int AS epochs,
            (SELECT count(*) FROM reputation_trust)::int AS trust`,
  );
  return row;
}

export type Snapshot = {
  scores: Record<string, unknown>[];
  contributions: Record<string, unknown>[];
};

export async function state(db: Db): Promise<Snapshot> {
  const scores = await db.query(
    `SELECT agent, dimension, alpha, beta, samples::int AS samples, n_outcome::int AS n_outcome,
            n_linked::int AS n_linked, n_unlinked::int AS n_unlinked, n_self::int AS n_self, last_update
     FROM reputation_scores ORDER BY agent, dimension`,
  );
  const contributions = await db.query(
    `SELECT encode(id, 'hex') AS id, source, encode(action_id, 'hex') AS action_id, agent, rater,
            capability, studio, x, evidence, e, t
     FROM reputation_contributions ORDER BY id`,
  );
  return { scores, contributions };
}

/** Equal up to 1e-9 (relative, for α and β; absolute below 1). */
export function expectSameState(a: Snapshot, b: Snapshot) {
  expect(b.contributions).toEqual(a.contributions);
  expect(b.scores.length).toBe(a.scores.length);
  a.scores.forEach((x, i) => {
    const y = b.scores[i] as Record<string, number | string>;
    for (const key of Object.keys(x)) {
      const u = x[key];
      const v = y[key];
      if (key === "alpha" || key === "beta") {
        const scale = Math.max(1, Math.abs(Number(u)));
        const diff = Math.abs(Number(u) - Number(v)) / scale;
        expect(diff, `${x.agent} ${x.dimension} ${key}`).toBeLessThan(1e-9);
      } else {
        expect(v, `${x.agent} ${x.dimension} ${key}`).toEqual(u);
      }
    }
  });
}

/** The engine's clock, settable: signed messages must be near it. */
export function clock() {
  let now = T0;
  return {
    set: (t: number) => {
      now = t;
    },
    now: () => new Date(now * 1000),
  };
}
