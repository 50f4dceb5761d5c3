/**
 * Signature worker kill (issue 19 item 10): writers ingest signed actions
 * over HTTP while the engine's signature-recovery worker threads are
 * terminated mid-batch again and again. The pool replaces a dead worker and
 * sends its chunk again once, then fails it with AGENCY_VERIFIER_UNAVAILABLE
 * (503, retryable): writers retry such answers with the same signed action.
 * Goals: every request answered (no hang), no 5xx but the documented
 * retryable 503s, no acknowledged action missing from the log.
 *
 * A worker thread lives inside the gateway process, so this scenario runs the
 * gateway in-process (`buildGateway` over a PGlite engine with
 * `signatureThreads: 2`, on a real port) and kills workers through the
 * pool's fault-injection hook `killWorker`.
 * @module
 */

import type { WorkerSignatureVerifier } from "@chaoscore/log";
import { MockTeeProvider } from "@chaoscore/sandbox";
import { openTestEngine } from "@chaoscore/testkit";
import pino from "pino";
import { buildGateway } from "../packages/gateway/src/app.js";
import { ApiKeyStore } from "../packages/gateway/src/auth.js";
import { gatewayServices } from "../packages/gateway/src/services.js";
import { CHAIN_ID, codeOf, send, sleep } from "./http.js";
import { fmt, type ScenarioResult } from "./report.js";

/** The 503 codes a writer may retry (documented as retryable in docs/errors.md). */
const RETRYABLE = new Set(["AGENCY_VERIFIER_UNAVAILABLE", "AGENCY_QUEUE_FULL"]);

export async function workerKillScenario(
  options: { writers: number; perWriter: number; kills: number; threads: number },
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const started = performance.now();
  const h = await openTestEngine({ signatureThreads: options.threads });
  const pool = h.engine.agency.verifier as WorkerSignatureVerifier;
  if (typeof pool.killWorker !== "function") throw new Error("the engine runs no worker pool");
  const app = await buildGateway({
    ...gatewayServices({ engine: h.engine, chainId: CHAIN_ID, tee: MockTeeProvider.create() }),
    logger: pino({ level: "silent" }),
  });
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  const admin = (await new ApiKeyStore(h.engine.db).create({ scopes: ["admin"], label: "kill" }))
    .key;
  const answers = new Map<string, number>();
  const acked: { agent: string; nonce: number }[] = [];
  let http5xx = 0;
  let unanswered = 0;
  let gaveUp = 0;
  let kills = 0;
  let killsMidBatch = 0;
  let threadsAfter = 0;
  const total = options.writers * options.perWriter;
  try {
    progress(
      `worker kill: ${options.writers} writers × ${options.perWriter} actions, ${options.threads} signature workers, ${options.kills} kills`,
    );
    const agents: Awaited<ReturnType<typeof h.newAgent>>[] = [];
    for (let i = 0; i < options.writers; i++) agents.push(await h.newAgent());
    let done = 0;
    const writer = async (agent: Awaited<ReturnType<typeof h.newAgent>>) => {
      for (let n = 1; n <= options.perWriter; n++) {
        // small batches of signatures per request: one action each, many writers at once
        const body = JSON.stringify(
          agent.action({ actionType: "reliability.kill", payload: { n, pad: "y".repeat(512) } }),
        );
        for (let attempt = 1; ; attempt++) {
          const a = await send(
            `${base}/v1/actions`,
            {
              method: "POST",
              headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
              body,
            },
            60_000,
          );
          const code = codeOf(a) ?? "";
          const key = a.ok ? `${a.status} ${code}`.trim() : a.error;
          answers.set(key, (answers.get(key) ?? 0) + 1);
          if (!a.ok) unanswered++;
          if (a.ok && a.status === 201) {
            acked.push({ agent: agent.address, nonce: n });
            break;
          }
          const retryable = a.ok && a.status === 503 && RETRYABLE.has(code);
          if (a.ok && a.status >= 500 && !retryable) http5xx++;
          if (!retryable || attempt >= 20) {
            gaveUp++;
            break;
          }
          await sleep(50);
        }
        done++;
      }
    };
    const writing = Promise.all(agents.map(writer));
    let finished = false;
    void writing.finally(() => {
      finished = true;
    });
    // Kill a worker at spread moments while the writers run, each mid-batch.
    while (!finished && kills < options.kills) {
      const target = ((kills + 1) / (options.kills + 1)) * total;
      while (!finished && done < target) await sleep(5);
      if (finished) break;
      // Kill a worker that holds a chunk (waiting a little for one), so the kill is mid-batch.
      const slots = (pool as unknown as { slots: { inflight: Map<number, unknown> }[] }).slots;
      let i = -1;
      for (let wait = 0; wait < 200 && i < 0 && !finished; wait++) {
        i = slots.findIndex((slot) => slot.inflight.size > 0);
        if (i < 0) await sleep(1);
      }
      if (i >= 0) killsMidBatch++;
      else i = kills % options.threads;
      await pool.killWorker(i);
      kills++;
      progress(`  kill ${kills}/${options.kills} at ${fmt(done)}/${fmt(total)} actions`);
    }
    await writing;
    threadsAfter = pool.threadIds.length;
  } finally {
    await app.close();
  }
  const stored = await h.db.query<{ agent: string; nonce: string }>(
    "SELECT agent_id AS agent, nonce::text AS nonce FROM actions",
  );
  await h.close();
  const have = new Set(stored.map((r) => `${r.agent.toLowerCase()}/${r.nonce}`));
  const lost = acked.filter((a) => !have.has(`${a.agent.toLowerCase()}/${a.nonce}`)).length;
  return {
    scenario: "signature worker kill",
    load: `${fmt(total)} actions, ${options.writers} writers, ${options.threads} workers`,
    faults: `${kills}× worker terminated mid-batch`,
    badInputs: 0,
    actionsLost: lost,
    http5xx,
    seconds: (performance.now() - started) / 1000,
    notes: [
      `answers: ${[...answers].map(([k, v]) => `${k} ×${fmt(v)}`).join(", ")}`,
      `${kills} kills, ${killsMidBatch} of them while the worker held a chunk in flight; worker threads alive at the end: ${threadsAfter}`,
      `acknowledged ${fmt(acked.length)}/${fmt(total)}; missing from the log: ${lost}; requests without an answer: ${unanswered}; actions given up (non-retryable or 20 retries): ${gaveUp}`,
    ],
    measures: {
      actions_lost: lost + gaveUp,
      http_5xx: http5xx,
      worker_kill_unanswered: unanswered,
    },
  };
}
