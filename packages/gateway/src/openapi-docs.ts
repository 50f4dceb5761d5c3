/**
 * The OpenAPI 3.1 document (`/openapi.json`, completed from the route
 * contracts by openapi-contract.ts) and the docs UI at `/docs`.
 * @module
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { GatewayApp } from "./gateway-options.js";
import { completeDocument, type RouteContract } from "./openapi-contract.js";

/** Registers the document and the docs UI (before the routes, so that each route is documented). */
export async function serveOpenApiDocs(
  app: GatewayApp,
  contracts: readonly RouteContract[],
): Promise<void> {
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
}
