/**
 * The gateway: one Fastify app over the engine. Routes live in `routes/`;
 * this file wires parsing, authentication, rate limits, idempotency,
 * problem+json errors, metrics, OpenAPI and the docs UI. No business rules.
 * @module
 */
import { ChaosCoreError, type ErrorCode, type Hex, isChaosCoreError } from "@chaoscore/core";
import type {
  AnchoringService,
  AttestationProvider,
  Engine,
  ReputationComputer,
  SecureExecutionEnvironment,
  StoredAnchorDirectory,
  Studios,
} from "@chaoscore/engine";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import { assertMayRegister, type RegistrationPolicy, WindowCounter } from "./admission.js";
import {
  type Access,
  ApiKeyStore,
  authorize,
  hasAgentSignature,
  type Principal,
  principalId,
  RequestVerifier,
  requestHash,
} from "./auth.js";
import { type IdempotencyOptions, IdempotencyStore } from "./idempotency.js";
import { createMetrics, type GatewayMetrics } from "./metrics.js";
import { completeDocument, type RouteContract } from "./openapi-contract.js";
import { PROBLEM_MEDIA_TYPE, toProblem } from "./problem.js";
import { openApiPath, RouteTable } from "./route-table.js";
import { actionRoutes } from "./routes/actions.js";
import { agentRoutes } from "./routes/agents.js";
import { anchorNowRoutes } from "./routes/anchor-now.js";
import { cardRoutes } from "./routes/cards.js";
import { executionRoutes } from "./routes/execution.js";
import { explorerRoutes } from "./routes/explorer.js";
import { keyRoutes } from "./routes/keys.js";
import { logRoutes } from "./routes/log.js";
import { opsRoutes } from "./routes/ops.js";
import { reputationRoutes } from "./routes/reputation.js";
import { studioRoutes } from "./routes/studios.js";
import { tileRoutes } from "./routes/tiles.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Every route the gateway serves (but the docs UI's): what /openapi.json must list. */
    chaoscoreRoutes: readonly { method: string; url: string }[];
  }
  interface FastifyContextConfig {
    /** Who may call the route (default "public"). */
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal;
    rawBody: Buffer;
    /** The nonce an agent-signed request consumed (released if the request is rejected). */
    agentNonce?: string;
    /** The idempotency key this request reserved (its answer is stored, or it is released). */
    idempotency?: { principal: string; key: string; holder: string; renewal: NodeJS.Timeout };
  }
}

/** What the gateway serves. Optional parts answer GATEWAY_FEATURE_DISABLED when absent. */
export type GatewayOptions = {
  engine: Engine;
  /** The chain id agents sign for. */
  chainId: bigint;
  /**
   * The origins (`scheme://host[:port]`) this gateway answers at: agents sign
   * requests for one of them (EIP-712 `Request.origin`), and a request signed
   * for another gateway is refused. Default `["http://localhost"]`. A function
   * is asked on every request (for origins known only after `listen`).
   */
  origins?: readonly string[] | (() => readonly string[]);
  studios?: Studios;
  reputation?: ReputationComputer;
  /** Attested execution: the TEE provider (the mock TEE) and, optionally, the sandbox. */
  execution?: { provider: AttestationProvider; sandbox?: SecureExecutionEnvironment };
  /** The TEE roots the log trusts (shown to verifiers, used by the explorer). */
  trustedTeeRoots?: readonly Hex[];
  /** Anchors recorded in the database (by this process or a separate worker). */
  anchors?: StoredAnchorDirectory;
  /** Anchors the current checkpoint on demand (`POST /v1/log/anchors`); default the engine's anchoring service. */
  anchoring?: Pick<AnchoringService, "anchorNow">;
  /** Funds studio budgets on chain (the RewardDistributor); with `rewards` in {@link gatewayServices}. */
  treasury?: {
    fund(
      studio: string,
      amount: bigint,
    ): Promise<{ studioId: Hex; budget: bigint; txHashes: Hex[] }>;
  };
  /** The chain, for /readyz and the explorer's links. */
  chain?: { ping(): Promise<unknown>; rpcUrl?: string; explorerUrl?: string };
  /** A pino logger, `false` for none (default: pino at info). */
  logger?: FastifyBaseLogger | boolean;
  /** Largest request body in bytes; default 2 MiB (a 1 MiB payload and its entry). */
  bodyLimit?: number;
  /** Requests per minute per API key, agent or (unauthenticated) address; `false` disables. Default 60,000. */
  rateLimit?: number | false;
  /** Origins allowed by CORS; default none (closed). */
  corsOrigins?: readonly string[];
  /**
   * Requests per minute per client address (`request.ip`), whoever the caller
   * is, and per gateway in all; `false` (default) disables each (admission.ts).
   */
  ipRateLimit?: number | false;
  globalRateLimit?: number | false;
  /**
   * Fastify's `trustProxy`: which proxies' `X-Forwarded-For` names the client
   * address (per-IP limits, logs). Default false: the socket's address.
   */
  trustProxy?: boolean | string | number;
  /** Who may register an agent by itself (default open; admission.ts). */
  registration?: RegistrationPolicy;
  /** Unix seconds (tests). */
  now?: () => number;
  /** Idempotency-Key leases and retention (default: 30 s lease renewed while a request runs, answers kept a day). */
  idempotency?: IdempotencyOptions;
};

/** The context route modules receive. */
export type GatewayContext = GatewayOptions & {
  keys: ApiKeyStore;
  metrics: GatewayMetrics;
};

/** The Fastify instance with the TypeBox type provider. */
export type GatewayApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

const REDACT = [
  "req.headers.authorization",
  "req.headers['chaoscore-signature']",
  "req.headers.cookie",
];

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Maps an error Fastify or a plugin raised to a coded one. */
function codedError(error: FastifyError | Error): unknown {
  if (isChaosCoreError(error)) return error;
  const e = error as FastifyError;
  if (e.validation !== undefined) {
    return new ChaosCoreError(
      "GATEWAY_REQUEST_INVALID",
      `the request ${e.validationContext ?? "input"} does not match the route's schema: ${e.message}`,
      {
        details: {
          part: e.validationContext ?? null,
          errors: e.validation.slice(0, 20).map((v) => ({
            path: v.instancePath,
            message: v.message ?? "invalid",
          })),
        },
      },
    );
  }
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: "GATEWAY_PAYLOAD_TOO_LARGE",
    FST_ERR_CTP_INVALID_MEDIA_TYPE: "GATEWAY_UNSUPPORTED_MEDIA_TYPE",
    FST_ERR_CTP_EMPTY_JSON_BODY: "GATEWAY_MALFORMED_JSON",
    FST_ERR_CTP_INVALID_JSON_BODY: "GATEWAY_MALFORMED_JSON",
    FST_ERR_MAX_PARAM_LENGTH: "GATEWAY_URI_TOO_LONG",
    FST_ERR_BAD_URL: "GATEWAY_REQUEST_INVALID",
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: "GATEWAY_REQUEST_INVALID",
  };
  const mapped = e.code === undefined ? undefined : byFastifyCode[e.code];
  if (mapped !== undefined) return new ChaosCoreError(mapped, e.message);
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new ChaosCoreError("GATEWAY_REQUEST_INVALID", e.message, {
      details: { fastifyCode: e.code ?? null },
    });
  }
  return error;
}

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
  let frameworkError = (_error: FastifyError, _request: FastifyRequest, reply: FastifyReply) =>
    reply.code(500).send();
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
    frameworkErrors: (error, request, reply) => frameworkError(error, request, reply),
    // Errors of the HTTP parser itself (before any route): problem+json too.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return;
      const tooLarge = (error as { code?: string }).code === "HPE_HEADER_OVERFLOW";
      const problem = toProblem(
        new ChaosCoreError(
          tooLarge ? "GATEWAY_HEADERS_TOO_LARGE" : "GATEWAY_REQUEST_INVALID",
          tooLarge ? "the request headers are too large" : "the request is not valid HTTP",
        ),
        "/",
        "req-unparsed",
      );
      const body = JSON.stringify(problem);
      socket.end(
        `HTTP/1.1 ${problem.status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\nContent-Type: ${PROBLEM_MEDIA_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const keys = new ApiKeyStore(engine.db);
  /** Membership for the access table: null when there is no such studio. */
  const isStudioMember = async (studio: string, agent: string): Promise<boolean | null> => {
    const [row] = await engine.db.query<{ member: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM studio_members WHERE studio_id = $1 AND agent_id = $2) AS member
         FROM studios WHERE id = $1`,
      [studio, agent],
    );
    return row === undefined ? null : row.member;
  };
  const idempotency = new IdempotencyStore(engine.db, options.idempotency ?? {});
  const verifier = new RequestVerifier({
    db: engine.db,
    registry: engine.registry,
    ...(options.origins === undefined ? {} : { origins: options.origins }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
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
  const context: GatewayContext = { ...options, keys, metrics };

  app.decorateRequest("principal", null as never);
  app.decorateRequest("rawBody", null as never);

  // ---- strict by default: a route without a query schema takes no query parameters ------------
  const routes: { method: string; url: string }[] = [];
  app.decorate("chaoscoreRoutes", routes);
  const contracts: RouteContract[] = [];
  const routeTable = new RouteTable();
  app.addHook("onRoute", (route) => {
    // (CORS answers OPTIONS on every path: that makes no path known.)
    if (route.url !== "*" && route.url !== "/*")
      for (const m of [route.method].flat()) routeTable.add(m, route.url);
    if (route.url.startsWith("/docs")) return;
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
    if (!hidden)
      for (const m of [route.method].flat())
        if (m !== "HEAD" && m !== "OPTIONS")
          contracts.push({
            method: m,
            path: openApiPath(route.url),
            access: route.config?.access ?? "public",
            hasBody: route.schema?.body !== undefined,
            hasParams: /[:*]/.test(route.url),
          });
    if (!hidden)
      for (const m of [route.method].flat())
        if (m !== "HEAD" && m !== "OPTIONS") routes.push({ method: m, url: route.url });
    route.schema ??= {};
    route.schema.querystring ??= Type.Object({}, { additionalProperties: false });
  });

  // ---- body parsing: JSON only; keep the raw bytes (agent signatures cover them) --------------
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    "application/json",
    { parseAs: "buffer", bodyLimit },
    (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      request.rawBody = body;
      try {
        done(null, JSON.parse(utf8.decode(body)));
      } catch {
        done(new ChaosCoreError("GATEWAY_MALFORMED_JSON", "the body is not valid UTF-8 JSON"));
      }
    },
  );

  // ---- errors ---------------------------------------------------------------------------------
  const sendProblem = (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    const problem = toProblem(error, request.url.split("?")[0] ?? "/", String(request.id));
    metrics.rejected.inc({ code: problem.code });
    if (problem.status >= 500) request.log.error({ err: error }, "request failed");
    // A cause (the database's own error) never reaches a client: it is logged here.
    else if (isChaosCoreError(error) && error.cause !== undefined) {
      request.log.warn({ err: error, cause: error.cause }, "request refused");
    }
    if (problem.code === "GATEWAY_UNAUTHENTICATED") {
      reply.header("www-authenticate", 'Bearer realm="chaoscore"');
    }
    const retryAfter = problem.details?.retryAfterSeconds;
    if (problem.status === 503 && typeof retryAfter === "number") {
      reply.header("retry-after", String(Math.max(1, Math.ceil(retryAfter))));
    }
    return reply.code(problem.status).type(PROBLEM_MEDIA_TYPE).send(problem);
  };
  app.setErrorHandler((error, request, reply) =>
    // A request no route answers fails like one (e.g. a body method without a body on an unknown path).
    request.is404 || isOtherPath(request, error as FastifyError)
      ? notFound(request, reply)
      : sendProblem(request, reply, codedError(error as Error)),
  );
  // A path the router gave to a parameterized route (`GET /v1/reputation/epochs` to
  // `/v1/reputation/{agent}`) while a more specific path exists with other methods.
  const isOtherPath = (request: FastifyRequest, error: FastifyError) =>
    error.validationContext === "params" &&
    !routeTable.allowed(request.url.split("?")[0] ?? "/").includes(request.method);
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0] ?? "/";
    // A known path with another method: 405 with the methods it answers.
    const allowed = routeTable.allowed(path);
    if (allowed.length > 0) {
      reply.header("allow", allowed.join(", "));
      return sendProblem(
        request,
        reply,
        new ChaosCoreError(
          "GATEWAY_METHOD_NOT_ALLOWED",
          `${request.method} is not allowed on ${path}; it answers ${allowed.join(", ")}`,
          { details: { allowed } },
        ),
      );
    }
    return sendProblem(
      request,
      reply,
      new ChaosCoreError("GATEWAY_ROUTE_NOT_FOUND", `no route ${request.method} ${path}`),
    );
  };
  app.setNotFoundHandler(notFound);
  frameworkError = (error, request, reply) => sendProblem(request, reply, codedError(error));

  // ---- security headers, CORS (closed unless origins are given) -----------------------------
  await app.register(helmet, {
    // The docs UI and the explorer load their own scripts and styles from this origin.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        // Plain-HTTP deployments (a staging box) must still load /docs and /explorer assets.
        upgradeInsecureRequests: null,
      },
    },
  });
  await app.register(cors, {
    origin: options.corsOrigins === undefined ? false : [...options.corsOrigins],
  });

  // ---- authentication (before validation: an unknown caller learns nothing more) -------------
  app.addHook("preValidation", async (request) => {
    request.rawBody ??= Buffer.alloc(0);
    request.principal = { kind: "anonymous" };
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const m = /^Bearer (.+)$/.exec(authorization);
      if (m === null) {
        throw new ChaosCoreError("GATEWAY_API_KEY_INVALID", "use Authorization: Bearer <API key>");
      }
      const key = await keys.authenticate(m[1] as string);
      request.principal = { kind: "key", id: key.id, scopes: key.scopes };
    } else if (hasAgentSignature(request.headers)) {
      const agent = await verifier.verify({
        // A new agent signs its own registration: its key is the agent's id.
        allowUnregistered: request.routeOptions.config.access === "register",
        headers: request.headers,
        method: request.method,
        target: request.url,
        body: request.rawBody,
      });
      request.principal = { kind: "agent", agent };
      request.agentNonce = request.headers["chaoscore-nonce"] as string;
    }
    // The access table decides (auth.ts authorize), one place for every route.
    await authorize(
      request.principal,
      request.routeOptions.config.access ?? "public",
      (request.params as { id?: string } | undefined)?.id ?? "",
      isStudioMember,
    );
    // An agent registering itself passes the registration policy (admission.ts).
    if (
      request.routeOptions.config.access === "register" &&
      request.principal.kind === "agent" &&
      options.registration !== undefined
    ) {
      assertMayRegister(
        options.registration,
        request.principal.agent,
        request.headers["chaoscore-proof-of-work"],
      );
    }
  });

  // ---- rate limits per client address and per gateway (before authentication) -----------------
  const ipLimit = options.ipRateLimit ? new WindowCounter(options.ipRateLimit) : undefined;
  const globalLimit = options.globalRateLimit
    ? new WindowCounter(options.globalRateLimit)
    : undefined;
  if (ipLimit !== undefined || globalLimit !== undefined) {
    app.addHook("onRequest", async (request, reply) => {
      try {
        globalLimit?.take("gateway", "on this gateway");
        ipLimit?.take(request.ip, `from ${request.ip}`);
      } catch (error) {
        reply.header("retry-after", String((error as { retryAfter?: number }).retryAfter ?? 60));
        throw error;
      }
    });
  }

  // ---- rate limits per key, agent or address ---------------------------------------------------
  if (options.rateLimit !== false) {
    await app.register(rateLimit, {
      global: true,
      hook: "preHandler",
      max: options.rateLimit ?? 60_000,
      timeWindow: 60_000,
      keyGenerator: (request) => principalId(request.principal, request.ip),
      errorResponseBuilder: (_request, ctx) => {
        const error = new ChaosCoreError(
          "GATEWAY_RATE_LIMITED",
          `more than ${ctx.max} requests per minute; retry in ${ctx.after}`,
          { details: { limit: ctx.max, retryAfter: ctx.after } },
        );
        return Object.assign(error, { statusCode: 429 });
      },
    });
  }

  // ---- idempotency keys on writes ---------------------------------------------------------------
  const IDEMPOTENCY_RE = /^[\x21-\x7e]{1,200}$/;
  app.addHook("preHandler", async (request, reply) => {
    const key = request.headers["idempotency-key"];
    if (key === undefined || request.method === "GET" || request.method === "HEAD") return;
    if (typeof key !== "string" || !IDEMPOTENCY_RE.test(key)) {
      throw new ChaosCoreError(
        "GATEWAY_REQUEST_INVALID",
        "Idempotency-Key is 1 to 200 visible ASCII characters",
      );
    }
    const principal = principalId(request.principal, request.ip);
    const hash = requestHash(request.method, request.url, request.rawBody);
    const decision = await idempotency.begin(principal, key, hash);
    if (decision.kind === "replay") {
      reply.header("idempotent-replayed", "true");
      return reply.code(decision.status).send(decision.response);
    }
    // The reservation lives while the request runs: renewed every third of the lease.
    const { holder } = decision;
    const renewal = setInterval(
      () => void idempotency.renew(principal, key, holder).catch(() => {}),
      (idempotency.leaseSeconds * 1000) / 3,
    );
    renewal.unref();
    request.idempotency = { principal, key, holder, renewal };
  });
  app.addHook("onResponse", async (request) => {
    if (request.idempotency !== undefined) clearInterval(request.idempotency.renewal);
  });
  // Answers past their retention and abandoned reservations are purged every 10 minutes.
  const purge = setInterval(
    () => void idempotency.purge().catch((err) => app.log.warn({ err }, "idempotency purge")),
    600_000,
  );
  purge.unref();
  app.addHook("onClose", async () => clearInterval(purge));
  // Graceful shutdown: once closing, answers end their connection, so that
  // close() returns as soon as the in-flight requests are answered.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    if (reply.statusCode >= 400 && request.agentNonce !== undefined) {
      const p = request.principal;
      if (p.kind === "agent") await verifier.release(p.agent, request.agentNonce);
    }
    const pending = request.idempotency;
    if (pending !== undefined) {
      clearInterval(pending.renewal);
      if (reply.statusCode < 300 && typeof payload === "string") {
        await idempotency.complete(
          pending.principal,
          pending.key,
          pending.holder,
          reply.statusCode,
          payload,
        );
      } else {
        await idempotency.release(pending.principal, pending.key, pending.holder);
      }
    }
    return payload;
  });

  // ---- metrics ----------------------------------------------------------------------------------
  app.addHook("onResponse", async (request, reply) => {
    metrics.requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? "unmatched",
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  // ---- OpenAPI 3.1 and the docs UI ---------------------------------------------------------------
  await app.register(swagger, {
    // Every error answer, operation ids and links (openapi-contract.ts).
    transformObject: (document) => {
      const doc = "openapiObject" in document ? document.openapiObject : document.swaggerObject;
      return completeDocument(doc as Record<string, unknown>, contracts) as never;
    },
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "ChaosCore gateway",
        version: "1.0.0",
        description:
          "Agents, Proof of Agency, the transparency log, execution, reputation, studios and governance. Errors are RFC 9457 problem+json with stable codes (docs/errors.md). Writes need an operator API key (Bearer) or an agent-signed request (ChaosCore-* headers, docs/api.md).",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "cck_<id>_<secret>" },
          agentSignature: {
            type: "apiKey",
            in: "header",
            name: "ChaosCore-Signature",
            description:
              "EIP-712 Request(agent, method, path, bodyHash, nonce, expiry) with ChaosCore-Agent, ChaosCore-Nonce and ChaosCore-Expiry",
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });

  // ---- routes -------------------------------------------------------------------------------------
  opsRoutes(app, context);
  keyRoutes(app, context);
  agentRoutes(app, context);
  cardRoutes(app, context);
  actionRoutes(app, context);
  logRoutes(app, context);
  anchorNowRoutes(app, context);
  tileRoutes(app, context);
  executionRoutes(app, context);
  reputationRoutes(app, context);
  studioRoutes(app, context);
  explorerRoutes(app, context);
  return app;
}
