import { isHex } from "@chaoscore/core";
import type { StoredCheckpoint } from "@chaoscore/log";
import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { fail } from "../problem.js";
import { fromReplica } from "../read-routing.js";
import { Cursor, Decimal, errors, Limit, Positive, toLimit } from "../schemas.js";
import { LogId, shardFor } from "./logs.js";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/**
 * The latest published checkpoint. Reads never sign or take the writer's
 * lock: the writer publishes a checkpoint with every batch (issue 19, item 11).
 * @throws ChaosCoreError LOG_NOT_YET_CHECKPOINTED when none is published yet.
 */
export async function latestCheckpoint(log: {
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
}): Promise<StoredCheckpoint> {
  const cp = await log.latestCheckpoint();
  if (cp === undefined) {
    fail("LOG_NOT_YET_CHECKPOINTED", "the log has published no checkpoint yet; retry shortly", {
      retryAfterSeconds: 1,
    });
  }
  return cp;
}

/** The transparency log: checkpoints, proofs, entries, anchors, search. */
export function logRoutes(app: GatewayApp, ctx: GatewayContext): void {
  // Every route here reads: from the replica when one is configured (read-routing.ts).
  app.get(
    "/v1/log/checkpoint",
    {
      schema: {
        tags: ["log"],
        summary:
          "The latest published checkpoint: a C2SP signed note with the witnesses' cosignatures (a read: it never signs)",
        querystring: Type.Object({ log: Type.Optional(LogId) }, { additionalProperties: false }),
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const log = await shardFor(ctx, side, request.query.log);
        const cp = await latestCheckpoint(log);
        return {
          origin: log.origin,
          size: cp.size,
          rootHash: b64(cp.rootHash),
          note: cp.note,
          createdAt: cp.createdAt,
          verifierKey: log.verifierKey,
        };
      }),
  );

  app.get(
    "/v1/log/checkpoints",
    {
      schema: {
        tags: ["log"],
        summary: "Signed checkpoints, newest first, with their on-chain anchors",
        querystring: Type.Object(
          { limit: Type.Optional(Limit), log: Type.Optional(LogId) },
          { additionalProperties: false },
        ),
        response: errors(404),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const log = await shardFor(ctx, side, request.query.log);
        // anchors are recorded for shard 0 (the anchoring service's log)
        const anchors = log.id === ctx.engine.log.id ? side.anchors : undefined;
        const limit = toLimit(request.query.limit) ?? 50;
        const all = await log.checkpoints();
        const anchored = (await anchors?.list(1000)) ?? [];
        return {
          items: all
            .slice(-limit)
            .reverse()
            .map((cp) => ({
              size: cp.size,
              rootHash: b64(cp.rootHash),
              note: cp.note,
              createdAt: cp.createdAt,
              anchors: anchored
                .filter((a) => a.size === cp.size)
                .map((a) => ({
                  status: a.status,
                  chainId: a.chainId,
                  contract: a.contract,
                  index: a.index,
                  txHash: a.txHash,
                  blockNumber: a.blockNumber,
                })),
            })),
        };
      }),
  );

  app.get(
    "/v1/log/proofs/inclusion",
    {
      schema: {
        tags: ["log"],
        summary: "The RFC 9162 inclusion proof of a leaf in the tree of a size",
        querystring: Type.Object(
          { index: Decimal(), size: Positive(), log: Type.Optional(LogId) },
          { additionalProperties: false },
        ),
        response: errors(),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const log = await shardFor(ctx, side, request.query.log);
        const index = Number(request.query.index);
        const size = Number(request.query.size);
        if (index >= size) {
          fail("MERKLE_INDEX_OUT_OF_RANGE", `leaf ${index} is not in a tree of ${size}`);
        }
        const proof = await log.inclusionProof(index, size);
        return { index, size, hashes: proof.map(b64) };
      }),
  );

  app.get(
    "/v1/log/proofs/consistency",
    {
      schema: {
        tags: ["log"],
        summary: "The RFC 9162 consistency proof between two tree sizes",
        querystring: Type.Object(
          { from: Positive(), to: Positive(), log: Type.Optional(LogId) },
          { additionalProperties: false },
        ),
        response: errors(),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const log = await shardFor(ctx, side, request.query.log);
        const from = Number(request.query.from);
        const to = Number(request.query.to);
        if (from > to) fail("MERKLE_INDEX_OUT_OF_RANGE", "from must not exceed to");
        const proof = await log.consistencyProof(from, to);
        return { from, to, hashes: proof.map(b64) };
      }),
  );

  app.get(
    "/v1/log/entries",
    {
      schema: {
        tags: ["log"],
        summary: "Leaves [start, end) as stored (at most 1,000), base64",
        querystring: Type.Object(
          { start: Decimal(), end: Decimal(), log: Type.Optional(LogId) },
          { additionalProperties: false },
        ),
        response: errors(),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const log = await shardFor(ctx, side, request.query.log);
        const start = Number(request.query.start);
        const end = Number(request.query.end);
        if (end < start || end - start > 1000) {
          fail("GATEWAY_REQUEST_INVALID", "end must be in [start, start + 1000]");
        }
        const rows = await log.entries(start, end);
        return { items: rows.map((r) => ({ index: r.index, entry: b64(r.entry) })) };
      }),
  );

  app.get(
    "/v1/log/anchors",
    {
      schema: {
        tags: ["log"],
        summary: "On-chain anchors of checkpoints, newest first",
        querystring: Type.Object({ limit: Type.Optional(Limit) }, { additionalProperties: false }),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async ({ anchors }) => ({
        items: (await anchors?.list(toLimit(request.query.limit) ?? 100)) ?? [],
        explorerUrl: ctx.chain?.explorerUrl ?? null,
      })),
  );

  app.get(
    "/v1/search",
    {
      schema: {
        tags: ["log"],
        summary:
          "Search by agent address, action hash or studio id, in every shard; each hit carries its inclusion proof in the latest checkpoint of its shard (of the active shard at the top)",
        querystring: Type.Object(
          {
            q: Type.String({ minLength: 1, maxLength: 100 }),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: errors(),
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const { agency } = side;
        const log = await shardFor(ctx, side, undefined);
        const { q, cursor } = request.query;
        const limit = Math.min(toLimit(request.query.limit) ?? 20, 100);
        let kind: "action" | "agent" | "studio";
        let page: Awaited<ReturnType<typeof agency.query>>;
        if (isHex(q, 32)) {
          kind = "action";
          page = { items: [await agency.getAction(q)], nextCursor: null };
        } else if (isHex(q, 20)) {
          kind = "agent";
          page = await agency.query({
            agent: q,
            limit,
            ...(cursor === undefined ? {} : { cursor }),
          });
        } else if (/^[a-z0-9][a-z0-9._-]{0,63}$/.test(q)) {
          kind = "studio";
          page = await agency.query({
            studio: q,
            limit,
            ...(cursor === undefined ? {} : { cursor }),
          });
        } else {
          fail(
            "GATEWAY_REQUEST_INVALID",
            "q is an agent address, an action hash (0x + 64 hex) or a studio id",
          );
        }
        const cp = await latestCheckpoint(log);
        const items = [];
        // each hit is proved in the latest checkpoint of its own shard (shards.md)
        const latest = new Map([[log.id, { log, cp }]]);
        for (const action of page.items) {
          let own = latest.get(action.log);
          if (own === undefined) {
            const shard = await shardFor(ctx, side, action.log);
            own = { log: shard, cp: await latestCheckpoint(shard) };
            latest.set(action.log, own);
          }
          const hashes = await own.log.inclusionProof(action.leafIndex, own.cp.size);
          items.push({
            action,
            proof: {
              log: own.log.id,
              leafIndex: action.leafIndex,
              treeSize: own.cp.size,
              rootHash: b64(own.cp.rootHash),
              hashes: hashes.map(b64),
              ...(own.log.id === log.id ? {} : { checkpoint: own.cp.note }),
            },
          });
        }
        return {
          kind,
          checkpoint: { size: cp.size, rootHash: b64(cp.rootHash), note: cp.note },
          items,
          nextCursor: page.nextCursor,
        };
      }),
  );
}
