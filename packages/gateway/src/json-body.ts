/**
 * Request bodies: JSON only, parsed from strict UTF-8, with the raw bytes kept
 * on `request.rawBody` (agent signatures and idempotency hashes cover them).
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import type { FastifyRequest } from "fastify";
import type { GatewayApp } from "./gateway-options.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Replaces every content-type parser with one for `application/json` up to
 * `bodyLimit` bytes; a body that is not UTF-8 JSON fails with GATEWAY_MALFORMED_JSON.
 */
export function acceptJsonBodies(app: GatewayApp, bodyLimit: number): void {
  app.decorateRequest("rawBody", null as never);
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
}
