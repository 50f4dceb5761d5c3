/**
 * The gateway: one Fastify app over the engine. This file composes it, in
 * order: the route catalog, JSON bodies, problem+json errors, security
 * headers and CORS, authentication, rate limits, idempotency, graceful
 * shutdown, metrics, OpenAPI and the docs UI, then the routes (`routes/`).
 * Each concern lives in the file named for it. No business rules.
 * @module
 */
import cors from "@fastify/cors";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify from "fastify";
import { ApiKeyStore, RequestVerifier } from "./auth.js";
import {
  answerClientError,
  answerErrorsAsProblems,
  codedError,
  problemSender,
} from "./error-responses.js";
import type { GatewayApp, GatewayContext, GatewayOptions } from "./gateway-options.js";
import { IdempotencyStore } from "./idempotency.js";
import { honourIdempotencyKeys } from "./idempotency-hooks.js";
import { acceptJsonBodies } from "./json-body.js";
import { createMetrics } from "./metrics.js";
import { serveOpenApiDocs } from "./openapi-docs.js";
import { limitRequestRates } from "./rate-limits.js";
import { routeReads } from "./read-routing.js";
import { authenticateRequests } from "./request-authentication.js";
import { catalogRoutes } from "./route-catalog.js";
import { actionRoutes } from "./routes/actions.js";
import { agentRoutes } from "./routes/agents.js";
import { anchorNowRoutes } from "./routes/anchor-now.js";
import { cardRoutes } from "./routes/cards.js";
import { executionRoutes } from "./routes/execution.js";
import { explorerRoutes } from "./routes/explorer.js";
import { keyRoutes } from "./routes/keys.js";
import { logRoutes } from "./routes/log.js";
import { logsRoutes } from "./routes/logs.js";
import { opsRoutes } from "./routes/ops.js";
import { reputationRoutes } from "./routes/reputation.js";
import { studioRoutes } from "./routes/studios.js";
import { tileRoutes } from "./routes/tiles.js";
import { sendSecurityHeaders } from "./security-headers.js";

export type { GatewayApp, GatewayContext, GatewayOptions } from "./gateway-options.js";

const REDACT = [
  "req.headers.authorization",
  "req.headers['chaoscore-signature']",
  "req.headers.cookie",
];

/**
 * Builds the gateway (not listening: call `listen`, or `inject` in tests).
 * @example
 * ```ts
 * const app = await buildGateway({ engine, chainId: 31337n });
 * await app.listen({ port: 8787 });
 * ```
 */
export async function buildGateway(options: GatewayOptions): Promise<GatewayApp> {
  const { engine } = options;
  const bodyLimit = options.bodyLimit ?? 2 * 1024 * 1024;
  const metrics = createMetrics(async () => {
    const logSize = await engine.log.size();
    const [anchor] = (await options.anchors?.list(20))?.filter((a) => a.status === "final") ?? [];
    return {
      logSize,
      anchoredSize: anchor?.size ?? null,
      anchorAgeSeconds:
        anchor === undefined ? null : (Date.now() - Date.parse(anchor.updatedAt)) / 1000,
    };
  });
  const sendProblem = problemSender(metrics);
  const app: GatewayApp = Fastify({
    bodyLimit,
    // (cast: one type for fastify's overloads; the value is passed as given)
    trustProxy: (options.trustProxy ?? false) as boolean,
    ...(typeof options.logger === "object"
      ? { loggerInstance: options.logger }
      : {
          logger: options.logger === false ? false : { level: "info", redact: { paths: REDACT } },
        }),
    requestIdHeader: "x-request-id",
    genReqId: () => `req-${crypto.randomUUID()}`,
    return503OnClosing: true,
    ajv: {
      // Never coerce or strip what a client sent: a signed entry is checked as it came.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false },
    },
    routerOptions: { maxParamLength: 500 },
    // Errors of the router (a path parameter too long, a malformed URL): problem+json too.
    frameworkErrors: (error, request, reply) => sendProblem(request, reply, codedError(error)),
    // Errors of the HTTP parser itself (before any route): problem+json too.
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const keys = new ApiKeyStore(engine.db);
  const context: GatewayContext = { ...options, keys, metrics };

  // Strict by default: a route without a query schema takes no query parameters.
  const { routeTable, contracts } = catalogRoutes(app);
  acceptJsonBodies(app, bodyLimit);
  answerErrorsAsProblems(app, sendProblem, routeTable);

  // Security headers (helmet's, computed once: security-headers.ts), CORS
  // (closed unless origins are given).
  sendSecurityHeaders(app);
  await app.register(cors, {
    origin: options.corsOrigins === undefined ? false : [...options.corsOrigins],
  });

  authenticateRequests(app, {
    db: engine.db,
    keys,
    verifier: new RequestVerifier({
      db: engine.db,
      registry: engine.registry,
      ...(options.origins === undefined ? {} : { origins: options.origins }),
      ...(options.now === undefined ? {} : { now: options.now }),
    }),
    registration: options.registration,
  });
  await limitRequestRates(app, options);
  honourIdempotencyKeys(app, new IdempotencyStore(engine.db, options.idempotency ?? {}));

  // Graceful shutdown: once closing, answers end their connection, so that
  // close() returns as soon as the in-flight requests are answered.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // (Hooks that never wait take a callback: an async hook costs a promise and a tick per request.)
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });

  app.addHook("onResponse", (request, reply, done) => {
    metrics.requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? "unmatched",
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });

  await serveOpenApiDocs(app, contracts);
  // A read replica, when configured: ?minSize=, its log line and metrics (read-routing.ts).
  routeReads(app, context);

  opsRoutes(app, context);
  keyRoutes(app, context);
  agentRoutes(app, context);
  cardRoutes(app, context);
  actionRoutes(app, context);
  logRoutes(app, context);
  logsRoutes(app, context);
  anchorNowRoutes(app, context);
  tileRoutes(app, context);
  executionRoutes(app, context);
  reputationRoutes(app, context);
  studioRoutes(app, context);
  explorerRoutes(app, context);
  return app;
}
