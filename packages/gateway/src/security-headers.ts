/**
 * Security headers (helmet): computed once, when the gateway is built, and
 * set on every answer from that list. Helmet's middleware sets the same
 * values on every request (its headers depend on its options only, not on
 * the request), but through `res.setHeader` one header at a time, which
 * Node validates, stores and validates again when Fastify writes its own
 * headers: ≈ 13 µs of the gateway thread per request in a CPU profile of
 * signed-action ingest (issue 14); the list is one `reply.headers` call.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import helmet from "helmet";
import type { GatewayApp } from "./gateway-options.js";

/** The options of helmet that the gateway uses. */
export const HELMET_OPTIONS: Parameters<typeof helmet>[0] = {
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
};

/**
 * The headers helmet's middleware sets with `options` (lower-case names), by
 * running it once against a response that only records them.
 * @throws {Error} when a Content-Security-Policy directive is a function (a
 * value per request, e.g. a nonce, cannot be computed once), when the
 * middleware reads the request (it is given one that throws on any read), or
 * fails, or sets nothing.
 */
export function helmetHeaders(options: Parameters<typeof helmet>[0]): Record<string, string> {
  const csp = options?.contentSecurityPolicy;
  const directives = typeof csp === "object" ? Object.values(csp.directives ?? {}) : [];
  if (
    directives.some(
      (d) =>
        typeof d === "function" || (Array.isArray(d) && d.some((v) => typeof v === "function")),
    )
  ) {
    throw new Error(
      "a Content-Security-Policy directive computed per request cannot be sent from a fixed list",
    );
  }
  const request = new Proxy(
    {},
    {
      get(_target, name) {
        throw new Error(`helmet read the request (${String(name)}): its headers are not fixed`);
      },
    },
  );
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
      return recorder;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  let called = false;
  helmet(options)(
    request as IncomingMessage,
    recorder as unknown as ServerResponse,
    (err?: unknown) => {
      called = true;
      failure = err;
    },
  );
  if (!called || failure !== undefined || Object.keys(headers).length === 0) {
    throw new Error(`helmet did not give a fixed list of security headers: ${String(failure)}`);
  }
  return headers;
}

/** Sets helmet's security headers (with {@link HELMET_OPTIONS}) on every answer (an `onRequest` hook). */
export function sendSecurityHeaders(app: GatewayApp): void {
  const headers = helmetHeaders(HELMET_OPTIONS);
  app.addHook("onRequest", (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
