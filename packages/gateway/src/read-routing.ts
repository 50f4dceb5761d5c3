/**
 * Reads off the primary (issue 18 item 4; docs/scaling.md "Read replicas").
 * With a replica configured (`reads` in the gateway's options), the read
 * routes answer from it; a route picks its side with {@link readsFor} or
 * wraps its handler in {@link fromReplica}. The primary answers instead when:
 * - the client needs fresh data: `ChaosCore-Min-Size: <n>` (or `?minSize=<n>`)
 *   and the replica's tree (of the log read) is smaller than n;
 * - a read by id or size misses on the replica (an action just written, a
 *   proof or tile of a tree the replica has not replayed yet): the route runs
 *   again on the primary;
 * - the replica does not answer (ReadReplicaDb falls back statement by statement).
 * With a replica configured, the answer says which side served it:
 * `ChaosCore-Read: replica|primary`, or `mixed` when the replica answered
 * some of its statements and the primary the rest (a fall-back mid-request).
 * @module
 */
import type { StoredAnchorDirectory } from "@chaoscore/anchoring";
import { isChaosCoreError } from "@chaoscore/core";
import type { ReadEngine } from "@chaoscore/engine";
import {
  type AgentRegistry,
  logReadingFrom,
  type ProofOfAgency,
  type ReadSides,
  replicaLag,
  type TransparencyLog,
  traceReadSides,
  verifyReplicaOf,
} from "@chaoscore/log";
import { ReputationComputer } from "@chaoscore/reputation";
import { createStudios, type Studios } from "@chaoscore/studios";
import type { FastifyRequest } from "fastify";
import { Counter, Gauge, type Registry } from "prom-client";
import type { GatewayApp, GatewayContext } from "./gateway-options.js";
import { fail } from "./problem.js";

/** Where a read runs: the components over the replica, or the primary's own. */
export type ReadSide = {
  /** True when this side reads from the replica. */
  readonly replica: boolean;
  readonly log: TransparencyLog;
  readonly agency: ProofOfAgency;
  readonly registry: AgentRegistry;
  readonly anchors: StoredAnchorDirectory | undefined;
  /** The studios' reads (when the gateway runs studios); never used to write. */
  readonly studios: Studios | undefined;
  /** Reputation's reads (when the gateway computes reputation); never used to write. */
  readonly reputation: ReputationComputer | undefined;
  /** Another log (a shard) read on this side. */
  on(log: TransparencyLog): TransparencyLog;
};

/** The header (and query parameter `minSize`) by which a client asks for a tree at least this large. */
export const MIN_SIZE_HEADER = "chaoscore-min-size";
/** The answer's header naming the side that served it. */
export const READ_FROM_HEADER = "chaoscore-read";

/**
 * Codes by which the replica says "not (yet) here": the read runs again on
 * the primary, which may have it already.
 */
const MISSES = new Set<string>([
  "AGENCY_ACTION_NOT_FOUND",
  "AGENT_NOT_FOUND",
  "REGISTRY_AGENT_NOT_FOUND",
  "STUDIO_NOT_FOUND",
  "STUDIO_TASK_NOT_FOUND",
  "STUDIO_PROPOSAL_NOT_FOUND",
  "REPUTATION_AGENT_NOT_FOUND",
  "REPUTATION_EPOCH_NOT_FOUND",
  "MERKLE_INDEX_OUT_OF_RANGE",
  "LOG_NOT_YET_CHECKPOINTED",
  "LOG_NOT_FOUND",
  "LOG_TILE_NOT_FOUND",
]);

const minSizes = new WeakMap<FastifyRequest, number>();
const replicaSides = new WeakMap<ReadEngine, ReadSide>();
const primarySides = new WeakMap<GatewayContext["engine"], ReadSide>();
/** The largest size seen on the replica per log: a replica's tree only grows. */
const seenSizes = new WeakMap<ReadEngine, Map<string, number>>();
const fallbackCounters = new WeakMap<ReadEngine, Counter<"reason">>();
/**
 * Whether the replica was found to be a replica of the primary
 * (`verifyReplicaOf`): kept while it holds, until the replica stops or starts
 * answering; a failed check is retried after {@link RECHECK_MS}.
 */
const replicaChecks = new WeakMap<ReadEngine, { at: number; verified: Promise<boolean> }>();
const RECHECK_MS = 5000;

/** True when reads may go to the replica: it is a streaming replica of the primary. */
function isVerifiedReplica(reads: ReadEngine, log: FastifyRequest["log"]): Promise<boolean> {
  const last = replicaChecks.get(reads);
  if (last !== undefined && Date.now() - last.at < RECHECK_MS) return last.verified;
  const verified = (async () => {
    if (last !== undefined && (await last.verified)) return true;
    try {
      await verifyReplicaOf(reads.db.primary, reads.db.replica);
      return true;
    } catch (error) {
      // One line when a database that is no replica is found, not one per check.
      if (isChaosCoreError(error) && error.code === "STORE_NOT_A_REPLICA" && last === undefined) {
        log.warn(
          { err: error.message, code: error.code, details: error.details },
          "the read database is not a replica of the primary: reads go to the primary",
        );
      }
      return false;
    }
  })();
  replicaChecks.set(reads, { at: Date.now(), verified });
  return verified;
}

function replicaSide(ctx: GatewayContext, reads: ReadEngine): ReadSide {
  let side = replicaSides.get(reads);
  if (side === undefined) {
    side = {
      replica: true,
      log: reads.log,
      agency: reads.agency,
      registry: reads.registry,
      anchors: reads.anchors,
      // The same components over the replica, for their reads (no reputation or reward ports:
      // those are for writes).
      studios: ctx.studios === undefined ? undefined : createStudios(reads),
      reputation:
        ctx.reputation === undefined ? undefined : new ReputationComputer({ db: reads.db }),
      on: (log) => logReadingFrom(log, reads.db),
    };
    replicaSides.set(reads, side);
  }
  return side;
}

/** The primary's own components (the side every read takes without a replica). */
export function primaryReads(ctx: GatewayContext): ReadSide {
  let side = primarySides.get(ctx.engine);
  if (side === undefined) {
    side = {
      replica: false,
      log: ctx.engine.log,
      agency: ctx.engine.agency,
      registry: ctx.engine.registry,
      anchors: ctx.anchors,
      studios: ctx.studios,
      reputation: ctx.reputation,
      on: (log) => log,
    };
    primarySides.set(ctx.engine, side);
  }
  return side;
}

function minSizeOf(request: FastifyRequest): number | undefined {
  return minSizes.get(request);
}

function parseMinSize(text: string): number {
  const n = /^[0-9]{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    fail("GATEWAY_REQUEST_INVALID", "ChaosCore-Min-Size (minSize) is a tree size: 0 or more", {
      minSize: text,
    });
  }
  return n;
}

/** The log a read names (`?log=`, `/v1/logs/{id}/…`), else the active shard (on the primary). */
async function logIdOf(ctx: GatewayContext, request: FastifyRequest): Promise<string> {
  const named = (request.query as { log?: unknown } | undefined)?.log;
  if (typeof named === "string") return named;
  const param = (request.params as { id?: unknown } | undefined)?.id;
  if (typeof param === "string" && request.routeOptions.url?.startsWith("/v1/logs/")) return param;
  return (await ctx.engine.logs.active()).id;
}

/**
 * The side `request` reads from: the replica when one is configured, unless
 * the request names a minimum tree size (`ChaosCore-Min-Size`, `?minSize=`)
 * the replica's copy of `logId` has not reached. `logId` defaults to the log
 * the request names (`?log=`, or `/v1/logs/{id}/…`), else the family's
 * active shard as the primary knows it (the replica may not know it yet: then
 * the read goes to the primary).
 * @throws ChaosCoreError GATEWAY_REQUEST_INVALID on a malformed minimum size.
 */
export async function readsFor(
  ctx: GatewayContext,
  request: FastifyRequest,
  logId?: string,
): Promise<ReadSide> {
  const reads = ctx.reads;
  const minSize = minSizeOf(request);
  if (reads === undefined) return primaryReads(ctx);
  if (!reads.db.available || !(await isVerifiedReplica(reads, request.log))) {
    fallbackCounters.get(reads)?.inc({ reason: "unavailable" });
    return primaryReads(ctx);
  }
  if (minSize !== undefined && minSize > 0) {
    const id = logId ?? (await logIdOf(ctx, request));
    let seen = seenSizes.get(reads);
    if (seen === undefined) {
      seen = new Map();
      seenSizes.set(reads, seen);
    }
    if ((seen.get(id) ?? 0) < minSize) {
      // Asked of the replica alone: a fall-back to the primary would say nothing of it.
      const size = await reads.db.replica
        .query<{ size: number }>("SELECT size FROM logs WHERE id = $1", [id])
        .then(
          ([row]) => Number(row?.size ?? 0),
          () => 0,
        );
      // Only logs the replica holds are remembered: an id that names no log
      // (any string a client sends) must not grow this map.
      if (size > 0) seen.set(id, Math.max(seen.get(id) ?? 0, size));
      if (size < minSize) {
        fallbackCounters.get(reads)?.inc({ reason: "min_size" });
        return primaryReads(ctx);
      }
    }
  }
  return replicaSide(ctx, reads);
}

/**
 * Runs a read route's work (`read`) on the side {@link readsFor} picks and,
 * when it read the replica and the replica did not have what was asked (an
 * id or a tree size not replayed yet), once more on the primary. Sets
 * `ChaosCore-Read` on the answer when a replica is configured: `replica`,
 * `primary`, or `mixed` when statements of a replica read fell back.
 */
export async function fromReplica<T>(
  ctx: GatewayContext,
  request: FastifyRequest,
  reply: { header(name: string, value: string): unknown },
  read: (side: ReadSide) => Promise<T>,
): Promise<T> {
  const side = await readsFor(ctx, request);
  if (ctx.reads === undefined) return read(side);
  reply.header(READ_FROM_HEADER, side.replica ? "replica" : "primary");
  if (!side.replica) return read(side);
  // The replica's handle falls back statement by statement: count who answered.
  const sides: ReadSides = { replica: 0, primary: 0 };
  try {
    return await traceReadSides(sides, () => read(side));
  } catch (error) {
    if (!isChaosCoreError(error) || !MISSES.has(error.code) || ctx.reads === undefined) {
      throw error;
    }
    fallbackCounters.get(ctx.reads)?.inc({ reason: "miss" });
    sides.replica = 0;
    sides.primary = 1;
    return read(primaryReads(ctx));
  } finally {
    if (sides.primary > 0) reply.header(READ_FROM_HEADER, sides.replica > 0 ? "mixed" : "primary");
  }
}

/**
 * Installs the replica's plumbing on the gateway: `?minSize=` taken off the
 * query of GET requests (so that every read route accepts it) and, with the
 * header `ChaosCore-Min-Size`, checked on every read (400 when it is not a
 * tree size, an empty header included), one log line
 * when the replica stops or starts answering, and the metrics
 * `chaoscore_replica_up`, `chaoscore_replica_lag_seconds`,
 * `chaoscore_replica_lag_bytes` and `chaoscore_replica_fallbacks_total`.
 */
export function routeReads(app: GatewayApp, ctx: GatewayContext): void {
  app.addHook("preValidation", async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return;
    // Both are checked on every read, as the OpenAPI document declares them;
    // the query parameter wins when both are sent.
    const header = request.headers[MIN_SIZE_HEADER];
    const fromHeader = header === undefined ? undefined : parseMinSize(String(header));
    const query = request.query as Record<string, unknown> | undefined;
    let fromQuery: number | undefined;
    if (query !== undefined && query !== null && "minSize" in query) {
      fromQuery = parseMinSize(String(query.minSize));
      delete query.minSize;
    }
    const minSize = fromQuery ?? fromHeader;
    if (minSize !== undefined) minSizes.set(request, minSize);
  });
  const reads = ctx.reads;
  if (reads === undefined) return;
  const unsubscribe = reads.db.onStatus((up, error) => {
    // a replica that went away or came back may be another server now: check it again
    replicaChecks.delete(reads);
    if (up) app.log.info("read replica answers again: reads go to it");
    else
      app.log.warn(
        { err: error instanceof Error ? error.message : String(error) },
        "read replica does not answer: reads go to the primary",
      );
  });
  app.addHook("onClose", async () => {
    unsubscribe();
  });
  registerReplicaMetrics(ctx.metrics.registry, reads);
}

function registerReplicaMetrics(registry: Registry, reads: ReadEngine): void {
  const fallbacks = new Counter({
    name: "chaoscore_replica_fallbacks_total",
    help: "Read requests the primary answered instead of the replica: min_size (the client asked for a larger tree than the replica has), miss (not replayed yet), unavailable (the replica did not answer lately)",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  fallbackCounters.set(reads, fallbacks);
  let last: { lag: { seconds: number; bytes: number } | undefined; at: number } | undefined;
  // A sample taken before the replica went down (or came back) is no longer true.
  reads.db.onStatus(() => {
    last = undefined;
  });
  const sample = async () => {
    if (last === undefined || Date.now() - last.at > 500) {
      const lag = await replicaLag(reads.db.primary, reads.db.replica).catch(() => undefined);
      last = { lag, at: Date.now() };
    }
    return last.lag;
  };
  new Gauge({
    name: "chaoscore_replica_up",
    help: "1 while the read replica answers, 0 while reads go to the primary",
    registers: [registry],
    async collect() {
      const lag = await sample();
      this.set(lag !== undefined && reads.db.up ? 1 : 0);
    },
  });
  new Gauge({
    name: "chaoscore_replica_lag_seconds",
    help: "Seconds since the replica's last replayed commit while it is behind the primary, 0 when caught up, -1 when it does not answer",
    registers: [registry],
    async collect() {
      this.set((await sample())?.seconds ?? -1);
    },
  });
  new Gauge({
    name: "chaoscore_replica_lag_bytes",
    help: "Bytes of WAL the primary wrote that the replica has not replayed, -1 when it does not answer",
    registers: [registry],
    async collect() {
      this.set((await sample())?.bytes ?? -1);
    },
  });
}

/**
 * `/readyz`'s `checks.replica` (informational: a replica that is down never
 * makes the gateway unready, reads go to the primary); undefined without one.
 */
export async function replicaCheck(ctx: GatewayContext): Promise<string | undefined> {
  const reads = ctx.reads;
  if (reads === undefined) return undefined;
  try {
    const lag = await replicaLag(reads.db.primary, reads.db.replica);
    return `ok (lag ${lag.seconds.toFixed(3)} s, ${lag.bytes} bytes)`;
  } catch (error) {
    return `unavailable, reads go to the primary: ${error instanceof Error ? error.message : String(error)}`;
  }
}
