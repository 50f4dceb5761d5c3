import {
  applyProposal,
  DaoStateSchema,
  RewardPolicySchema,
  type SignedTransition,
  StudioRulesSchema,
  type Studios,
} from "@chaoscore/studios";
import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { assertMayWrite } from "../auth.js";
import { fail } from "../problem.js";
import { fromReplica, type ReadSide } from "../read-routing.js";
import {
  ADMIN_SECURITY,
  Address,
  Cursor,
  Entry,
  errors,
  IdempotencyKeyRequired,
  Json,
  Limit,
  limitOf,
  SignedOutcome,
  StudioId,
  TaskId,
  WRITE_SECURITY,
} from "../schemas.js";

type EntryLike = { message?: { agent?: unknown } };
const agentOf = (entry: unknown): string | undefined => {
  const a = (entry as EntryLike | undefined)?.message?.agent;
  return typeof a === "string" ? a : undefined;
};

const Signed = Type.Object(
  {
    entry: Entry,
    payload: Json,
    attestation: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

const TRANSITIONS = ["create", "assign", "start", "submit", "evaluate", "reward", "fail", "reopen"];

/** Studios, members, tasks and the Governance Studio. */
export function studioRoutes(app: GatewayApp, ctx: GatewayContext): void {
  /** The studios; a read passes its side (read-routing.ts: the replica's, or the primary's). */
  const need = (side?: ReadSide): Studios => {
    if (ctx.studios === undefined) {
      fail("GATEWAY_FEATURE_DISABLED", "this gateway runs no studios", { feature: "studios" });
    }
    return side?.studios ?? ctx.studios;
  };
  const Params = Type.Object({ id: StudioId });
  const TaskParams = Type.Object({ id: StudioId, task: TaskId });
  const ProposalParams = Type.Object({
    id: StudioId,
    proposal: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$" }),
  });
  const tags = ["studios"];
  const gov = ["governance"];

  // ---- studios and members ----------------------------------------------------------------------
  app.post(
    "/v1/studios",
    {
      schema: {
        tags,
        summary: "Create a studio (generic or governance)",
        security: ADMIN_SECURITY,
        body: Type.Object(
          {
            id: StudioId,
            kind: Type.Union([Type.Literal("generic"), Type.Literal("governance")]),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            operator: Address,
            // The engine's own schemas: a body the document calls valid is one the engine takes.
            rewardPolicy: RewardPolicySchema,
            rules: Type.Optional(StudioRulesSchema),
            config: Type.Optional(Type.Object({}, { additionalProperties: true })),
            dao: Type.Optional(DaoStateSchema),
            voterRole: Type.Optional(Type.String({ maxLength: 32 })),
            attestationRequired: Type.Optional(Type.Boolean()),
            minReputation: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 409),
      },
      config: { access: "admin" },
    },
    async (request, reply) => {
      const s = need();
      const b = request.body;
      if (b.kind === "governance") {
        if (b.dao === undefined) fail("STUDIO_CONFIG_INVALID", "a governance studio needs a dao");
        const studio = await s.governance.createStudio({
          id: b.id,
          name: b.name,
          operator: b.operator,
          dao: b.dao as never,
          rewardPolicy: b.rewardPolicy,
          ...(b.voterRole === undefined ? {} : { voterRole: b.voterRole }),
          ...(b.attestationRequired === undefined
            ? {}
            : { attestationRequired: b.attestationRequired }),
          ...(b.minReputation === undefined ? {} : { minReputation: b.minReputation }),
        });
        return reply.code(201).send(studio);
      }
      const studio = await s.studios.create({
        id: b.id,
        kind: "generic",
        name: b.name,
        operator: b.operator,
        config: b.config ?? {},
        rules: b.rules ?? { attestationRequired: false }, // the engine requires the flag
        rewardPolicy: b.rewardPolicy,
      });
      return reply.code(201).send(studio);
    },
  );

  app.get(
    "/v1/studios",
    {
      schema: {
        tags,
        summary: "List studios (cursor pagination)",
        querystring: Type.Object(
          {
            kind: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("archived")])),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const { limit, ...q } = request.query;
        return need(side).studios.list({
          ...q,
          ...limitOf(limit),
        });
      }),
  );

  app.get(
    "/v1/studios/:id",
    { schema: { tags, summary: "A studio", params: Params, response: errors(404) } },
    async (request, reply) =>
      fromReplica(ctx, request, reply, (side) => need(side).studios.get(request.params.id)),
  );

  app.get(
    "/v1/studios/:id/members",
    { schema: { tags, summary: "A studio's members", params: Params, response: errors(404) } },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => ({
        items: await need(side).studios.members(request.params.id),
      })),
  );

  app.post(
    "/v1/studios/:id/members",
    {
      schema: {
        tags,
        summary: "Add a member with roles (operator key of the studio)",
        security: ADMIN_SECURITY,
        params: Params,
        body: Type.Object(
          {
            agent: Address,
            roles: Type.Array(Type.String({ pattern: "^[a-z][a-z0-9_-]{0,31}$" }), {
              minItems: 1,
              maxItems: 16,
            }),
          },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404, 409),
      },
      config: { access: "studio-key" },
    },
    async (request, reply) => {
      const m = await need().studios.addMember(
        request.params.id,
        request.body.agent,
        request.body.roles,
      );
      return reply.code(201).send(m);
    },
  );

  app.delete(
    "/v1/studios/:id/members/:agent",
    {
      schema: {
        tags,
        summary: "Remove a member",
        security: ADMIN_SECURITY,
        params: Type.Object({ id: StudioId, agent: Address }),
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
      config: { access: "studio-key" },
    },
    async (request, reply) => {
      await need().studios.removeMember(request.params.id, request.params.agent);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/v1/studios/:id/budget",
    {
      schema: {
        tags,
        summary:
          "Add tokens to the studio's reward budget on chain (RewardDistributor; the studio is created there if missing)",
        security: ADMIN_SECURITY,
        params: Params,
        headers: IdempotencyKeyRequired,
        body: Type.Object(
          { amount: Type.String({ pattern: "^[1-9][0-9]{0,30}$" }) },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404, 502),
      },
      config: { access: "studio-key" },
    },
    async (request, reply) => {
      if (ctx.treasury === undefined) {
        fail("GATEWAY_FEATURE_DISABLED", "this gateway pays no rewards (no chain)", {
          feature: "rewards",
        });
      }
      await need().studios.get(request.params.id);
      const funded = await ctx.treasury.fund(request.params.id, BigInt(request.body.amount));
      return reply.code(201).send({ ...funded, budget: funded.budget.toString() });
    },
  );

  // ---- tasks ------------------------------------------------------------------------------------
  app.get(
    "/v1/studios/:id/tasks",
    {
      schema: {
        tags,
        summary: "A studio's tasks (cursor pagination)",
        params: Params,
        querystring: Type.Object(
          {
            state: Type.Optional(Type.String({ pattern: "^[a-z]{1,16}$" })),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const { limit, state, cursor } = request.query;
        return need(side).tasks.listTasks(request.params.id, {
          ...(state === undefined ? {} : { state: state as never }),
          ...limitOf(limit),
          ...(cursor === undefined ? {} : { cursor }),
        });
      }),
  );

  app.get(
    "/v1/studios/:id/tasks/:task",
    {
      schema: {
        tags,
        summary: "A task (URL-encode a task id's slashes) with its transitions",
        params: TaskParams,
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const s = need(side);
        const { id, task } = request.params;
        const [t, history] = await Promise.all([
          s.tasks.getTask(id, task),
          s.tasks.history(id, task),
        ]);
        return { ...t, history };
      }),
  );

  app.get(
    "/v1/studios/:id/tasks/:task/eligible",
    {
      schema: {
        tags,
        summary: "Members who may be assigned the task, best reputation first",
        params: TaskParams,
        response: errors(404),
      },
    },
    async (request) => ({
      items: await need().tasks.eligibleAgents(request.params.id, request.params.task),
    }),
  );

  app.post(
    "/v1/studios/:id/tasks/transitions",
    {
      schema: {
        tags,
        summary:
          "Record a signed task transition (create, assign, start, submit, evaluate with its outcome, reward, fail, reopen)",
        security: WRITE_SECURITY,
        params: Params,
        body: Type.Object(
          {
            transition: Type.Union(TRANSITIONS.map((t) => Type.Literal(t))),
            entry: Entry,
            payload: Json,
            attestation: Type.Optional(Type.Object({}, { additionalProperties: true })),
            outcome: Type.Optional(SignedOutcome),
          },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404, 409),
      },
      config: { access: "studio" },
    },
    async (request, reply) => {
      const s = need();
      const studio = request.params.id;
      const { transition, outcome, ...signed } = request.body;
      assertMayWrite(request.principal, {
        agent: agentOf(signed.entry),
        studio,
        route: "studio",
      });
      if (outcome !== undefined) {
        assertMayWrite(request.principal, {
          agent: agentOf(outcome.entry),
          studio,
          route: "studio",
        });
      }
      const isGovernance = (await s.studios.get(studio)).kind === "governance";
      const t = s.tasks;
      const st = signed as SignedTransition;
      let result: unknown;
      switch (transition) {
        case "create":
          result = await t.createTask(studio, st);
          break;
        case "assign":
          result = await t.assign(studio, st);
          break;
        case "start":
          result = await t.start(studio, st);
          break;
        case "submit":
          result = await t.submit(studio, st);
          break;
        case "evaluate":
          result = isGovernance
            ? await s.governance.evaluate(studio, { ...st, outcome: outcome as never })
            : await t.evaluate(studio, outcome === undefined ? st : { ...st, outcome });
          break;
        case "reward":
          result = isGovernance
            ? (await s.governance.reward(studio, [st]))[0]
            : await t.reward(studio, st);
          break;
        case "fail":
          result = await t.fail(studio, st);
          break;
        default:
          result = await t.reopen(studio, st);
      }
      return reply.code(201).send(result);
    },
  );

  // ---- governance ---------------------------------------------------------------------------
  app.get(
    "/v1/studios/:id/dao",
    {
      schema: {
        tags: gov,
        summary: "The mock DAO's state",
        params: Params,
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, (side) => need(side).governance.dao(request.params.id)),
  );

  app.get(
    "/v1/studios/:id/proposals/:proposal",
    {
      schema: {
        tags: gov,
        summary: "A proposal with its votes, tally, tasks and reward plan",
        params: ProposalParams,
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const g = need(side).governance;
        const { id, proposal } = request.params;
        const [p, votes] = await Promise.all([g.getProposal(id, proposal), g.votes(id, proposal)]);
        const rewardPlan = (await g.rewardPlan(id, proposal)).map((r) => ({
          task: r.task.id,
          agent: r.agent,
          amount: r.amount.toString(),
        }));
        // What the operator signs next: the tally while voting, the DAO before and after once passed.
        const execution =
          p.state === "passed"
            ? await g
                .dao(id)
                .then((before) => ({ before, after: applyProposal(before, p.proposal) }))
            : null;
        return {
          ...p,
          votes,
          rewardPlan,
          tally: p.tally ?? (await g.computeTally(id, proposal)),
          execution,
        };
      }),
  );

  app.get(
    "/v1/studios/:id/proposals/:proposal/analysis-task",
    {
      schema: {
        tags: gov,
        summary: "The create payload of an agent's analysis task, and its task id",
        params: ProposalParams,
        querystring: Type.Object({ agent: Address }, { additionalProperties: false }),
        response: errors(404),
      },
    },
    async (request) => {
      const g = need().governance;
      const { id, proposal } = request.params;
      return {
        taskId: g.analysisTaskId(proposal, request.query.agent),
        payload: await g.analysisTask(id, proposal),
      };
    },
  );

  app.post(
    "/v1/studios/:id/tasks/:task/simulate",
    {
      schema: {
        tags: gov,
        summary:
          "Run the proposal simulation of an analysis task in the sandbox, attested (the agent signs and submits the result)",
        security: WRITE_SECURITY,
        params: TaskParams,
        body: Type.Object(
          {
            seed: Type.Optional(Type.String({ maxLength: 1024 })),
            nonce: Type.Optional(Type.String({ pattern: "^0x([0-9a-f]{2}){1,64}$" })),
          },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404, 422),
      },
      config: { access: "studio" },
    },
    async (request) => {
      if (ctx.execution === undefined) {
        fail("GATEWAY_FEATURE_DISABLED", "this gateway runs no sandbox", { feature: "execution" });
      }
      const { id, task } = request.params;
      return need().governance.simulate(id, task, {
        provider: ctx.execution.provider,
        // an agent's simulation is bound to it (the nonce starts with its address)
        ...(request.principal.kind === "agent" ? { agent: request.principal.agent } : {}),
        ...(request.body.seed === undefined ? {} : { seed: request.body.seed }),
        ...(request.body.nonce === undefined ? {} : { nonce: request.body.nonce as never }),
      });
    },
  );

  app.get(
    "/v1/studios/:id/tasks/:task/judgement",
    {
      schema: {
        tags: gov,
        summary:
          "The evaluation an analysis task's recommendation earns (what the evaluator signs)",
        params: TaskParams,
        response: errors(404, 409),
      },
    },
    async (request) => need().governance.judge(request.params.id, request.params.task),
  );

  const governanceStep = (
    path: string,
    summary: string,
    run: (s: Studios, studio: string, signed: { entry: unknown; payload: unknown }) => unknown,
  ) =>
    app.post(
      path,
      {
        schema: {
          tags: gov,
          summary,
          security: WRITE_SECURITY,
          params: Params,
          body: Signed,
          response: errors(401, 403, 404, 409),
        },
        config: { access: "studio" },
      },
      async (request, reply) => {
        const studio = request.params.id;
        assertMayWrite(request.principal, {
          agent: agentOf(request.body.entry),
          studio,
          route: "studio",
        });
        return reply.code(201).send(await run(need(), studio, request.body));
      },
    );
  governanceStep(
    "/v1/studios/:id/proposals",
    "Propose (the operator's signed governance.propose)",
    (s, id, b) => s.governance.propose(id, b),
  );
  governanceStep("/v1/studios/:id/votes", "Vote (the voter's signed governance.vote)", (s, id, b) =>
    s.governance.vote(id, b),
  );
  governanceStep(
    "/v1/studios/:id/tallies",
    "Tally (the operator's signed governance.tally)",
    (s, id, b) => s.governance.tally(id, b),
  );
  governanceStep(
    "/v1/studios/:id/executions",
    "Execute a passed proposal on the mock DAO (the operator's signed governance.execute)",
    (s, id, b) => s.governance.execute(id, b),
  );
}
