import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { fail } from "../problem.js";
import { ADMIN_SECURITY, errors } from "../schemas.js";

/** Operator API keys (admin only). */
export function keyRoutes(app: GatewayApp, ctx: GatewayContext): void {
  const KeyInfo = Type.Object({
    id: Type.String(),
    scopes: Type.Array(Type.String()),
    label: Type.String(),
    createdAt: Type.String(),
    revokedAt: Type.Union([Type.String(), Type.Null()]),
  });
  app.post(
    "/v1/api-keys",
    {
      schema: {
        tags: ["api keys"],
        summary: "Create an API key (the secret is shown once)",
        security: ADMIN_SECURITY,
        body: Type.Object(
          {
            scopes: Type.Array(
              Type.String({
                pattern: "^(admin|read-only|ingest|studio:[a-z0-9][a-z0-9._-]{0,63})$",
              }),
              { minItems: 1, maxItems: 20 },
            ),
            label: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          ...errors(401, 403),
          201: Type.Composite([KeyInfo, Type.Object({ key: Type.String() })]),
        },
      },
      config: { access: "admin" },
    },
    async (request, reply) => {
      const created = await ctx.keys.create(request.body);
      request.log.info({ keyId: created.id, scopes: created.scopes }, "API key created");
      return reply.code(201).send(created);
    },
  );
  app.get(
    "/v1/api-keys",
    {
      schema: {
        tags: ["api keys"],
        summary: "List API keys (never their secrets)",
        security: ADMIN_SECURITY,
        response: { ...errors(401, 403), 200: Type.Object({ items: Type.Array(KeyInfo) }) },
      },
      config: { access: "admin" },
    },
    async () => ({ items: await ctx.keys.list() }),
  );
  app.delete(
    "/v1/api-keys/:keyId",
    {
      schema: {
        tags: ["api keys"],
        summary: "Revoke an API key",
        security: ADMIN_SECURITY,
        params: Type.Object({ keyId: Type.String({ pattern: "^[0-9a-f]{16}$" }) }),
        response: { ...errors(401, 403, 404, 409), 204: Type.Null() },
      },
      config: { access: "admin" },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (principal.kind === "key" && principal.id === request.params.keyId) {
        // The caller would lock itself out mid-session (a stateful API tester did).
        fail("GATEWAY_API_KEY_SELF_REVOKE", "a key cannot revoke itself: use another admin key", {
          keyId: request.params.keyId,
        });
      }
      await ctx.keys.revoke(request.params.keyId);
      request.log.info({ keyId: request.params.keyId }, "API key revoked");
      return reply.code(204).send(null);
    },
  );
}
