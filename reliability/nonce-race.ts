/**
 * 50 concurrent writers of one agent racing on each nonce: the same nonce
 * signed 50 times with different payloads, sent at once. Exactly one wins
 * (201), the others get 409 AGENCY_NONCE_NOT_INCREASING, and no nonce has
 * two actions in the log. Odd rounds use agent-signed requests (each writer
 * signs its own request), even rounds an admin key.
 * @module
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway } from "./gateway.js";
import { actionBody, agentRequestHeaders, codeOf, newAgent, registerAgent, send } from "./http.js";
import type { PostgresServer } from "./postgres.js";
import { fmt, type ScenarioResult } from "./report.js";

/** The outcome of one round: how many won, and the answers of the losers. */
export type RoundOutcome = { winners: number; losers: Map<string, number> };

/** True when a round went right: one winner, every other writer refused with the nonce code. */
export function isCleanRound(r: RoundOutcome, writers: number): boolean {
  return r.winners === 1 && (r.losers.get("409 AGENCY_NONCE_NOT_INCREASING") ?? 0) === writers - 1;
}

export async function nonceRaceScenario(
  pg: PostgresServer,
  options: { rounds: number; writers: number },
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { rounds, writers } = options;
  const database = "rel_nonce";
  const databaseUrl = await pg.createDatabase(database);
  const dataDir = mkdtempSync(join(tmpdir(), "chaoscore-rel-nonce-"));
  const gateway = await startGateway({ dataDir, databaseUrl });
  const agent = newAgent("racer");
  await registerAgent(gateway.url, gateway.adminKey, agent);
  progress(`nonce race: ${rounds} rounds × ${writers} writers of agent ${agent.address}`);
  const answers = new Map<string, number>();
  let badRounds = 0;
  let http5xx = 0;
  const examples: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const nonce = round;
    const signedByAgent = round % 2 === 1;
    const bodies = Array.from({ length: writers }, (_, w) =>
      actionBody(agent, nonce, { round, writer: w }),
    );
    const results = await Promise.all(
      bodies.map((body) => {
        const headers: Record<string, string> = signedByAgent
          ? agentRequestHeaders(agent, { method: "POST", path: "/v1/actions", body })
          : { authorization: `Bearer ${gateway.adminKey}` };
        headers["content-type"] = "application/json";
        return send(`${gateway.url}/v1/actions`, { method: "POST", headers, body });
      }),
    );
    const outcome: RoundOutcome = { winners: 0, losers: new Map() };
    for (const a of results) {
      const key = a.ok ? `${a.status} ${codeOf(a) ?? ""}`.trim() : a.error;
      answers.set(key, (answers.get(key) ?? 0) + 1);
      if (a.ok && a.status >= 500) http5xx++;
      if (a.ok && a.status === 201 && (a.body as { duplicate?: boolean }).duplicate === false) {
        outcome.winners++;
      } else outcome.losers.set(key, (outcome.losers.get(key) ?? 0) + 1);
    }
    if (!isCleanRound(outcome, writers)) {
      badRounds++;
      if (examples.length < 5) {
        examples.push(
          `round ${round} (${signedByAgent ? "agent-signed" : "admin key"}): ${outcome.winners} winners; ${[...outcome.losers].map(([k, v]) => `${k} ×${v}`).join(", ")}`,
        );
      }
    }
    if (round % 20 === 0) progress(`  ${round}/${rounds} rounds, ${badRounds} not clean`);
  }
  const doubled = await pg.query<{ nonce: string; n: number }>(
    database,
    `SELECT nonce::text, count(*)::int AS n FROM actions WHERE agent_id = $1 GROUP BY nonce HAVING count(*) > 1`,
    [agent.address],
  );
  const [stored] = await pg.query<{ n: number }>(
    database,
    "SELECT count(*)::int AS n FROM actions WHERE agent_id = $1",
    [agent.address],
  );
  await gateway.stop();
  const notes = [
    `answers: ${[...answers].map(([k, v]) => `${k} ×${fmt(v)}`).join(", ")}`,
    `actions stored for the agent: ${stored?.n ?? 0} (one per round expected: ${rounds}); nonces with two actions: ${doubled.length}`,
    ...examples,
  ];
  const lost = badRounds + doubled.length;
  return {
    scenario: "nonce race, one agent",
    load: `${rounds} rounds × ${writers} concurrent writers`,
    faults: "same nonce, different payloads",
    badInputs: rounds * (writers - 1),
    actionsLost: 0,
    http5xx,
    seconds: (performance.now() - started) / 1000,
    notes,
    measures: { nonce_races_lost: lost, http_5xx: http5xx },
  };
}
