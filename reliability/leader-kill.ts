/**
 * Leader kill during anchoring (issue 18): several `chaoscore serve` on one
 * Postgres database and one anvil, each with `--anchor-every 1`; the leader
 * lease decides which one anchors. Writers send signed actions round robin
 * over the live gateways while the current leader is SIGKILLed again and
 * again — each time, when it can be caught, right after it sent an anchor
 * transaction that is not final yet — and restarted. The next leader must
 * finish: every acknowledged action stored, one live anchor record per
 * (log, size), the log anchored up to its final size, and `log audit`
 * against the chain clean (every on-chain checkpoint is a stored checkpoint,
 * consistent with the next: no gap, no fork). Full mode only.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkIngest } from "./crash-scenarios.js";
import { type GatewayProcess, runCli, startGateway } from "./gateway.js";
import { gatewayPool, registerWriters } from "./gateway-pool.js";
import { send, sleep } from "./http.js";
import { newIngestStats, randomMoments, runIngest, waitForAcks } from "./ingest.js";
import type { PostgresServer } from "./postgres.js";
import { fmt, type ScenarioResult } from "./report.js";

/** Whether the gateway's /readyz says it holds the leader lease. */
async function isLeader(g: GatewayProcess): Promise<boolean> {
  if (!g.isRunning()) return false;
  const ready = await send(`${g.url}/readyz`, {});
  return ready.ok && (ready.body as { checks?: { leader?: string } }).checks?.leader === "leader";
}

/** Polls until one of `gateways` leads, or `timeoutMs` passed (undefined). */
async function findLeader(
  gateways: readonly GatewayProcess[],
  timeoutMs: number,
): Promise<GatewayProcess | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const g of gateways) if (await isLeader(g)) return g;
    await sleep(100);
  }
  return undefined;
}

export async function leaderKillScenario(
  pg: PostgresServer,
  options: { total: number; kills: number; writers: number; gateways: number },
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { total, kills, writers } = options;
  progress(
    `leader SIGKILL during anchoring among ${options.gateways}: ${fmt(total)} actions, ${writers} writers, ${kills} kills`,
  );
  const database = "rel_leader";
  const databaseUrl = await pg.createDatabase(database);
  const dataDir = mkdtempSync(join(tmpdir(), "chaoscore-rel-leader-"));
  const env = { CHAOSCORE_PASSWORD: "reliability-leader", CHAOSCORE_RPC_URL: "" };
  const cli = (args: string[]) => runCli(args, { dataDir, databaseUrl, env });
  const init = await cli(["init"]);
  if (init.code !== 0) throw new Error(`chaoscore init failed: ${init.stderr}`);
  const port = String(20_000 + Math.floor(Math.random() * 20_000));
  const up = await cli(["chain", "up", "--detach", "--port", port, "--block-time", "1"]);
  if (up.code !== 0) throw new Error(`chaoscore chain up failed: ${up.stderr}`);
  const serveArgs = ["--anchor-every", "1", "--confirmations", "1"];
  const gateways: GatewayProcess[] = [];
  try {
    for (let i = 0; i < options.gateways; i++) {
      gateways.push(await startGateway({ dataDir, databaseUrl, serveArgs, env }));
    }
    const adminKey = gateways.map((g) => g.adminKey).find((k) => k !== "") ?? "";
    const agents = await registerWriters(gateways, adminKey, writers, "leader-agent");
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

    const takeovers: number[] = [];
    let midAnchor = 0;
    let killed = 0;
    for (const at of randomMoments(kills, Math.floor(total * 0.05), Math.floor(total * 0.9))) {
      await waitForAcks(stats, at, () => finished);
      if (finished) break;
      const leader = await findLeader(live(), 15_000);
      if (leader === undefined) throw new Error("no gateway leads after 15 s");
      // Catch it mid-anchor: a transaction sent (hash known) and not final yet.
      const deadline = Date.now() + 3_000;
      let caught = false;
      while (!caught && Date.now() < deadline) {
        const [row] = await pg.query<{ n: number }>(
          database,
          "SELECT count(*)::int AS n FROM anchors WHERE status IN ('pending', 'mined') AND tx_hash IS NOT NULL",
        );
        caught = (row?.n ?? 0) > 0;
        if (!caught) await sleep(25);
      }
      if (caught) midAnchor++;
      down.add(leader);
      const killedAt = Date.now();
      await leader.kill();
      killed++;
      const next = await findLeader(
        gateways.filter((g) => g !== leader),
        20_000,
      );
      if (next === undefined) throw new Error("no gateway took the lead within 20 s of the kill");
      takeovers.push(Date.now() - killedAt);
      await leader.restart();
      down.delete(leader);
    }
    await ingest;

    // The next leader finishes: the log anchored (final) up to its size.
    const [size] = await pg.query<{ size: number }>(
      database,
      "SELECT size::int AS size FROM logs WHERE id = 'default'",
    );
    const finalDeadline = Date.now() + 60_000;
    let anchoredTo = 0;
    while (Date.now() < finalDeadline) {
      const [row] = await pg.query<{ size: number | null }>(
        database,
        "SELECT max(size)::int AS size FROM anchors WHERE log_id = 'default' AND status = 'final'",
      );
      anchoredTo = row?.size ?? 0;
      if (anchoredTo >= (size?.size ?? 0)) break;
      await sleep(250);
    }
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
         SELECT log_id, size FROM anchors WHERE status <> 'dropped'
         GROUP BY log_id, size HAVING count(*) > 1) d`,
    );
    const [records] = await pg.query<{ n: number; dropped: number }>(
      database,
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'dropped')::int AS dropped FROM anchors",
    );
    const chainAudit = await cli(["log", "audit", "--json"]);
    let chainClean = false;
    let chainSummary = `exit ${chainAudit.code}: ${chainAudit.stderr.trim().split("\n").slice(-2).join(" / ")}`;
    try {
      const report = JSON.parse(chainAudit.stdout) as {
        ok: boolean;
        findings: unknown[];
        chain: { anchored: number; lastAnchoredSize: number | null } | null;
      };
      // Clean AND actually checked against the chain (the audit skips the chain without an RPC).
      chainClean =
        chainAudit.code === 0 &&
        report.ok &&
        report.findings.length === 0 &&
        report.chain !== null &&
        report.chain.anchored > 0;
      chainSummary = `${chainClean ? "clean" : "NOT CLEAN"}: ${report.chain?.anchored ?? "no chain,"} on-chain checkpoints checked, the last at size ${report.chain?.lastAnchoredSize ?? "-"}, ${report.findings.length} findings`;
    } catch {
      // the summary keeps the exit code and stderr
    }
    const exits = gateways.reduce((n, g) => n + g.unexpectedExits, 0);
    const sorted = [...takeovers].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const doubles = doubled?.n ?? 0;
    const notAnchored = anchoredTo >= (size?.size ?? 0) ? 0 : 1;
    const notes = [
      `acknowledged ${fmt(stats.acked.size)}/${fmt(total)}; ${fmt(stats.retries)} retries`,
      `leader killed ${killed}× (${midAnchor} with an anchor transaction in flight); takeover ms min ${sorted[0] ?? 0} / median ${median} / max ${sorted.at(-1) ?? 0}`,
      `anchor records ${records?.n ?? 0} (${records?.dropped ?? 0} dropped); sizes with two live records: ${doubles}; final anchor at ${fmt(anchoredTo)} of ${fmt(size?.size ?? 0)} leaves`,
      `actions rows ${fmt(check.rows)}, log leaves ${fmt(check.leaves)}; log audit ${check.audit}; against the chain: ${chainSummary}`,
      `unexpected gateway exits (besides the kills): ${exits}`,
    ];
    if (check.lost.length > 0) notes.push(`LOST: ${check.lost.length} (first ${check.lost[0]})`);
    if (notAnchored > 0) notes.push("THE LOG WAS NOT ANCHORED TO ITS SIZE WITHIN 60 s");
    const lost = check.lost.length + check.missingOverHttp.length;
    return {
      scenario: `leader SIGKILL during anchoring among ${options.gateways}`,
      load: `${fmt(total)} actions, ${writers} writers, anchor every 1 s`,
      faults: `${killed}× SIGKILL + restart of the leader`,
      badInputs: 0,
      actionsLost: lost,
      http5xx: stats.unexpected5xx.length,
      seconds: (performance.now() - started) / 1000,
      notes,
      measures: {
        actions_lost: lost,
        http_5xx: stats.unexpected5xx.length,
        double_anchors: doubles,
        anchors_diverged: chainClean ? notAnchored : 1,
        audit_findings: check.auditClean && check.rows === check.leaves ? 0 : 1,
        kills_short: kills - killed,
      },
    };
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await cli(["chain", "down"]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
