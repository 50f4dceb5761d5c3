/**
 * Fault scenarios on the ingest path: the gateway SIGKILLed mid-ingest, and
 * the Postgres server restarted mid-ingest. Afterwards every acknowledged
 * action must be in the database and served by the gateway, and the log
 * audit must be clean.
 * @module
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GatewayProcess, runCli, startGateway } from "./gateway.js";
import { newAgent, registerAgent, send, sleep, type TestAgent } from "./http.js";
import {
  type IngestStats,
  newIngestStats,
  randomMoments,
  runIngest,
  waitForAcks,
} from "./ingest.js";
import type { PostgresServer } from "./postgres.js";
import { fmt, type ScenarioResult } from "./report.js";

type Progress = (line: string) => void;

/** What is checked after a fault scenario. */
export type IngestCheck = {
  /** Acknowledged ids missing from the actions table. */
  lost: string[];
  /** Acknowledged ids sampled through GET /v1/actions/{id} that did not answer 200. */
  missingOverHttp: string[];
  /** Rows of the actions table, leaves of the log. */
  rows: number;
  leaves: number;
  /** log audit: clean, and its one-line summary. */
  auditClean: boolean;
  audit: string;
};

/** Checks that every acknowledged action is stored and served, and audits the log. */
export async function checkIngest(input: {
  pg: PostgresServer;
  database: string;
  dataDir: string;
  gateway: GatewayProcess;
  stats: IngestStats;
  sample?: number;
}): Promise<IngestCheck> {
  const { pg, database, stats } = input;
  const rows = await pg.query<{ id: string }>(
    database,
    "SELECT encode(id, 'hex') AS id FROM actions",
  );
  const stored = new Set(rows.map((r) => `0x${r.id}`));
  const lost = [...stats.acked.keys()].filter((id) => !stored.has(id));
  const [size] = await pg.query<{ size: string }>(
    database,
    "SELECT size::text FROM logs WHERE id = 'default'",
  );
  const ids = [...stats.acked.keys()];
  const sample = Math.min(input.sample ?? 500, ids.length);
  const missingOverHttp: string[] = [];
  for (let i = 0; i < sample; i++) {
    const id = ids[Math.floor(Math.random() * ids.length)] as string;
    const a = await send(`${input.gateway.url}/v1/actions/${id}`, {});
    if (!a.ok || a.status !== 200) missingOverHttp.push(id);
  }
  const audit = await runCli(["log", "audit", "--json"], {
    dataDir: input.dataDir,
    databaseUrl: pg.url(database),
  });
  let auditClean = false;
  let summary = `exit ${audit.code}: ${audit.stderr.trim().split("\n").slice(-3).join(" / ")}`;
  try {
    const report = JSON.parse(audit.stdout) as { ok: boolean; size: number; findings: unknown[] };
    auditClean = report.ok && report.findings.length === 0 && audit.code === 0;
    summary = `${report.ok ? "clean" : "FINDINGS"}: ${fmt(report.size)} leaves, ${report.findings.length} findings${
      report.findings.length > 0 ? ` ${JSON.stringify(report.findings.slice(0, 3))}` : ""
    }`;
  } catch {
    // summary keeps the exit code and stderr
  }
  return {
    lost,
    missingOverHttp,
    rows: rows.length,
    leaves: Number(size?.size ?? 0),
    auditClean,
    audit: summary,
  };
}

/** Starts a gateway on a fresh database and registers `count` agents. */
async function freshGateway(
  pg: PostgresServer,
  database: string,
  count: number,
  progress: Progress,
) {
  const url = await pg.createDatabase(database);
  const dataDir = mkdtempSync(join(tmpdir(), `chaoscore-rel-${database}-`));
  const gateway = await startGateway({ dataDir, databaseUrl: url });
  if (gateway.adminKey === "")
    throw new Error("the gateway printed no ADMIN_KEY on a fresh database");
  const agents: TestAgent[] = [];
  for (let i = 0; i < count; i++) {
    const agent = newAgent(`${database}-agent-${i}`);
    await registerAgent(gateway.url, gateway.adminKey, agent);
    agents.push(agent);
  }
  progress(`  gateway pid ${gateway.pid} at ${gateway.url}, data dir ${dataDir}, ${count} agents`);
  return { dataDir, gateway, agents, url };
}

/** Notes common to both ingest scenarios. */
function ingestNotes(stats: IngestStats, check: IngestCheck, total: number): string[] {
  const notes = [
    `acknowledged ${fmt(stats.acked.size)}/${fmt(total)}; ${fmt(stats.retries)} retries, ${fmt(stats.duplicates)} answered duplicate: true`,
    `actions rows ${fmt(check.rows)}, log leaves ${fmt(check.leaves)}; log audit ${check.audit}`,
  ];
  if (stats.transport.size > 0) {
    notes.push(
      `transport errors: ${[...stats.transport].map(([k, v]) => `${k} ×${fmt(v)}`).join(", ")}`,
    );
  }
  const unanswered = stats.transport.get("TimeoutError") ?? 0;
  if (unanswered > 0) {
    notes.push(
      `UNANSWERED: ${unanswered} requests got no answer within 30 s (the client timed out and retried)`,
    );
  }
  if (stats.answers.size > 0) {
    notes.push(
      `other answers: ${[...stats.answers].map(([k, v]) => `${k} ×${fmt(v)}`).join(", ")}`,
    );
  }
  if (stats.refused.length > 0) {
    notes.push(
      `REFUSED for good: ${stats.refused.length} (first ${JSON.stringify(stats.refused[0])})`,
    );
  }
  if (check.lost.length > 0) notes.push(`LOST: ${check.lost.length} (first ${check.lost[0]})`);
  if (check.missingOverHttp.length > 0) {
    notes.push(`not served by GET /v1/actions/{id}: ${check.missingOverHttp.length}`);
  }
  if (!check.auditClean) notes.push("LOG AUDIT NOT CLEAN");
  if (check.rows !== check.leaves) notes.push(`ROWS ≠ LEAVES (${check.rows} vs ${check.leaves})`);
  if (check.rows !== total) notes.push(`ROWS ≠ ACTIONS SENT (${check.rows} vs ${total})`);
  return notes;
}

/** 20× SIGKILL of the gateway at random moments of a 20,000-action ingest. */
export async function gatewayKillScenario(
  pg: PostgresServer,
  options: { total: number; kills: number; writers: number },
  progress: Progress,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { total, kills, writers } = options;
  progress(`gateway SIGKILL: ${fmt(total)} actions, ${writers} writers, ${kills} kills`);
  const { dataDir, gateway, agents } = await freshGateway(pg, "rel_kill", writers, progress);
  const stats = newIngestStats();
  let finished = false;
  const ingest = runIngest({
    baseUrl: () => gateway.url,
    adminKey: gateway.adminKey,
    agents,
    total,
    stats,
  }).finally(() => {
    finished = true;
  });
  const moments = randomMoments(kills, Math.floor(total * 0.02), Math.floor(total * 0.98));
  const downtimes: number[] = [];
  let killed = 0;
  for (const at of moments) {
    await waitForAcks(stats, at, () => finished);
    if (finished) break;
    await sleep(Math.random() * 100);
    const t0 = performance.now();
    await gateway.kill();
    killed++;
    await gateway.restart();
    const down = performance.now() - t0;
    downtimes.push(down);
    progress(
      `  kill ${killed}/${kills} at ${fmt(stats.acked.size)} acknowledged; back in ${(down / 1000).toFixed(1)} s (pid ${gateway.pid})`,
    );
  }
  await ingest;
  progress(
    `  ingest done: ${fmt(stats.acked.size)} acknowledged, ${fmt(stats.retries)} retries; checking…`,
  );
  const check = await checkIngest({ pg, database: "rel_kill", dataDir, gateway, stats });
  await gateway.stop();
  const notes = ingestNotes(stats, check, total);
  const mean = downtimes.reduce((s, d) => s + d, 0) / Math.max(1, downtimes.length) / 1000;
  notes.push(
    `restart to LISTENING: mean ${mean.toFixed(1)} s, max ${(Math.max(0, ...downtimes) / 1000).toFixed(1)} s`,
  );
  if (killed < kills) notes.push(`ONLY ${killed} KILLS (the ingest finished first)`);
  return {
    scenario: "gateway SIGKILL mid-ingest",
    load: `${fmt(total)} actions, ${writers} writers`,
    faults: `${killed}× SIGKILL + restart`,
    badInputs: 0,
    actionsLost: check.lost.length + check.missingOverHttp.length,
    http5xx: stats.unexpected5xx.length,
    seconds: (performance.now() - started) / 1000,
    notes,
    measures: {
      actions_lost: check.lost.length + check.missingOverHttp.length,
      http_5xx: stats.unexpected5xx.length,
      audit_findings: check.auditClean ? 0 : 1,
      kills_short: kills - killed,
    },
  };
}

/** The Postgres server restarted (fast, then immediate, alternating) mid-ingest. */
export async function postgresRestartScenario(
  pg: PostgresServer,
  options: { total: number; restarts: number; writers: number; downMs: number },
  progress: Progress,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { total, restarts, writers } = options;
  progress(`Postgres restart: ${fmt(total)} actions, ${writers} writers, ${restarts} restarts`);
  const { dataDir, gateway, agents } = await freshGateway(pg, "rel_pgrestart", writers, progress);
  const stats = newIngestStats();
  let finished = false;
  const ingest = runIngest({
    baseUrl: () => gateway.url,
    adminKey: gateway.adminKey,
    agents,
    total,
    stats,
    stallMs: 300_000,
  }).finally(() => {
    finished = true;
  });
  const notes: string[] = [];
  const moments = randomMoments(restarts, Math.floor(total * 0.1), Math.floor(total * 0.9));
  let done = 0;
  let gatewayRestarts = 0;
  for (const at of moments) {
    await waitForAcks(stats, at, () => finished);
    if (finished) break;
    const mode = done % 2 === 0 ? "fast" : "immediate";
    const exitsBefore = gateway.unexpectedExits;
    const ackedBefore = stats.acked.size;
    await pg.stop(mode);
    await sleep(options.downMs);
    await pg.start();
    done++;
    // Did the gateway survive, and does it write again without being restarted?
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && stats.acked.size <= ackedBefore + writers && !finished) {
      await sleep(50);
    }
    const crashed = gateway.unexpectedExits > exitsBefore || !gateway.isRunning();
    const resumed = stats.acked.size > ackedBefore + writers || finished;
    progress(
      `  restart ${done}/${restarts} (${mode}) at ${fmt(ackedBefore)} acknowledged: gateway ${
        crashed ? "CRASHED" : "alive"
      }, writes ${resumed ? "resumed" : "DID NOT RESUME in 20 s"}`,
    );
    if (crashed) {
      notes.push(
        `restart ${done} (${mode}): the gateway process DIED (${gateway
          .tail()
          .filter((l) => /error|Error|exited/.test(l))
          .slice(-3)
          .join(" / ")
          .slice(0, 400)})`,
      );
    } else if (!resumed) {
      notes.push(`restart ${done} (${mode}): the gateway did not write again within 20 s`);
    }
    if (crashed || !resumed) {
      gatewayRestarts++;
      await gateway.restart();
      progress(`  gateway restarted by the suite (pid ${gateway.pid})`);
    }
  }
  await ingest;
  progress(`  ingest done: ${fmt(stats.acked.size)} acknowledged; checking…`);
  const check = await checkIngest({ pg, database: "rel_pgrestart", dataDir, gateway, stats });
  await gateway.stop();
  notes.unshift(...ingestNotes(stats, check, total));
  if (gatewayRestarts > 0) notes.push(`the suite had to restart the gateway ${gatewayRestarts}×`);
  return {
    scenario: "Postgres restarted mid-ingest",
    load: `${fmt(total)} actions, ${writers} writers`,
    faults: `${done}× Postgres stop/start (fast, immediate)`,
    badInputs: 0,
    actionsLost: check.lost.length + check.missingOverHttp.length,
    http5xx: stats.unexpected5xx.length,
    seconds: (performance.now() - started) / 1000,
    notes,
    measures: {
      actions_lost: check.lost.length + check.missingOverHttp.length,
      http_5xx: stats.unexpected5xx.length,
      audit_findings: check.auditClean ? 0 : 1,
      gateway_restarts_needed: gatewayRestarts,
    },
  };
}
