/**
 * Gateway kill among several (issue 18 item 1): three `chaoscore serve` on one
 * Postgres database behind a client that spreads its requests over the live
 * ones; at random moments of the ingest one gateway is SIGKILLed (its
 * requests in flight fail; the writers retry the same signed action through
 * another gateway) and restarted. Goals: every acknowledged action is in the
 * log (once: the actions table has one row per id), every action never
 * acknowledged is absent or present once (no agent nonce has two rows), the
 * audit is clean. Full mode only (`npm run reliability -- --only gateways`);
 * `--quick` leaves it out to keep CI fast.
 * @module
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkIngest } from "./crash-scenarios.js";
import { type GatewayProcess, startGateway } from "./gateway.js";
import { gatewayPool, registerWriters } from "./gateway-pool.js";
import { sleep } from "./http.js";
import { newIngestStats, randomMoments, runIngest, waitForAcks } from "./ingest.js";
import type { PostgresServer } from "./postgres.js";
import { fmt, type ScenarioResult } from "./report.js";

export async function gatewaysKillScenario(
  pg: PostgresServer,
  options: { total: number; kills: number; writers: number; gateways: number },
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { total, kills, writers } = options;
  progress(
    `gateway SIGKILL among ${options.gateways}: ${fmt(total)} actions, ${writers} writers, ${kills} kills`,
  );
  const database = "rel_gateways";
  const databaseUrl = await pg.createDatabase(database);
  const dataDir = mkdtempSync(join(tmpdir(), "chaoscore-rel-gateways-"));
  // The first start makes the data dir and the admin key; the others join the database.
  const gateways: GatewayProcess[] = [await startGateway({ dataDir, databaseUrl })];
  for (let i = 1; i < options.gateways; i++) {
    gateways.push(await startGateway({ dataDir, databaseUrl }));
  }
  const adminKey = (gateways[0] as GatewayProcess).adminKey;
  const agents = await registerWriters(gateways, adminKey, writers, "gateways-agent");
  const stats = newIngestStats();
  let finished = false;
  const { down, live, nextUrl } = gatewayPool(gateways);
  const ingest = runIngest({
    baseUrl: nextUrl,
    adminKey,
    agents,
    total,
    stats,
  }).finally(() => {
    finished = true;
  });
  const moments = randomMoments(kills, Math.floor(total * 0.05), Math.floor(total * 0.95));
  let killed = 0;
  for (const at of moments) {
    await waitForAcks(stats, at, () => finished);
    if (finished) break;
    await sleep(Math.random() * 100);
    const victim = gateways[killed % gateways.length] as GatewayProcess;
    down.add(victim);
    await victim.kill();
    killed++;
    // The others carry the load while it is down; then it comes back.
    await sleep(500);
    await victim.restart();
    down.delete(victim);
  }
  await ingest;
  const check = await checkIngest({
    pg,
    database,
    dataDir,
    gateway: live()[0] as GatewayProcess,
    stats,
    sample: 200,
  });
  const [doubled] = await pg.query<{ n: number }>(
    database,
    `SELECT count(*)::int AS n FROM (
       SELECT agent_id, nonce FROM actions GROUP BY agent_id, nonce HAVING count(*) > 1) d`,
  );
  const refusedStored = await pg.query<{ n: number }>(
    database,
    `SELECT count(*)::int AS n FROM actions a
     JOIN unnest($1::text[], $2::numeric[]) AS r(agent, nonce)
       ON a.agent_id = r.agent AND a.nonce = r.nonce`,
    [stats.refused.map((r) => r.agent), stats.refused.map((r) => r.nonce)],
  );
  const exits = gateways.reduce((n, g) => n + g.unexpectedExits, 0);
  await Promise.all(gateways.map((g) => g.stop()));
  const doubles = doubled?.n ?? 0;
  const notes = [
    `acknowledged ${fmt(stats.acked.size)}/${fmt(total)}; ${fmt(stats.retries)} retries, ${fmt(stats.duplicates)} answered duplicate: true`,
    `actions rows ${fmt(check.rows)}, log leaves ${fmt(check.leaves)}; log audit ${check.audit}`,
    `never acknowledged: ${stats.refused.length} (${refusedStored[0]?.n ?? 0} of them stored, once each); agent nonces with two rows: ${doubles}`,
    `unexpected gateway exits (besides the kills): ${exits}`,
  ];
  if (stats.transport.size > 0) {
    notes.push(
      `transport errors: ${[...stats.transport].map(([k, v]) => `${k} ×${fmt(v)}`).join(", ")}`,
    );
  }
  if (check.lost.length > 0) notes.push(`LOST: ${check.lost.length} (first ${check.lost[0]})`);
  if (!check.auditClean) notes.push("LOG AUDIT NOT CLEAN");
  if (check.rows !== check.leaves) notes.push(`ROWS ≠ LEAVES (${check.rows} vs ${check.leaves})`);
  const lost = check.lost.length + check.missingOverHttp.length;
  return {
    scenario: `gateway SIGKILL among ${options.gateways}`,
    load: `${fmt(total)} actions, ${writers} writers, round robin`,
    faults: `${killed}× SIGKILL + restart of one gateway`,
    badInputs: 0,
    actionsLost: lost + doubles,
    http5xx: stats.unexpected5xx.length,
    seconds: (performance.now() - started) / 1000,
    notes,
    measures: {
      actions_lost: lost + doubles,
      http_5xx: stats.unexpected5xx.length,
      audit_findings: check.auditClean && check.rows === check.leaves ? 0 : 1,
      kills_short: kills - killed,
    },
  };
}
