import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { fail } from "../problem.js";
import { ADMIN_SECURITY, errors } from "../schemas.js";

/** Requests per minute to anchor now, per caller (each may send a transaction). */
export const ANCHOR_NOW_PER_MINUTE = 6;

const AnchorRecordSchema = Type.Object(
  {
    id: Type.Integer(),
    logId: Type.String(),
    size: Type.Integer({ minimum: 1 }),
    root: Type.String({ pattern: "^0x[0-9a-f]{64}$" }),
    chainId: Type.String(),
    contract: Type.String(),
    index: Type.Union([Type.Integer(), Type.Null()]),
    txHash: Type.Union([Type.String(), Type.Null()]),
    blockNumber: Type.Union([Type.Integer(), Type.Null()]),
    blockHash: Type.Union([Type.String(), Type.Null()]),
    status: Type.String({ description: "pending, mined, final or dropped" }),
    attempts: Type.Integer(),
    lastError: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { additionalProperties: true },
);

/**
 * `POST /v1/log/anchors`: anchor the current checkpoint now (operator), instead
 * of waiting for the anchoring timer. Idempotent (a size already anchored is
 * answered with its record, not sent again) and rate-limited.
 */
export function anchorNowRoutes(app: GatewayApp, ctx: GatewayContext): void {
  app.post(
    "/v1/log/anchors",
    {
      schema: {
        tags: ["log"],
        summary:
          "Anchor the current checkpoint now and wait for its confirmations (operator; idempotent: a size already anchored answers its record; at most 6 a minute)",
        security: ADMIN_SECURITY,
        response: {
          ...errors(401, 403, 404, 409, 429, 502, 503, 504),
          200: Type.Object({ anchor: Type.Union([AnchorRecordSchema, Type.Null()]) }),
        },
      },
      config: {
        access: "admin",
        rateLimit: { max: ANCHOR_NOW_PER_MINUTE, timeWindow: 60_000 },
      },
    },
    async () => {
      const anchoring = ctx.anchoring ?? ctx.engine.anchoring;
      if (anchoring === undefined) {
        fail("GATEWAY_FEATURE_DISABLED", "this gateway anchors nothing (no chain)", {
          feature: "anchoring",
        });
      }
      // An empty log has nothing to anchor: null.
      const anchor = await anchoring.anchorNow({ wait: true, timeoutMs: 60_000 });
      return { anchor };
    },
  );
}
