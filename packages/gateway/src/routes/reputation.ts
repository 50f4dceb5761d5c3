import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { fail } from "../problem.js";
import { fromReplica, type ReadSide } from "../read-routing.js";
import { Address, Cursor, errors, Limit, Positive, toLimit, WRITE_SECURITY } from "../schemas.js";

const Dimension = Type.String({
  pattern: "^(overall|capability:[a-z0-9][a-z0-9._-]{0,63}|studio:[a-z0-9][a-z0-9._-]{0,63})$",
});

/** Reputation: scores, history, explanations, epochs and score proofs, feedback. */
export function reputationRoutes(app: GatewayApp, ctx: GatewayContext): void {
  /** The reputation component, with the pre-trusted raters every gateway shares (stored). */
  const need = async (side?: ReadSide) => {
    if (ctx.reputation === undefined) {
      fail("GATEWAY_FEATURE_DISABLED", "this gateway computes no reputation", {
        feature: "reputation",
      });
    }
    // A read passes its side (read-routing.ts: the replica's, or the primary's).
    const reputation = side?.reputation ?? ctx.reputation;
    await reputation.loadPreTrusted();
    return reputation;
  };
  const AgentParams = Type.Object({ agent: Address });

  app.get(
    "/v1/reputation/:agent",
    {
      schema: {
        tags: ["reputation"],
        summary: "Every dimension of an agent's reputation",
        params: AgentParams,
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => ({
        items: await (await need(side)).dimensions(request.params.agent),
      })),
  );

  app.get(
    "/v1/reputation/:agent/:dimension",
    {
      schema: {
        tags: ["reputation"],
        summary: "One score, its history (over time) and the contributions that explain it",
        params: Type.Object({ agent: Address, dimension: Dimension }),
        querystring: Type.Object(
          { limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
          { additionalProperties: false },
        ),
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const r = await need(side);
        const { agent, dimension } = request.params;
        const limit = toLimit(request.query.limit);
        const [explained, history] = await Promise.all([
          r.explain(agent, dimension, {
            ...(limit === undefined ? {} : { limit }),
            ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
          }),
          r.history(agent, dimension, { limit: 200 }),
        ]);
        return { ...explained, history };
      }),
  );

  app.get(
    "/v1/reputation",
    {
      schema: {
        tags: ["reputation"],
        summary: "The best agents in a dimension",
        querystring: Type.Object(
          { dimension: Dimension, k: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => ({
        items: await (await need(side)).topK(
          request.query.dimension,
          toLimit(request.query.k) ?? 10,
        ),
      })),
  );

  app.post(
    "/v1/reputation/epochs",
    {
      schema: {
        tags: ["reputation"],
        summary: "Run an epoch: EigenTrust over the raters, scores committed as one Merkle root",
        security: [{ apiKey: [] }],
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: errors(401, 403, 404),
      },
      config: { access: "admin" },
    },
    async (_request, reply) => reply.code(201).send(await (await need()).runEpoch()),
  );

  app.get(
    "/v1/reputation/pre-trusted",
    {
      schema: {
        tags: ["reputation"],
        summary: "The pre-trusted raters of EigenTrust",
        response: errors(404),
      },
    },
    async () => ({ agents: await (await need()).loadPreTrusted(0) }),
  );

  app.put(
    "/v1/reputation/pre-trusted",
    {
      schema: {
        tags: ["reputation"],
        summary:
          "Set the pre-trusted raters of EigenTrust (stored: every gateway on the database uses them)",
        security: [{ apiKey: [] }],
        body: Type.Object(
          { agents: Type.Array(Address, { maxItems: 1000 }) },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404),
      },
      config: { access: "admin" },
    },
    async (request) => {
      return { agents: await (await need()).savePreTrusted(request.body.agents) };
    },
  );

  app.get(
    "/v1/reputation/epochs/:epoch",
    {
      schema: {
        tags: ["reputation"],
        summary: "A committed epoch and its root",
        params: Type.Object({ epoch: Positive(10) }),
        response: errors(404),
      },
    },
    async (request) => (await need()).epochRoot(Number(request.params.epoch)),
  );

  app.get(
    "/v1/reputation/epochs/:epoch/proofs/:agent/:dimension",
    {
      schema: {
        tags: ["reputation"],
        summary: "The Merkle proof of an agent's score in an epoch",
        params: Type.Object({ epoch: Positive(10), agent: Address, dimension: Dimension }),
        response: errors(404),
      },
    },
    async (request) => {
      const { epoch, agent, dimension } = request.params;
      return (await need()).proveScore(agent, dimension, Number(epoch));
    },
  );

  app.post(
    "/v1/reputation/feedback",
    {
      schema: {
        tags: ["reputation"],
        summary: "Feedback of one agent (the caller) about another, with optional evidence",
        security: WRITE_SECURITY,
        body: Type.Object(
          {
            rater: Address,
            subject: Address,
            value: Type.Number({ minimum: 0, maximum: 1 }),
            dimension: Type.Optional(Dimension),
            evidence: Type.Optional(
              Type.Union([
                Type.Object(
                  { actionId: Type.String({ pattern: "^0x[0-9a-f]{64}$" }) },
                  { additionalProperties: false },
                ),
                Type.Null(),
              ]),
            ),
          },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404),
      },
      config: { access: "register" },
    },
    async (request, reply) => {
      const p = request.principal;
      if (p.kind === "agent" && p.agent !== request.body.rater) {
        fail("GATEWAY_FORBIDDEN", `agent ${p.agent} cannot rate as ${request.body.rater}`);
      }
      return reply.code(201).send(await (await need()).recordFeedback(request.body));
    },
  );
}
