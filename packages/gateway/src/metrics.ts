/**
 * Prometheus metrics (prom-client): request latency, ingest and rejection
 * counters, the log's size and the anchor lag.
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The gateway's metrics, on their own registry (one per gateway instance). */
export type GatewayMetrics = {
  registry: Registry;
  requestDuration: Histogram<"method" | "route" | "status_code">;
  ingested: Counter<"kind">;
  rejected: Counter<"code">;
};

/**
 * Creates the metrics; `sample` is called at each scrape for the gauges that
 * read the database (log size, anchor lag).
 */
export function createMetrics(
  sample: () => Promise<{
    logSize: number;
    anchoredSize: number | null;
    anchorAgeSeconds: number | null;
  }>,
): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: "chaoscore_http_request_duration_seconds",
    help: "HTTP request latency by method, route and status code",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const ingested = new Counter({
    name: "chaoscore_actions_ingested_total",
    help: "Actions and outcomes appended to the log (duplicates excluded)",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: "chaoscore_requests_rejected_total",
    help: "Requests answered with an error, by error code",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  let last: Awaited<ReturnType<typeof sample>> | undefined;
  let lastAt = 0;
  const read = async () => {
    // One database read serves the three gauges of a scrape.
    if (last === undefined || Date.now() - lastAt > 500) {
      last = await sample();
      lastAt = Date.now();
    }
    return last;
  };
  new Gauge({
    name: "chaoscore_log_size",
    help: "Leaves in the transparency log",
    registers: [registry],
    async collect() {
      this.set((await read()).logSize);
    },
  });
  new Gauge({
    name: "chaoscore_anchor_lag_entries",
    help: "Log leaves not yet covered by a final on-chain anchor",
    registers: [registry],
    async collect() {
      const s = await read();
      this.set(s.logSize - (s.anchoredSize ?? 0));
    },
  });
  new Gauge({
    name: "chaoscore_anchor_lag_seconds",
    help: "Seconds since the last final anchor (-1 before the first)",
    registers: [registry],
    async collect() {
      this.set((await read()).anchorAgeSeconds ?? -1);
    },
  });
  return { registry, requestDuration, ingested, rejected };
}

/**
 * `chaoscore_leader`: 1 while this gateway leads the gateways on its database (it anchors
 * and cosigns; docs/scaling.md), else 0.
 */
export function registerLeaderMetric(registry: Registry, leading: () => boolean): void {
  new Gauge({
    name: "chaoscore_leader",
    help: "1 while this gateway is the leader (anchors, submits to witnesses) of those sharing its database",
    registers: [registry],
    collect() {
      this.set(leading() ? 1 : 0);
    },
  });
}

/**
 * `chaoscore_anchoring_halted`: 1 while scheduled anchoring is stopped because the log no
 * longer extends the chain's history (see docs/anchoring.md), else 0.
 */
export function registerAnchoringHaltMetric(registry: Registry, halted: () => boolean): void {
  new Gauge({
    name: "chaoscore_anchoring_halted",
    help: "1 while anchoring is halted: the stored log does not extend the checkpoints on chain",
    registers: [registry],
    collect() {
      this.set(halted() ? 1 : 0);
    },
  });
}
