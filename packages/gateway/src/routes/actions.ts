import { isChaosCoreError, verifyReceipt, verifyTeeEvidence } from "@chaoscore/core";
import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { assertMayWrite, mayReadPayload, type Principal } from "../auth.js";
import { fail } from "../problem.js";
import { fromReplica } from "../read-routing.js";
import {
  Cursor,
  errors,
  Hash,
  Limit,
  limitOf,
  QueryTime,
  RecordResult,
  SignedAction,
  SignedOutcome,
  StudioId,
  TaskId,
  WRITE_SECURITY,
} from "../schemas.js";
import { LogId, namedShard } from "./logs.js";

/** `?log=<id>` of a write: the shard the writer means (refused unless active: LOG_SHARD_FROZEN). */
const ShardQuery = Type.Object(
  {
    log: Type.Optional(
      Type.String({
        ...LogId,
        description:
          "the shard this write is meant for (or header ChaosCore-Log); a frozen one is refused with LOG_SHARD_FROZEN",
      }),
    ),
  },
  { additionalProperties: false },
);

type EntryLike = { message?: { agent?: unknown; studio?: unknown; action?: unknown } };

const field = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Proof of Agency: record actions and outcomes, read them, their receipts. */
export function actionRoutes(app: GatewayApp, ctx: GatewayContext): void {
  const { agency } = ctx.engine;
  const hasStudioScope = (p: Principal) =>
    p.kind === "key" && !p.scopes.includes("admin") && !p.scopes.includes("ingest");

  app.post(
    "/v1/actions",
    {
      schema: {
        tags: ["actions"],
        summary: "Record a signed action (with its payload and attestation quote)",
        description:
          "Idempotent: the same signed action again answers its first record with duplicate: true.",
        security: WRITE_SECURITY,
        body: SignedAction,
        querystring: ShardQuery,
        response: { ...errors(401, 403, 404, 409, 413), 201: RecordResult },
      },
      config: { access: "ingest" },
    },
    async (request, reply) => {
      const message = (request.body.entry as EntryLike).message;
      assertMayWrite(request.principal, {
        agent: field(message?.agent),
        studio: field(message?.studio),
        route: "ingest",
      });
      const log = namedShard(request);
      const result = await agency.recordAction(
        log === undefined ? request.body : { ...request.body, log },
      );
      if (!result.duplicate) ctx.metrics.ingested.inc({ kind: "action" });
      return reply.code(201).send(result);
    },
  );

  app.post(
    "/v1/outcomes",
    {
      schema: {
        tags: ["actions"],
        summary: "Record a signed outcome of an action (with its metrics)",
        security: WRITE_SECURITY,
        body: SignedOutcome,
        querystring: ShardQuery,
        response: { ...errors(401, 403, 404, 409, 413), 201: RecordResult },
      },
      config: { access: "ingest" },
    },
    async (request, reply) => {
      const message = (request.body.entry as EntryLike).message;
      let studio: string | undefined;
      if (hasStudioScope(request.principal)) {
        // A studio-scoped key may record outcomes of that studio's actions only.
        const action = field(message?.action);
        studio =
          action === undefined
            ? undefined
            : await agency.getAction(action).then(
                (a) => a.studio,
                (e: unknown) => {
                  if (isChaosCoreError(e)) return undefined;
                  throw e;
                },
              );
      }
      assertMayWrite(request.principal, {
        agent: field(message?.agent),
        studio,
        route: "ingest",
      });
      const log = namedShard(request);
      const result = await agency.recordOutcome(
        log === undefined ? request.body : { ...request.body, log },
      );
      if (!result.duplicate) ctx.metrics.ingested.inc({ kind: "outcome" });
      return reply.code(201).send(result);
    },
  );

  app.get(
    "/v1/actions",
    {
      schema: {
        tags: ["actions"],
        summary: "Query actions by agent, studio, task, type and time (cursor pagination)",
        querystring: Type.Object(
          {
            agent: Type.Optional(Type.String({ pattern: "^0x[0-9a-f]{40}$" })),
            studio: Type.Optional(StudioId),
            task: Type.Optional(TaskId),
            actionType: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            from: Type.Optional(QueryTime),
            to: Type.Optional(QueryTime),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async ({ agency }) => {
        const { limit, ...q } = request.query;
        return agency.query({ ...q, ...limitOf(limit) });
      }),
  );

  const IdParams = Type.Object({ id: Hash });
  app.get(
    "/v1/actions/:id",
    {
      schema: {
        tags: ["actions"],
        summary: "One recorded action or outcome",
        params: IdParams,
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, ({ agency }) => agency.getAction(request.params.id)),
  );

  app.get(
    "/v1/actions/:id/receipt",
    {
      schema: {
        tags: ["actions"],
        summary:
          "The receipt of an action or outcome (v2; v3 with TEE evidence; spec/receipt.md); the payload only for its agent or a key scoped admin, read or studio:<id>",
        params: IdParams,
        querystring: Type.Object(
          { payload: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")])) },
          { additionalProperties: false },
        ),
        response: errors(401, 403, 404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async ({ agency }) => {
        // The payload only for its agent or a reader (auth.ts mayReadPayload); the rest is public.
        const wanted = request.query.payload;
        const receipt = await agency.getReceipt(request.params.id, {
          includePayload: wanted !== "false",
        });
        const message = receipt.action.entry.message;
        if (
          receipt.payload !== undefined &&
          !mayReadPayload(request.principal, { owner: message.agent, studio: message.studio })
        ) {
          if (wanted === "true") {
            fail(
              request.principal.kind === "anonymous"
                ? "GATEWAY_UNAUTHENTICATED"
                : "GATEWAY_FORBIDDEN",
              "the payload is readable by the action's agent (a signed request) or a key scoped admin, read or studio:<its studio>",
            );
          }
          const { payload: _withheld, ...rest } = receipt;
          return rest;
        }
        return receipt;
      }),
  );

  app.post(
    "/v1/receipts/verify",
    {
      schema: {
        tags: ["actions"],
        summary:
          "Verify a receipt against this log's key (and the TEE roots it trusts); anyone can do the same offline",
        body: Type.Object({}, { additionalProperties: true }),
        response: errors(),
      },
    },
    async (request) => {
      // The family key: a receipt of shard n ≥ 1 carries its certificate (shards.md).
      const verified = verifyReceipt(request.rawBody, ctx.engine.logs.verifierKey, {
        // real TEE evidence (chaoscore.receipt/v3) is judged with core's verifyTeeEvidence
        evidenceVerifier: verifyTeeEvidence,
        ...(ctx.trustedTeeRoots === undefined || ctx.trustedTeeRoots.length === 0
          ? {}
          : { attestation: { trustedRoots: [...ctx.trustedTeeRoots] } }),
      });
      return { valid: true, ...verified };
    },
  );
}
