import { ChaosCoreError } from "@chaoscore/core";
import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { DEFAULT_ORIGIN } from "../auth.js";
import { registerAnchoringHaltMetric, registerLeaderMetric } from "../metrics.js";
import { PROBLEM_MEDIA_TYPE, toProblem } from "../problem.js";
import { replicaCheck } from "../read-routing.js";

/** Liveness, readiness, metrics, the OpenAPI document and the gateway's identity. */
export function opsRoutes(app: GatewayApp, ctx: GatewayContext): void {
  const { engine } = ctx;
  // A halted anchoring service (the log no longer extends the chain's history) is reported
  // three ways: an error-level log line, a metric, and /readyz failing with the reason.
  const halt = engine.anchoring?.halt;
  if (halt !== undefined) {
    registerAnchoringHaltMetric(ctx.metrics.registry, () => halt.current !== undefined);
    const unsubscribe = halt.onHalt((h) =>
      app.log.error(
        { code: h.code, details: h.details, at: h.at },
        `anchoring halted: ${h.reason}`,
      ),
    );
    app.addHook("onClose", async () => {
      unsubscribe();
    });
  }
  const leader = ctx.leader;
  if (leader !== undefined) registerLeaderMetric(ctx.metrics.registry, () => leader.isLeader());
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["operations"],
        summary: "Liveness: the process answers",
        response: { 200: Type.Object({ status: Type.Literal("ok") }) },
      },
      config: { rateLimit: false },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["operations"],
        summary: "Readiness: the database and (when configured) the chain answer",
      },
      config: { rateLimit: false },
    },
    async (request, reply) => {
      const checks: Record<string, string> = {};
      let ok = true;
      try {
        await engine.db.query("SELECT 1");
        checks.database = "ok";
      } catch (error) {
        ok = false;
        checks.database = error instanceof Error ? error.message : String(error);
      }
      if (ctx.chain !== undefined) {
        try {
          await ctx.chain.ping();
          checks.chain = "ok";
        } catch (error) {
          ok = false;
          checks.chain = error instanceof Error ? error.message : String(error);
        }
      } else {
        checks.chain = "not configured";
      }
      // Informational: a follower is as ready for requests as the leader.
      if (leader !== undefined) checks.leader = leader.isLeader() ? "leader" : "follower";
      // Informational too: reads go to the primary while the replica is down.
      const replica = await replicaCheck(ctx);
      if (replica !== undefined) checks.replica = replica;
      const halted = halt?.current;
      if (halted !== undefined) {
        ok = false;
        checks.anchoring = `halted: ${halted.reason}`;
      }
      if (ok) return { status: "ready", checks };
      const problem = toProblem(
        new ChaosCoreError("GATEWAY_NOT_READY", "a dependency does not answer", {
          details: { checks },
        }),
        "/readyz",
        String(request.id),
      );
      return reply.code(503).type(PROBLEM_MEDIA_TYPE).send(problem);
    },
  );

  app.get(
    "/metrics",
    {
      schema: { tags: ["operations"], summary: "Prometheus metrics (text exposition format)" },
      config: { rateLimit: false },
    },
    async (_request, reply) => {
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  );

  app.get(
    "/openapi.json",
    { schema: { tags: ["operations"], summary: "This API as an OpenAPI 3.1 document" } },
    async () => app.swagger(),
  );

  app.get(
    "/v1",
    {
      schema: {
        tags: ["operations"],
        summary: "The gateway's identity: chain id, log key, TEE roots, features",
      },
    },
    async () => ({
      format: "chaoscore.gateway/v1",
      chainId: ctx.chainId.toString(),
      verifyingContract: engine.registry.domain.verifyingContract,
      origins:
        typeof ctx.origins === "function" ? ctx.origins() : (ctx.origins ?? [DEFAULT_ORIGIN]),
      log: { id: engine.log.id, origin: engine.log.origin, verifierKey: engine.log.verifierKey },
      trustedTeeRoots: ctx.trustedTeeRoots ?? [],
      features: {
        studios: ctx.studios !== undefined,
        reputation: ctx.reputation !== undefined,
        execution: ctx.execution !== undefined,
        anchoring: ctx.anchors !== undefined,
        rewards: ctx.treasury !== undefined,
        chain: ctx.chain !== undefined,
      },
      chain: ctx.chain === undefined ? null : { explorerUrl: ctx.chain.explorerUrl ?? null },
    }),
  );
}
