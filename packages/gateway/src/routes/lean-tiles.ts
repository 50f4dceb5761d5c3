/**
 * A lean path for cached immutable tiles (issue 14): full Merkle tiles and
 * full entry bundles that the tile route (tiles.ts) already holds in memory
 * are answered before Fastify routes the request — no router, no hooks, one
 * `writeHead` with a header list built once — and anything else falls
 * through to Fastify untouched: a miss, a partial tile, a malformed path,
 * HEAD, a conditional request (If-None-Match), a request with a query, an
 * Origin, credentials (Authorization or an agent signature) or
 * `ChaosCore-Min-Size`, and every request once the gateway is closing. A
 * gateway with a read replica (its answers name the side read), a limit per
 * address or per gateway, or a proxy it trusts (the client's address comes
 * from `X-Forwarded-For`) does not install it. The per-caller rate limit
 * (`@fastify/rate-limit`, on by default) is taken in the plugin's own store,
 * under the key the route would use (an anonymous caller's address), and its
 * `X-RateLimit-*` headers are sent; a caller over the limit falls through to
 * the route, which refuses it.
 *
 * What the answer keeps: the status, the bytes and the strong ETag of the
 * tile route, and every other header as the tile route sent it — the header
 * list is copied from the route's own first 200 answer to an eligible request
 * (security headers, content type, cache policy; without the per-request ones:
 * date, length, ETag, connection), so the lean path answers nothing before
 * the normal route has; the request counted in
 * `chaoscore_http_request_duration_seconds` under the route's label (and in
 * `chaoscore_tile_lean_answers_total`); and,
 * when the gateway logs requests, the same two lines Fastify writes.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Counter } from "prom-client";
import { hasAgentSignature } from "../auth.js";
import type { GatewayApp, GatewayContext } from "../gateway-options.js";
import type { CachedBody, ImmutableCache } from "./immutable-cache.js";

/** The caches of full tiles and entry bundles that the lean path reads. */
export type TileCaches = {
  readonly merkleTiles: ImmutableCache;
  readonly entryBundles: ImmutableCache;
};

/** The two tile routes, as Fastify names them (the metrics' `route` label). */
const ACTIVE_ROUTE = "/log/tile/*";
const SHARD_ROUTE = "/v1/logs/:id/tile/*";

/** A full tile or bundle: `<L>/<N>` or `entries/<N>`, N in x-prefixed groups of three digits. */
const FULL_TILE = "((?:[0-7]|entries)/(?:x[0-9]{3}/){0,4}[0-9]{3})";
const ACTIVE_PATH = new RegExp(`^/log/tile/${FULL_TILE}$`);
const SHARD_PATH = new RegExp(`^/v1/logs/([A-Za-z0-9][A-Za-z0-9._-]{0,127})/tile/${FULL_TILE}$`);

/** Headers of a request that change its answer or need a hook: such a request falls through. */
const FALL_THROUGH_HEADERS = [
  "authorization",
  "chaoscore-min-size",
  "if-none-match",
  "if-modified-since",
  "origin",
] as const;

/** Headers of an answer that are per request: not copied into the lean path's header list. */
const PER_REQUEST = new Set([
  "date",
  "etag",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "chaoscore-read",
  "retry-after",
  "x-request-id",
]);

/**
 * Whether a request may take the lean path at all: a plain GET of a full tile
 * with no header or query that the normal route would act on.
 */
function isLeanCandidate(req: IncomingMessage): boolean {
  if (req.method !== "GET") return false;
  const headers = req.headers;
  for (const h of FALL_THROUGH_HEADERS) if (headers[h] !== undefined) return false;
  return !hasAgentSignature(headers);
}

/**
 * Installs the lean path on `app`'s HTTP server for the tile caches `caches`
 * (when the gateway's options allow it: no read replica, no rate limits) and
 * returns the route options that let the tile routes teach it their headers
 * (an `onSend` hook; empty when the lean path is off).
 */
export function serveCachedTilesFirst(
  app: GatewayApp,
  ctx: GatewayContext,
  caches: TileCaches,
): {
  onSend?: (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ) => void;
} {
  // As rate-limits.ts reads them: a limit of 0 (or none) is no limit.
  const otherLimits = Boolean(ctx.ipRateLimit || ctx.globalRateLimit);
  const proxied = ctx.trustProxy !== undefined && ctx.trustProxy !== false;
  if (ctx.reads !== undefined || otherLimits || proxied) return {};
  // The per-caller limit of rate-limits.ts, in the plugin's own store (undefined: no limit).
  const limit = ctx.rateLimit === false ? undefined : app.createRateLimit();
  /** The header list of the route's 200 answer to an eligible request, once it has sent one. */
  let template: string[] | undefined;
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // Each route's series, made on its first answer (as Fastify's onResponse hook would).
  const observers: Partial<Record<"active" | "shard", { observe(seconds: number): void }>> = {};
  const observer = (route: "active" | "shard") =>
    (observers[route] ??= ctx.metrics.requestDuration.labels(
      "GET",
      route === "active" ? ACTIVE_ROUTE : SHARD_ROUTE,
      "200",
    ));
  const log = app.log;
  const leanAnswers = new Counter({
    name: "chaoscore_tile_lean_answers_total",
    help: "Cached full tiles and entry bundles answered before routing (also counted in chaoscore_http_request_duration_seconds)",
    registers: [ctx.metrics.registry],
  });

  const hit = (rest: string, logId: string) =>
    (rest.startsWith("entries/") ? caches.entryBundles : caches.merkleTiles).get(
      `${logId}\n${rest}`,
    );

  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    headers: readonly string[],
    cached: { body: Buffer; etag: string },
    route: "active" | "shard",
    limits: readonly string[] = [],
  ): void => {
    const logging = LOGGED_LEVELS.has(log.level);
    const reqId = logging ? `req-${crypto.randomUUID()}` : "";
    if (logging) log.info({ reqId, req: requestSummary(req) }, "incoming request");
    res.writeHead(200, [
      ...headers,
      ...limits,
      "etag",
      cached.etag,
      "content-length",
      String(cached.body.length),
    ]);
    res.end(cached.body);
    const seconds = (performance.now() - started) / 1000;
    observer(route).observe(seconds);
    leanAnswers.inc();
    if (logging) {
      log.info(
        { reqId, res: { statusCode: 200 }, responseTime: seconds * 1000 },
        "request completed",
      );
    }
  };

  const server = app.server;
  const [fastifyHandler] = server.listeners("request") as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  if (fastifyHandler === undefined) return {};
  server.removeListener("request", fastifyHandler);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const headers = template;
    if (headers === undefined || closing || !isLeanCandidate(req)) return fastifyHandler(req, res);
    const started = performance.now();
    const url = req.url ?? "";
    const shard = SHARD_PATH.exec(url);
    const serve = (cached: CachedBody | undefined, route: "active" | "shard") => {
      if (cached === undefined) return fastifyHandler(req, res);
      if (limit === undefined) return answer(req, res, started, headers, cached, route);
      // As the route's preHandler would: one count for this caller, in the same store.
      const caller = {
        principal: { kind: "anonymous" },
        ip: req.socket.remoteAddress ?? "",
        routeOptions: { config: {} },
      } as unknown as FastifyRequest;
      limit(caller).then(
        (taken) => {
          // Over the limit (or not counted): the route answers, and refuses.
          if (taken.isAllowed || taken.isExceeded || closing) return fastifyHandler(req, res);
          answer(req, res, started, headers, cached, route, [
            "x-ratelimit-limit",
            String(taken.max),
            "x-ratelimit-remaining",
            String(taken.remaining),
            "x-ratelimit-reset",
            String(taken.ttlInSeconds),
          ]);
        },
        () => fastifyHandler(req, res),
      );
    };
    if (shard !== null) return serve(hit(shard[2] as string, shard[1] as string), "shard");
    const active = ACTIVE_PATH.exec(url);
    if (active === null) return fastifyHandler(req, res);
    // The active shard as the tile route reads it (a read of the last second is reused).
    ctx.engine.logs.active().then(
      (logNow) => serve(closing ? undefined : hit(active[1] as string, logNow.id), "active"),
      () => fastifyHandler(req, res),
    );
  });

  return {
    onSend: (request, reply, payload, done) => {
      if (
        template === undefined &&
        reply.statusCode === 200 &&
        reply.getHeader("cache-control") === IMMUTABLE &&
        isLeanCandidate(request.raw) &&
        !(request.raw.url ?? "").includes("?")
      ) {
        const list: string[] = [];
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (value === undefined || PER_REQUEST.has(name) || name.startsWith("x-ratelimit-")) {
            continue;
          }
          for (const v of Array.isArray(value) ? value : [value]) list.push(name, String(v));
        }
        template = list;
      }
      done(null, payload);
    },
  };
}

/** Logger levels at which Fastify logs each request (at info). */
const LOGGED_LEVELS = new Set(["trace", "debug", "info"]);

/** The cache policy of a full tile or entry bundle (tiles.ts). */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** What Fastify's request serializer logs of a request. */
function requestSummary(req: IncomingMessage) {
  return {
    method: req.method,
    url: req.url,
    host: req.headers.host,
    remoteAddress: req.socket.remoteAddress,
    remotePort: req.socket.remotePort,
  };
}
