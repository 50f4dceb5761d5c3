/**
 * Rate limits: per client address and per gateway in all (before
 * authentication, admission.ts `WindowCounter`), and per API key, agent or
 * address (`@fastify/rate-limit`, after authentication).
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import rateLimit from "@fastify/rate-limit";
import { WindowCounter } from "./admission.js";
import { principalId } from "./auth.js";
import type { GatewayApp, GatewayOptions } from "./gateway-options.js";

/**
 * Adds the limits `options` ask for; a request over one fails with
 * GATEWAY_RATE_LIMITED (429, with `Retry-After` for the address and gateway limits).
 */
export async function limitRequestRates(
  app: GatewayApp,
  options: Pick<GatewayOptions, "ipRateLimit" | "globalRateLimit" | "rateLimit">,
): Promise<void> {
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
}
