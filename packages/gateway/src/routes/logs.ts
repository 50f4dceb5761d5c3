/**
 * The shards of the log family (docs/spec/shards.md): `GET /v1/logs` lists
 * them; `/v1/logs/{id}/checkpoint` and `/v1/logs/{id}/tile/...` serve each
 * shard's checkpoint and C2SP tlog-tiles under a URL that never changes
 * origin. `/log/...` and `/v1/log/...` follow the active shard (`?log=<id>`
 * names another).
 * @module
 */
import type { TransparencyLog } from "@chaoscore/log";
import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { fail } from "../problem.js";
import { fromReplica, type ReadSide } from "../read-routing.js";
import { errors } from "../schemas.js";

/** A log (shard) id in a URL or query. */
export const LogId = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
  description: "a shard of the log family, e.g. `default` or `default-s1` (GET /v1/logs)",
});

/** The header by which a writer names the shard it means to write to. */
export const LOG_HEADER = "chaoscore-log";

/**
 * The shard a read names (`?log=<id>`), else the active one, read on `side`.
 * @throws ChaosCoreError LOG_NOT_FOUND when the family has no such shard.
 */
export async function shardFor(
  ctx: GatewayContext,
  side: ReadSide,
  id: string | undefined,
): Promise<TransparencyLog> {
  const logs = ctx.engine.logs;
  return side.on(id === undefined ? await logs.active() : await logs.get(id));
}

/**
 * The shard a write names: `?log=<id>` or the header `ChaosCore-Log`
 * (undefined: the active one). The writer refuses a frozen one.
 * @throws ChaosCoreError GATEWAY_REQUEST_INVALID when both name different shards.
 */
export function namedShard(request: {
  query: unknown;
  headers: Record<string, string | string[] | undefined>;
}): string | undefined {
  const query = (request.query as { log?: string } | undefined)?.log;
  const header = request.headers[LOG_HEADER];
  const named = Array.isArray(header) ? header[0] : header;
  if (query !== undefined && named !== undefined && query !== named) {
    fail("GATEWAY_REQUEST_INVALID", "?log= and the ChaosCore-Log header name different logs", {
      query,
      header: named,
    });
  }
  if (named !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(named)) {
    fail("GATEWAY_REQUEST_INVALID", "ChaosCore-Log is a log id", { header: named });
  }
  return query ?? named;
}

const Shard = Type.Object({
  id: Type.String(),
  origin: Type.String(),
  verifierKey: Type.String(),
  shard: Type.Integer(),
  size: Type.Integer(),
  state: Type.Union([Type.Literal("active"), Type.Literal("frozen")]),
  createdAt: Type.String(),
  frozenAt: Type.Optional(Type.String()),
  frozenSize: Type.Optional(Type.Integer()),
  successor: Type.Optional(Type.String()),
  certificate: Type.Optional(Type.String()),
});

/** `GET /v1/logs` and the per-shard checkpoint and tiles. */
export function logsRoutes(app: GatewayApp, ctx: GatewayContext): void {
  app.get(
    "/v1/logs",
    {
      schema: {
        tags: ["log"],
        summary:
          "The shards of the log family, oldest first: origin, key, size, state (active or frozen), successor and shard certificate",
        response: { ...errors(), 200: Type.Object({ logs: Type.Array(Shard) }) },
      },
    },
    async () => ({ logs: await ctx.engine.logs.list() }),
  );

  const Params = Type.Object({ id: LogId });
  app.get(
    "/v1/logs/:id/checkpoint",
    {
      schema: {
        tags: ["tlog-tiles"],
        summary: "A shard's latest checkpoint as a C2SP signed note (text/plain)",
        params: Params,
        response: errors(404),
      },
    },
    async (request, reply) => {
      const note = await fromReplica(ctx, request, reply, async (side) => {
        const log = await shardFor(ctx, side, request.params.id);
        const cp = await log.latestCheckpoint();
        if (cp === undefined) {
          fail("LOG_NOT_YET_CHECKPOINTED", "the log has published no checkpoint yet", {
            retryAfterSeconds: 1,
          });
        }
        return cp.note;
      });
      return reply.type("text/plain; charset=utf-8").header("cache-control", "no-cache").send(note);
    },
  );
}
