/**
 * `npm run bench -- replica`: how far a streaming replica trails the primary
 * under ingest (issue 18 item 4). A Postgres primary and its hot standby
 * (Debian's binaries, @chaoscore/testkit/replica) and one
 * `chaoscore serve --read-database-url`; writers post signed actions while
 * a sampler scrapes `chaoscore_replica_lag_seconds` / `_bytes`, and a prober
 * measures, for every 25th acknowledged action, the time until the replica
 * serves it (`GET /v1/actions/:id` answered with `ChaosCore-Read: replica`).
 * That time is the window in which a read without ChaosCore-Min-Size can be
 * stale.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPLICA_SKIP_REASON, startReplicaPair } from "@chaoscore/testkit/replica";
import { startGateway } from "../reliability/gateway.js";
import { actionBody, newAgent, registerAgent, type TestAgent } from "../reliability/http.js";
import { describeMachine, goal } from "./machine.js";
import { intOption } from "./options.js";

const quantile = (xs: readonly number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

function gauge(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

/** Runs the bench; true when every goal passed. */
export async function runReplicaBench(argv: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args: argv,
    options: {
      actions: { type: "string", default: "2000" },
      writers: { type: "string", default: "8" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run bench -- replica [--actions 2000] [--writers 8]");
    return true;
  }
  const total = intOption("actions", values.actions);
  const writers = intOption("writers", values.writers);
  if (REPLICA_SKIP_REASON !== undefined) {
    console.log(`replica bench skipped: ${REPLICA_SKIP_REASON}`);
    return false;
  }
  console.log(`machine: ${describeMachine()}; load before ${loadavg()[0]?.toFixed(2)}`);
  const pair = await startReplicaPair();
  const dataDir = mkdtempSync(join(tmpdir(), "chaoscore-replica-bench-"));
  const gateway = await startGateway({
    dataDir,
    databaseUrl: pair.primaryUrl,
    serveArgs: ["--no-chain", "--read-database-url", pair.replicaUrl],
  });
  try {
    const base = gateway.url;
    const admin = { authorization: `Bearer ${gateway.adminKey}` };
    const agents: TestAgent[] = [];
    for (let i = 0; i < writers; i++) {
      const agent = newAgent(`replica bench ${i}`);
      await registerAgent(base, gateway.adminKey, agent);
      agents.push(agent);
    }
    const bodies = agents.map((agent) =>
      Array.from({ length: Math.ceil(total / writers) }, (_, n) => actionBody(agent, n + 1, { n })),
    );

    let running = true;
    let errors5xx = 0;
    const lagSeconds: number[] = [];
    const lagBytes: number[] = [];
    const sampler = (async () => {
      while (running) {
        const text = await (await fetch(`${base}/metrics`)).text();
        lagSeconds.push(gauge(text, "chaoscore_replica_lag_seconds"));
        lagBytes.push(gauge(text, "chaoscore_replica_lag_bytes"));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const visible: number[] = [];
    const probes: Promise<void>[] = [];
    const probe = (id: string, ackedAt: number) =>
      (async () => {
        for (;;) {
          const res = await fetch(`${base}/v1/actions/${id}`);
          await res.arrayBuffer();
          if (res.status >= 500) errors5xx++;
          if (res.headers.get("chaoscore-read") === "replica") {
            visible.push(performance.now() - ackedAt);
            return;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })();

    let acked = 0;
    const started = performance.now();
    await Promise.all(
      bodies.map(async (list) => {
        for (const body of list) {
          const res = await fetch(`${base}/v1/actions`, {
            method: "POST",
            headers: { ...admin, "content-type": "application/json" },
            body,
          });
          const answer = (await res.json()) as { id?: string };
          if (res.status >= 500) errors5xx++;
          if (res.status !== 201 || answer.id === undefined) {
            throw new Error(`POST /v1/actions: ${res.status} ${JSON.stringify(answer)}`);
          }
          acked++;
          if (acked % 25 === 0) probes.push(probe(answer.id, performance.now()));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(probes);
    running = false;
    await sampler;

    console.log(
      `ingest: ${acked} actions in ${seconds.toFixed(1)} s (${(acked / seconds).toFixed(0)}/s) by ${writers} writers through one serve; load after ${loadavg()[0]?.toFixed(2)}`,
    );
    console.log(
      `time until the replica serves an acknowledged action (${visible.length} probes): p50 ${quantile(visible, 0.5).toFixed(1)} ms, p99 ${quantile(visible, 0.99).toFixed(1)} ms, max ${Math.max(...visible).toFixed(1)} ms`,
    );
    console.log(
      `chaoscore_replica_lag_seconds (${lagSeconds.length} scrapes): p50 ${quantile(lagSeconds, 0.5).toFixed(3)}, p99 ${quantile(lagSeconds, 0.99).toFixed(3)}, max ${Math.max(...lagSeconds).toFixed(3)}`,
    );
    console.log(
      `chaoscore_replica_lag_bytes: p50 ${quantile(lagBytes, 0.5)}, p99 ${quantile(lagBytes, 0.99)}, max ${Math.max(...lagBytes)}`,
    );
    const a = goal("replica_visible_p99_ms", quantile(visible, 0.99), 1000, false);
    const b = goal("replica_reads_5xx", errors5xx, 0, false);
    return a && b;
  } finally {
    await gateway.stop();
    await pair.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
