/**
 * Every error the gateway answers becomes RFC 9457 problem+json with a stable
 * code: errors of Fastify and its plugins (mapped to codes here), of the
 * router (unknown path, wrong method), and of the HTTP parser itself.
 * @module
 */
import type { Socket } from "node:net";
import { ChaosCoreError, type ErrorCode, isChaosCoreError } from "@chaoscore/core";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { GatewayApp } from "./gateway-options.js";
import type { GatewayMetrics } from "./metrics.js";
import { PROBLEM_MEDIA_TYPE, toProblem } from "./problem.js";
import type { RouteTable } from "./route-table.js";

/** Answers a request with the problem+json of an error (counted in the metrics, logged when it is ours). */
export type ProblemSender = (
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
) => unknown;

const byFastifyCode: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "GATEWAY_PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "GATEWAY_UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "GATEWAY_MALFORMED_JSON",
  FST_ERR_CTP_INVALID_JSON_BODY: "GATEWAY_MALFORMED_JSON",
  FST_ERR_MAX_PARAM_LENGTH: "GATEWAY_URI_TOO_LONG",
  FST_ERR_BAD_URL: "GATEWAY_REQUEST_INVALID",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "GATEWAY_REQUEST_INVALID",
};

/** Maps an error Fastify or a plugin raised to a coded one (a coded error is returned as it is). */
export function codedError(error: FastifyError | Error): unknown {
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
 * Answers an error of the HTTP parser (before any route) on the raw socket:
 * GATEWAY_HEADERS_TOO_LARGE (431) or GATEWAY_REQUEST_INVALID (400), then closes.
 * Fastify's `clientErrorHandler`.
 */
export function answerClientError(error: Error, socket: Socket): void {
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
}

/** The {@link ProblemSender} of a gateway: counts each rejection by code in `metrics`. */
export function problemSender(metrics: GatewayMetrics): ProblemSender {
  return (request, reply, error) => {
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
}

/**
 * Sets the app's error and not-found handlers: a coded problem for every
 * error; GATEWAY_METHOD_NOT_ALLOWED (405, with `Allow`) for a known path with
 * another method, GATEWAY_ROUTE_NOT_FOUND for an unknown one.
 */
export function answerErrorsAsProblems(
  app: GatewayApp,
  sendProblem: ProblemSender,
  routeTable: RouteTable,
): void {
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
  // A path the router gave to a parameterized route (`GET /v1/reputation/epochs` to
  // `/v1/reputation/{agent}`) while a more specific path exists with other methods.
  const isOtherPath = (request: FastifyRequest, error: FastifyError) =>
    error.validationContext === "params" &&
    !routeTable.allowed(request.url.split("?")[0] ?? "/").includes(request.method);
  app.setErrorHandler((error, request, reply) =>
    // A request no route answers fails like one (e.g. a body method without a body on an unknown path).
    request.is404 || isOtherPath(request, error as FastifyError)
      ? notFound(request, reply)
      : sendProblem(request, reply, codedError(error as Error)),
  );
  app.setNotFoundHandler(notFound);
}
