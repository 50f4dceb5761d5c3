import type { RegisterAgentRequest } from "@chaoscore/log";
import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import type { Principal } from "../auth.js";
import { fail } from "../problem.js";
import { fromReplica } from "../read-routing.js";
import {
  ADMIN_SECURITY,
  Address,
  Cursor,
  errors,
  Limit,
  limitOf,
  WRITE_SECURITY,
} from "../schemas.js";

/** A signed registry request: checked by the registry (signature, chain, expiry, nonce). */
const SignedRegistryRequest = Type.Object(
  {
    chainId: Type.String({ maxLength: 20 }),
    card: Type.Optional(Type.Object({}, { additionalProperties: true })),
    message: Type.Object({}, { additionalProperties: true }),
    signature: Type.String({ maxLength: 200 }),
    newKeyProof: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** An agent acts only as itself; an admin key may act for any agent. */
function assertSelf(principal: Principal, agent: unknown): void {
  if (principal.kind === "agent" && principal.agent !== agent) {
    fail("GATEWAY_FORBIDDEN", `agent ${principal.agent} cannot act for ${String(agent)}`, {
      agent: principal.agent,
    });
  }
}

/** The registry: register, read, update cards, rotate keys, status. */
export function agentRoutes(app: GatewayApp, ctx: GatewayContext): void {
  const { registry } = ctx.engine;
  const IdParams = Type.Object({ id: Address });

  app.post(
    "/v1/agents",
    {
      schema: {
        tags: ["agents"],
        summary: "Register an agent (its signed RegisterAgent request and card)",
        security: WRITE_SECURITY,
        body: SignedRegistryRequest,
        response: errors(401, 403, 409),
      },
      config: { access: "register" },
    },
    async (request, reply) => {
      const body = request.body as unknown as RegisterAgentRequest;
      assertSelf(request.principal, (body.message as { agent?: unknown }).agent);
      return reply.code(201).send(await registry.register(body));
    },
  );

  app.get(
    "/v1/agents",
    {
      schema: {
        tags: ["agents"],
        summary: "List agents (cursor pagination)",
        querystring: Type.Object(
          {
            capability: Type.Optional(Type.String({ maxLength: 64 })),
            owner: Type.Optional(Address),
            status: Type.Optional(
              Type.Union([
                Type.Literal("active"),
                Type.Literal("suspended"),
                Type.Literal("revoked"),
              ]),
            ),
            text: Type.Optional(Type.String({ maxLength: 100 })),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async ({ registry }) => {
        const { limit, ...q } = request.query;
        return registry.list({ ...q, ...limitOf(limit) });
      }),
  );

  app.get(
    "/v1/agents/:id",
    { schema: { tags: ["agents"], summary: "An agent: identity and card", params: IdParams } },
    async (request, reply) =>
      fromReplica(ctx, request, reply, ({ registry }) => registry.get(request.params.id)),
  );

  app.get(
    "/v1/agents/:id/signing-state",
    {
      schema: {
        tags: ["agents"],
        summary: "The agent's signer, status and next action nonce",
        params: IdParams,
      },
    },
    async (request) => {
      const id = request.params.id;
      const state = (await registry.signingState([id])).get(id);
      if (state === undefined) fail("AGENT_NOT_FOUND", `no agent ${id}`, { agent: id });
      return {
        agent: id,
        signer: state.signer,
        status: state.status,
        actionNonce: state.actionNonce === null ? null : state.actionNonce.toString(),
        nextNonce: ((state.actionNonce ?? 0n) + 1n).toString(),
      };
    },
  );

  app.get(
    "/v1/agents/:id/history",
    {
      schema: {
        tags: ["agents"],
        summary: "Card versions, key rotations and status changes",
        params: IdParams,
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async ({ registry }) => {
        const id = request.params.id;
        const [cards, keys, status] = await Promise.all([
          registry.cardHistory(id),
          registry.keyHistory(id),
          registry.statusHistory(id),
        ]);
        return { cards, keys, status };
      }),
  );

  /** A change of an agent signed by the agent (its card, its key): the path names the same agent. */
  const signedChange = (
    method: "PUT" | "POST",
    url: string,
    summary: string,
    apply: (request: { message: { agent: string } }) => Promise<unknown>,
  ) =>
    app.route({
      method,
      url,
      schema: {
        tags: ["agents"],
        summary,
        security: WRITE_SECURITY,
        params: IdParams,
        body: SignedRegistryRequest,
        response: errors(401, 403, 404, 409),
      },
      config: { access: "register" },
      handler: async (request) => {
        const body = request.body as unknown as { message: { agent: string } };
        assertSelf(request.principal, request.params.id);
        if (body.message.agent !== request.params.id) {
          fail("GATEWAY_REQUEST_INVALID", "the message's agent is not the agent of the path");
        }
        return apply(body);
      },
    });
  signedChange(
    "PUT",
    "/v1/agents/:id/card",
    "Replace the card (the agent's signed UpdateAgentCard)",
    (b) => registry.updateCard(b as unknown as Parameters<typeof registry.updateCard>[0]),
  );
  signedChange(
    "POST",
    "/v1/agents/:id/rotate-key",
    "Rotate the signing key (signed by the current and the new key)",
    (b) => registry.rotateKey(b as unknown as Parameters<typeof registry.rotateKey>[0]),
  );

  app.post(
    "/v1/agents/:id/status",
    {
      schema: {
        tags: ["agents"],
        summary: "Suspend, reactivate or revoke an agent (operator)",
        security: ADMIN_SECURITY,
        params: IdParams,
        body: Type.Object(
          {
            status: Type.Union([
              Type.Literal("suspended"),
              Type.Literal("active"),
              Type.Literal("revoked"),
            ]),
            reason: Type.String({ minLength: 1, maxLength: 500 }),
          },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404, 409),
      },
      config: { access: "admin" },
    },
    async (request) => {
      const { status, reason } = request.body;
      const id = request.params.id;
      if (status === "suspended") return registry.suspend(id, reason);
      if (status === "active") return registry.reactivate(id, reason);
      return registry.revokeByOperator(id, reason);
    },
  );

  app.get(
    "/v1/agents/:id/actions",
    {
      schema: {
        tags: ["agents"],
        summary: "The agent's actions (cursor pagination)",
        params: IdParams,
        querystring: Type.Object(
          { limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async ({ agency }) => {
        const { limit, cursor } = request.query;
        return agency.query({
          agent: request.params.id,
          ...limitOf(limit),
          ...(cursor === undefined ? {} : { cursor }),
        });
      }),
  );
}
