/**
 * `chaoscore log monitor`: follows a log from outside (docs/monitor.md).
 * @module
 */
import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { dirname, join, resolve } from "node:path";
import {
  type FamilyPassResult,
  FINDING_KINDS,
  type Finding,
  type MonitorPassResult,
  monitorFamilyWithStateFile,
  monitorLogWithStateFile,
  watchLog,
} from "@chaoscore/monitor";
import { Counter, Gauge, Registry } from "prom-client";
import { info, out, printJson, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { onStopSignal } from "../stop-signals.js";
import { readPolicyFile } from "./receipt.js";

type MonitorOpts = {
  gateway: string;
  policy: string;
  state?: string;
  rpc?: string;
  family?: boolean;
  watch?: boolean;
  interval?: number;
  metricsPort?: number;
  webhook?: string;
  json?: boolean;
};

function summary(r: MonitorPassResult): string {
  if (r.checkpoint === null) return "no verified checkpoint";
  const w =
    r.witnesses === null || r.witnesses.required === 0
      ? ""
      : `, ${r.witnesses.verified} of ${r.witnesses.required} witnesses`;
  const a = r.anchorsChecked > 0 ? `, ${r.anchorsChecked} anchors checked` : "";
  return `size ${r.checkpoint.size} (${r.newEntries} new entries), root ${r.checkpoint.rootHash}${w}${a}`;
}

function printFinding(f: Finding): void {
  info(`✗ ${f.kind}: ${f.message}`);
}

/** `chaoscore log monitor --gateway URL --policy FILE [--state F] [--rpc URL] [--watch …]`. */
export async function runLogMonitor({ dataDir }: Globals, opts: MonitorOpts): Promise<void> {
  const policy = await readPolicyFile(opts.policy);
  try {
    new URL(opts.gateway);
  } catch {
    throw new UsageError(`--gateway ${opts.gateway} is not a URL`);
  }
  if (opts.webhook !== undefined) {
    try {
      new URL(opts.webhook);
    } catch {
      throw new UsageError(`--webhook ${opts.webhook} is not a URL`);
    }
  }
  if (opts.watch !== true && (opts.metricsPort !== undefined || opts.webhook !== undefined)) {
    throw new UsageError("--metrics-port and --webhook go with --watch");
  }
  if (opts.rpc !== undefined && policy.anchors.length === 0) {
    throw new UsageError("--rpc needs a policy that names its anchor contracts (anchors)");
  }
  if (opts.family === true && opts.watch === true) {
    throw new UsageError("--family runs one pass: run it from a timer, without --watch");
  }
  const statePath = resolve(
    opts.state ??
      join(dataDir, opts.family === true ? "monitor-family-state.json" : "monitor-state.json"),
  );
  await mkdir(dirname(statePath), { recursive: true });
  const base = {
    gateway: opts.gateway,
    policy,
    statePath,
    ...(opts.rpc === undefined ? {} : { rpcUrl: opts.rpc }),
  };
  if (opts.family === true) {
    printFamily(await monitorFamilyWithStateFile(base), opts, statePath);
    return;
  }
  if (opts.watch !== true) {
    const result = await monitorLogWithStateFile(base);
    if (opts.json === true) {
      printJson({
        clean: result.findings.length === 0,
        checkpoint: result.checkpoint,
        previousSize: result.previousSize,
        newEntries: result.newEntries,
        witnesses: result.witnesses,
        anchorsChecked: result.anchorsChecked,
        findings: result.findings,
        state: statePath,
      });
    } else if (result.findings.length === 0) {
      out(`✓ log clean: ${summary(result)}`);
      info(`state ${statePath}`);
    } else {
      out(`✗ ${result.findings.length} finding(s) at ${opts.gateway}`);
      for (const f of result.findings) out(`  ${f.kind}: ${f.message}`);
    }
    if (result.findings.length > 0) process.exitCode = 1;
    return;
  }
  await watch(base, opts);
}

/** Prints a family pass: one line per shard, then the findings; exit code 1 with findings. */
function printFamily(result: FamilyPassResult, opts: MonitorOpts, statePath: string): void {
  const clean = result.findings.length === 0;
  if (opts.json === true) {
    printJson({
      clean,
      shards: result.shards.map((s) => ({
        id: s.id,
        shard: s.shard,
        origin: s.origin,
        state: s.state,
        checkpoint: s.result?.checkpoint ?? null,
        newEntries: s.result?.newEntries ?? 0,
        linkChecked: result.state.shards[s.id]?.linkChecked ?? false,
      })),
      findings: result.findings,
      state: statePath,
    });
  } else {
    out(
      clean
        ? `✓ log family clean: ${result.shards.length} shard(s)`
        : `✗ ${result.findings.length} finding(s) at ${opts.gateway}`,
    );
    for (const s of result.shards) {
      out(
        `  ${s.id} (shard ${s.shard}, ${s.state}): ${s.result === null ? "not verified" : summary(s.result)}`,
      );
    }
    for (const f of result.findings) out(`  ${f.kind}: ${f.message}`);
    if (clean) info(`state ${statePath}`);
  }
  if (!clean) process.exitCode = 1;
}

async function watch(
  base: Parameters<typeof monitorLogWithStateFile>[0],
  opts: MonitorOpts,
): Promise<void> {
  const registry = new Registry();
  const findingsTotal = new Counter({
    name: "chaoscore_monitor_findings_total",
    help: "Findings of the monitor, by kind (each distinct finding counted once)",
    labelNames: ["kind"],
    registers: [registry],
  });
  for (const kind of FINDING_KINDS) findingsTotal.inc({ kind }, 0);
  const passes = new Counter({
    name: "chaoscore_monitor_passes_total",
    help: "Monitoring passes run, by result",
    labelNames: ["result"],
    registers: [registry],
  });
  const treeSize = new Gauge({
    name: "chaoscore_monitor_tree_size",
    help: "Size of the last checkpoint the monitor verified",
    registers: [registry],
  });
  const witnesses = new Gauge({
    name: "chaoscore_monitor_witnesses_verified",
    help: "Distinct policy witnesses that cosigned the last checkpoint served",
    registers: [registry],
  });
  const lastPass = new Gauge({
    name: "chaoscore_monitor_last_pass_timestamp_seconds",
    help: "When the last pass ended (unix seconds)",
    registers: [registry],
  });
  let server: Server | undefined;
  if (opts.metricsPort !== undefined) {
    server = createServer(async (req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(await registry.metrics());
    });
    await new Promise<void>((ok, fail) => {
      server?.once("error", fail);
      server?.listen(opts.metricsPort, "127.0.0.1", ok);
    });
    info(`metrics on http://127.0.0.1:${opts.metricsPort}/metrics`);
  }
  const stop = new AbortController();
  const offSignal = onStopSignal(() => stop.abort());
  const seen = new Set<string>();
  info(`monitoring ${opts.gateway} every ${opts.interval ?? 10} s (state ${base.statePath})`);
  try {
    await watchLog({
      ...base,
      intervalMs: (opts.interval ?? 10) * 1000,
      signal: stop.signal,
      onPass: async (result) => {
        passes.inc({ result: result.findings.length === 0 ? "clean" : "findings" });
        if (result.state !== null) treeSize.set(result.state.checkpoint.size);
        if (result.witnesses !== null) witnesses.set(result.witnesses.verified);
        lastPass.set(Date.now() / 1000);
        const fresh = result.findings.filter((f) => {
          const key = `${f.kind}|${f.size ?? ""}|${f.index ?? ""}|${f.message}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        for (const f of fresh) {
          findingsTotal.inc({ kind: f.kind });
          if (opts.json === true) printJson({ finding: f, gateway: opts.gateway });
          else printFinding(f);
          if (opts.webhook !== undefined) await postFinding(opts.webhook, opts.gateway, f);
        }
        if (result.findings.length === 0 && result.newEntries > 0 && opts.json !== true) {
          info(`✓ ${summary(result)}`);
        }
      },
    });
  } finally {
    offSignal();
    await new Promise<void>((ok) => (server === undefined ? ok() : server.close(() => ok())));
  }
}

/** POSTs a finding as JSON; a webhook that fails is reported, never fatal. */
async function postFinding(url: string, gateway: string, finding: Finding): Promise<void> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        format: "chaoscore.monitor-finding/v1",
        gateway,
        at: new Date().toISOString(),
        finding,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    if (!response.ok) info(`! webhook ${url} answered HTTP ${response.status}`);
  } catch (error) {
    info(`! webhook ${url} failed: ${(error as Error).message}`);
  }
}
