import type { Address } from "@chaoscore/core";
import type { Engine } from "@chaoscore/engine";
import type { ReputationPort, RewardPort, StudioOutcome } from "@chaoscore/studios";
import { snapshot } from "./engine.js";

/**
 * In-memory fakes of the studio's ports, and a snapshot of every table a
 * studio write can touch, for the studio's integration tests.
 */

/** A reputation fake: a score per (agent, dimension), the mean of the values applied. */
export class FakeReputation implements ReputationPort {
  readonly applied: StudioOutcome[] = [];
  readonly scores = new Map<string, number>();

  async applyOutcome(outcome: StudioOutcome): Promise<void> {
    this.applied.push(outcome);
    const mine = this.applied.filter(
      (o) => o.agent === outcome.agent && o.dimension === outcome.dimension,
    );
    this.scores.set(
      `${outcome.agent}|${outcome.dimension}`,
      mine.reduce((s, o) => s + o.value, 0) / mine.length,
    );
  }

  async get(agent: Address, dimension: string): Promise<number | null> {
    return this.scores.get(`${agent}|${dimension}`) ?? null;
  }

  set(agent: Address, dimension: string, score: number): void {
    this.scores.set(`${agent}|${dimension}`, score);
  }
}

/** A reward fake: records payouts, idempotent per (studio, payoutId). */
export class FakeRewards implements RewardPort {
  readonly paid: { studio: string; payoutId: string; agent: string; amount: bigint }[] = [];

  async pay(input: {
    studio: string;
    payoutId: string;
    recipients: readonly { agent: string; amount: bigint }[];
  }) {
    const duplicate = this.paid.some(
      (p) => p.studio === input.studio && p.payoutId === input.payoutId,
    );
    if (!duplicate) {
      for (const r of input.recipients) this.paid.push({ ...input, ...r });
    }
    return { duplicate };
  }
}

/** Row counts and states of the log and of every studio table. */
export async function studioSnapshot(engine: Engine): Promise<Record<string, unknown>> {
  const [studio] = await engine.db.query(
    `SELECT (SELECT count(*) FROM studios)::int AS studios,
            (SELECT count(*) FROM studio_members)::int AS members,
            (SELECT count(*) FROM studio_tasks)::int AS tasks,
            (SELECT count(*) FROM studio_task_deps)::int AS deps,
            (SELECT count(*) FROM studio_task_transitions)::int AS transitions,
            (SELECT count(*) FROM governance_daos)::int AS daos,
            (SELECT count(*) FROM governance_proposals)::int AS proposals,
            (SELECT count(*) FROM governance_votes)::int AS votes,
            (SELECT count(*) FROM log_leaves)::int AS log_leaves,
            (SELECT coalesce(string_agg(id || ':' || status || ':' || spent::text || ':' || version,
                                        ',' ORDER BY id), '') FROM studios) AS studio_rows,
            (SELECT coalesce(string_agg(studio_id || '/' || id || ':' || state || ':' ||
                                        encode(last_action, 'hex'), ',' ORDER BY studio_id, id), '')
               FROM studio_tasks) AS task_rows,
            (SELECT coalesce(string_agg(studio_id || '/' || id || ':' || state, ',' ORDER BY id), '')
               FROM governance_proposals) AS proposal_rows,
            (SELECT coalesce(string_agg(state::text, ',' ORDER BY studio_id), '')
               FROM governance_daos) AS dao_rows`,
  );
  return { studio, engine: await snapshot(engine) };
}
