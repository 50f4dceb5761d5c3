/**
 * Ingest queue flood (issue 19 item 9): waves of large signed actions, all
 * sent at once over HTTP, past the engine's bounded ingest queue. Every
 * refusal must be 503 AGENCY_QUEUE_FULL with a Retry-After header, nothing
 * refused is written, everything acknowledged (201) is in the log, and the
 * process's memory growth stays bounded (measured and reported).
 *
 * `chaoscore serve` has no switch for the queue bounds, so this scenario
 * runs the gateway in-process (`buildGateway` over a PGlite engine with a
 * small queue, listening on a real port) so that a modest flood overflows it.
 * @module
 */
import { MockTeeProvider } from "@chaoscore/sandbox";
import { openTestEngine } from "@chaoscore/testkit";
import pino from "pino";
import { buildGateway } from "../packages/gateway/src/app.js";
import { ApiKeyStore } from "../packages/gateway/src/auth.js";
import { gatewayServices } from "../packages/gateway/src/services.js";
import { CHAIN_ID, codeOf, send } from "./http.js";
import { fmt, type ScenarioResult } from "./report.js";

const MiB = 1024 * 1024;

/** Options of {@link queueFloodScenario}. */
export type QueueFloodOptions = {
  /** Agents, each sending one action per wave (so nonces never race). */
  agents: number;
  waves: number;
  payloadKiB: number;
  /** The engine's queue bound in bytes (entries bound: `agents`). */
  queueBytes: number;
};

export async function queueFloodScenario(
  options: QueueFloodOptions,
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const started = performance.now();
  const h = await openTestEngine({
    limits: { maxQueueBytes: options.queueBytes, maxQueueEntries: options.agents },
  });
  const app = await buildGateway({
    ...gatewayServices({ engine: h.engine, chainId: CHAIN_ID, tee: MockTeeProvider.create() }),
    logger: pino({ level: "silent" }),
  });
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  const admin = (await new ApiKeyStore(h.engine.db).create({ scopes: ["admin"], label: "flood" }))
    .key;
  const answers = new Map<string, number>();
  let http5xx = 0;
  let badRefusals = 0;
  let refusedWritten = 0;
  let ackedMissing = 0;
  let acked = 0;
  let refused = 0;
  let peakGrowth = 0;
  const peaks: number[] = [];
  try {
    progress(
      `queue flood: ${options.agents} agents × ${options.waves} waves × ${options.payloadKiB} KiB at once, queue bound ${options.queueBytes / MiB} MiB`,
    );
    const agents: Awaited<ReturnType<typeof h.newAgent>>[] = [];
    for (let i = 0; i < options.agents; i++) agents.push(await h.newAgent());
    const blob = "x".repeat(options.payloadKiB * 1024 - 64);
    for (let wave = 1; wave <= options.waves; wave++) {
      const bodies = agents.map((a, i) =>
        JSON.stringify(a.action({ actionType: "reliability.flood", payload: { wave, i, blob } })),
      );
      global.gc?.();
      const start = process.memoryUsage().rss;
      let peak = start;
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const results = await Promise.all(
        bodies.map((body) =>
          send(
            `${base}/v1/actions`,
            {
              method: "POST",
              headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
              body,
            },
            120_000,
          ),
        ),
      );
      clearInterval(timer);
      peaks.push((peak - start) / MiB);
      const ackedNow = new Set<string>();
      const refusedNow = new Set<string>();
      results.forEach((a, i) => {
        const address = agents[i]?.address ?? "";
        const code = codeOf(a) ?? "";
        const key = a.ok ? `${a.status} ${code}`.trim() : a.error;
        answers.set(key, (answers.get(key) ?? 0) + 1);
        if (a.ok && a.status === 201) {
          acked++;
          ackedNow.add(address);
        } else if (a.ok && a.status === 503 && code === "AGENCY_QUEUE_FULL") {
          refused++;
          refusedNow.add(address);
          if (!/^\d+$/.test(a.headers.get("retry-after") ?? "")) badRefusals++;
        } else {
          badRefusals++;
          if (a.ok && a.status >= 500) http5xx++;
          refusedNow.add(address);
        }
      });
      const stored = await h.db.query<{ agent: string }>(
        "SELECT agent_id AS agent FROM actions WHERE nonce = $1",
        [String(wave)],
      );
      const have = new Set(stored.map((r) => r.agent.toLowerCase()));
      for (const a of ackedNow) if (!have.has(a.toLowerCase())) ackedMissing++;
      for (const a of refusedNow) if (have.has(a.toLowerCase())) refusedWritten++;
      progress(
        `  wave ${wave}/${options.waves}: ${ackedNow.size} acked, ${refusedNow.size} refused, peak RSS +${peaks.at(-1)?.toFixed(0)} MiB`,
      );
      // agents refused this wave skip a nonce: nonces need only increase
    }
    peakGrowth = Math.max(...peaks);
  } finally {
    await app.close();
    await h.close();
  }
  const payloadMiB = (options.agents * options.payloadKiB * 1024) / MiB;
  return {
    scenario: "ingest queue flood",
    load: `${options.waves} waves × ${options.agents} × ${options.payloadKiB} KiB at once (${payloadMiB.toFixed(0)} MiB a wave)`,
    faults: `queue bound ${options.queueBytes / MiB} MiB`,
    badInputs: 0,
    actionsLost: ackedMissing,
    http5xx,
    seconds: (performance.now() - started) / 1000,
    notes: [
      `answers: ${[...answers].map(([k, v]) => `${k} ×${fmt(v)}`).join(", ")}`,
      `acknowledged ${fmt(acked)}, all in the log: ${ackedMissing === 0}; refused ${fmt(refused)} (503 AGENCY_QUEUE_FULL + Retry-After), written anyway: ${refusedWritten}; other answers: ${badRefusals}${refused === 0 ? " — the queue never filled: the flood tested nothing" : ""}`,
      `peak RSS growth per wave (the client's bodies included): ${peaks.map((p) => `${p.toFixed(0)} MiB`).join(", ")}`,
    ],
    measures: {
      actions_lost: ackedMissing,
      http_5xx: http5xx,
      rows_written_by_rejected: refusedWritten,
      // a flood that never filled the queue tested nothing: counted as a miss
      queue_flood_misanswered: badRefusals + (refused === 0 ? 1 : 0),
      queue_flood_peak_rss_mib: Math.round(peakGrowth),
    },
  };
}
