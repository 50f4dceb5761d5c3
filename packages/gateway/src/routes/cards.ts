import { findAgentToken } from "@chaoscore/anchoring";
import { toA2AAgentCard, toErc8004Registration } from "@chaoscore/core";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import type { GatewayApp, GatewayContext } from "../app.js";
import { Address, errors } from "../schemas.js";

/** The gateway's own base URL as the client reached it (for links in the cards). */
function baseUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * Agent cards that other ecosystems read (docs/spec/agent-card.md §1.3–1.4):
 * the A2A `AgentCard` at the A2A well-known path under the agent's URL, and
 * the ERC-8004 registration file. Both are views of the agent's signed
 * ChaosCore card and point back to its identity; the gateway does not sign
 * them (the agent can: `chaoscore agent card export --format a2a`).
 */
export function cardRoutes(app: GatewayApp, ctx: GatewayContext): void {
  const { registry } = ctx.engine;
  const IdParams = Type.Object({ id: Address });
  const chainId = ctx.chainId.toString();

  async function identityOf(request: FastifyRequest, id: string) {
    const agent = await registry.get(id);
    const token = await findAgentToken(ctx.engine.db, id, chainId);
    return {
      agent,
      identity: {
        agent: agent.identity.id,
        chainId,
        identityRegistry: token?.identityRegistry ?? null,
        tokenId: token?.tokenId ?? null,
        historyUrl: `${baseUrlOf(request)}/v1/agents/${agent.identity.id}/history`,
      },
    };
  }

  app.get(
    "/v1/agents/:id/.well-known/agent-card.json",
    {
      schema: {
        tags: ["agents"],
        summary: "The agent's card as an A2A AgentCard (A2A well-known path under the agent's URL)",
        params: IdParams,
        response: errors(404),
      },
    },
    async (request) => {
      const { agent, identity } = await identityOf(request, request.params.id);
      return toA2AAgentCard(agent.metadata.card as never, identity, {
        fallbackUrl: `${baseUrlOf(request)}/v1/agents/${agent.identity.id}`,
      });
    },
  );

  app.get(
    "/v1/agents/:id/erc8004.json",
    {
      schema: {
        tags: ["agents"],
        summary:
          "The agent's card as an ERC-8004 registration file (with its IdentityRegistry token)",
        params: IdParams,
        response: errors(404),
      },
    },
    async (request) => {
      const { agent, identity } = await identityOf(request, request.params.id);
      return toErc8004Registration(agent.metadata.card as never, identity, {
        active: agent.identity.status === "active",
      });
    },
  );
}
