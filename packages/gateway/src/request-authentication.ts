/**
 * Who is calling, and may they: an operator API key (Bearer) or an
 * agent-signed request, checked before validation (an unknown caller learns
 * nothing more), then the access table (auth.ts `authorize`) and, for an agent
 * registering itself, the registration policy (admission.ts).
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import type { Engine } from "@chaoscore/engine";
import { assertMayRegister, type RegistrationPolicy } from "./admission.js";
import { type ApiKeyStore, authorize, hasAgentSignature, type RequestVerifier } from "./auth.js";
import type { GatewayApp } from "./gateway-options.js";
import { StudioId } from "./schemas.js";

const STUDIO_ID = new RegExp(StudioId.pattern as string);

/** What {@link authenticateRequests} checks callers against. */
export type AuthenticationOptions = {
  db: Engine["db"];
  keys: ApiKeyStore;
  verifier: RequestVerifier;
  registration?: RegistrationPolicy | undefined;
};

/**
 * Sets `request.principal` on every request (a `preValidation` hook) and
 * releases the nonce of an agent-signed request that is answered with an
 * error (an `onSend` hook), so that the agent may send it again.
 * @throws {ChaosCoreError} (in the hook) GATEWAY_API_KEY_INVALID, the codes of
 * `keys.authenticate`, `verifier.verify`, `authorize` and `assertMayRegister`.
 */
export function authenticateRequests(app: GatewayApp, options: AuthenticationOptions): void {
  const { db, keys, verifier, registration } = options;
  /** Membership for the access table: null when there is no such studio. */
  const isStudioMember = async (studio: string, agent: string): Promise<boolean | null> => {
    // Not a studio id at all (e.g. a NUL byte, which Postgres refuses in text): no such studio,
    // and the route's parameter validation answers it; never a database error.
    if (!STUDIO_ID.test(studio)) return null;
    const [row] = await db.query<{ member: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM studio_members WHERE studio_id = $1 AND agent_id = $2) AS member
         FROM studios WHERE id = $1`,
      [studio, agent],
    );
    return row === undefined ? null : row.member;
  };
  app.decorateRequest("principal", null as never);
  app.addHook("preValidation", async (request) => {
    request.rawBody ??= Buffer.alloc(0);
    request.principal = { kind: "anonymous" };
    // (read once: Fastify builds request.routeOptions anew on every read)
    const access = request.routeOptions.config.access;
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
        allowUnregistered: access === "register",
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
      access ?? "public",
      (request.params as { id?: string } | undefined)?.id ?? "",
      isStudioMember,
    );
    // An agent registering itself passes the registration policy (admission.ts).
    if (access === "register" && request.principal.kind === "agent" && registration !== undefined) {
      assertMayRegister(
        registration,
        request.principal.agent,
        request.headers["chaoscore-proof-of-work"],
      );
    }
  });
  app.addHook("onSend", (request, reply, payload, done) => {
    const p = request.principal;
    if (reply.statusCode >= 400 && request.agentNonce !== undefined && p.kind === "agent") {
      verifier.release(p.agent, request.agentNonce).then(() => done(null, payload), done);
    } else {
      // Nothing to wait for (a callback hook: no promise per request).
      done(null, payload);
    }
  });
}
