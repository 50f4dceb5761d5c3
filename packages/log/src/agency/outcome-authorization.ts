/**
 * Who may post an outcome of an action (issue 19 item 4; docs/spec/receipt.md §3.1):
 *
 * - an action of a **studio of this deployment** (its signed `studio` names a
 *   row of `studios`): the studio's operator and its members with the
 *   `evaluator` role — not the acting agent, not a stranger;
 * - any other action: the acting agent itself under the `self` policy; any
 *   registered agent under the `open` policy (the default: outside studios an
 *   outcome is feedback, which reputation weighs by the rater's trust).
 *
 * Each evaluator posts at most one outcome per action (migration 11: unique
 * (action, evaluator)), so an outcome never blocks another evaluator's.
 * @module
 */
import { ChaosCoreError, type Hex } from "@chaoscore/core";
import type { Db } from "../store/db.js";

/** Who may judge actions outside studios: the acting agent only, or any registered agent. */
export type OutcomePolicy = "self" | "open";

/** What the writer knows of an action that outcomes refer to. */
export type JudgedAction = {
  /** The acting agent. */
  agent: string;
  /** The action's signed studio ("" for none). */
  studio: string;
  /** The evaluators that already have an outcome of it. */
  evaluators: Set<string>;
};

/**
 * Reads the actions `ids` (with their studio and the evaluators that judged
 * them) inside the writer's transaction.
 */
export async function readJudgedActions(
  tx: Db,
  ids: readonly Hex[],
): Promise<Map<Hex, JudgedAction>> {
  const out = new Map<Hex, JudgedAction>();
  if (ids.length === 0) return out;
  const rows = await tx.query<{
    id: string;
    agent_id: string;
    studio: string;
    evaluators: string[] | null;
  }>(
    `SELECT encode(a.id, 'hex') AS id, a.agent_id, a.studio,
            array_remove(array_agg(o.evaluator), NULL) AS evaluators
       FROM actions a LEFT JOIN outcomes o ON o.action_id = a.id
      WHERE a.id IN (SELECT decode(w, 'hex') FROM unnest($1::text[]) AS w)
      GROUP BY a.id, a.agent_id, a.studio`,
    [ids.map((h) => h.slice(2))],
  );
  for (const r of rows) {
    out.set(`0x${r.id}`, {
      agent: r.agent_id,
      studio: r.studio,
      evaluators: new Set(r.evaluators ?? []),
    });
  }
  return out;
}

/**
 * The agents that may judge the actions of each of `studios` that is a studio
 * of this deployment: its operator and its `evaluator` members. Studios not
 * in the map are not studios of this deployment.
 */
export async function readStudioJudges(
  tx: Db,
  studios: readonly string[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const wanted = [...new Set(studios.filter((s) => s !== ""))];
  if (wanted.length === 0) return out;
  const rows = await tx.query<{ studio: string; judge: string | null }>(
    `SELECT s.id AS studio, s.operator AS judge FROM studios s WHERE s.id = ANY($1::text[])
     UNION ALL
     SELECT m.studio_id, m.agent_id FROM studio_members m
      WHERE m.studio_id = ANY($1::text[]) AND 'evaluator' = ANY(m.roles)`,
    [wanted],
  );
  for (const r of rows) {
    let judges = out.get(r.studio);
    if (judges === undefined) {
      judges = new Set();
      out.set(r.studio, judges);
    }
    if (r.judge !== null) judges.add(r.judge);
  }
  return out;
}

/**
 * Checks that `evaluator` may post an outcome of `action`, and has not yet.
 * @returns the refusal (AGENCY_OUTCOME_NOT_AUTHORIZED, AGENCY_OUTCOME_EXISTS), or null.
 */
export function checkOutcomeAuthority(
  evaluator: string,
  actionId: Hex,
  action: JudgedAction,
  studioJudges: Map<string, Set<string>>,
  policy: OutcomePolicy,
): ChaosCoreError | null {
  const judges = studioJudges.get(action.studio);
  const allowed =
    judges !== undefined ? judges.has(evaluator) : policy === "open" || evaluator === action.agent;
  if (!allowed) {
    return new ChaosCoreError(
      "AGENCY_OUTCOME_NOT_AUTHORIZED",
      judges !== undefined
        ? `${evaluator} is not an evaluator or the operator of studio ${action.studio}`
        : `only the acting agent ${action.agent} may post an outcome of this action`,
      { details: { agent: evaluator, action: actionId, studio: action.studio } },
    );
  }
  if (action.evaluators.has(evaluator)) {
    return new ChaosCoreError(
      "AGENCY_OUTCOME_EXISTS",
      `${evaluator} already posted an outcome of action ${actionId}`,
      { details: { agent: evaluator, action: actionId } },
    );
  }
  return null;
}
