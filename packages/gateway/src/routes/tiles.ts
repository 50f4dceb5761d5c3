/**
 * The C2SP tlog-tiles read API under `/log/`: the checkpoint, Merkle tiles
 * and entry bundles, so standard transparency tooling (monitors, witnesses)
 * can read the log. https://c2sp.org/tlog-tiles
 * @module
 */
import { createHash } from "node:crypto";
import { ChaosCoreError } from "@chaoscore/core";
import { Type } from "@sinclair/typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { GatewayApp, GatewayContext } from "../app.js";
import { fail } from "../problem.js";
import { fromReplica } from "../read-routing.js";
import { errors } from "../schemas.js";
import { ImmutableCache } from "./immutable-cache.js";
import { IMMUTABLE, serveCachedTilesFirst } from "./lean-tiles.js";
import { latestCheckpoint } from "./log.js";
import { LogId, shardFor } from "./logs.js";

/** Hashes per tile (tile height 8). */
export const TILE_WIDTH = 256;

/** Parses `<N>[.p/<W>]` where N is split into `x123/` groups of three digits. */
export function parseTileIndex(path: string): { index: number; width: number } {
  const m = /^((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([0-9]{1,3}))?$/.exec(path);
  if (m === null) {
    fail("GATEWAY_REQUEST_INVALID", "a tile index is x-prefixed groups of three digits", {
      path,
    });
  }
  const digits = `${(m[1] ?? "").replaceAll("x", "").replaceAll("/", "")}${m[2]}`;
  const index = Number(digits);
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (!Number.isSafeInteger(index) || width < 1 || width >= TILE_WIDTH + (m[3] ? 0 : 1)) {
    fail("GATEWAY_REQUEST_INVALID", "a partial tile has a width in [1, 255]", { path });
  }
  return { index, width };
}

/** Encodes N as tlog-tiles does: `x001/x234/067`. */
export function tileIndexPath(index: number): string {
  const s = String(index).padStart(3, "0");
  const padded = s.padStart(Math.ceil(s.length / 3) * 3, "0");
  const groups = padded.match(/.{3}/g) as string[];
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/**
 * Sends a tile, an entry bundle or the checkpoint with its cache policy and a
 * strong ETag (a hash of the bytes): a cache revalidates a `no-cache` answer
 * (a partial tile, the checkpoint) with If-None-Match and gets 304 when it
 * has not changed. A full tile is immutable: whichever side (primary or
 * replica) serves it, its bytes are the same.
 */
function sendWithEtag(
  request: FastifyRequest,
  reply: FastifyReply,
  type: string,
  body: string | Buffer,
  cacheControl: string,
  etag = etagOf(body),
) {
  reply.type(type).header("cache-control", cacheControl).header("etag", etag);
  if (request.headers["if-none-match"] === etag) return reply.code(304).send();
  return reply.send(body);
}

function etagOf(body: string | Buffer): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}

/**
 * Sends a full tile or entry bundle (immutable) and keeps it in `cache`
 * under `key`: the next request for it reads no database.
 */
function sendImmutable(
  request: FastifyRequest,
  reply: FastifyReply,
  cache: ImmutableCache,
  key: string,
  body: Buffer,
) {
  const etag = etagOf(body);
  cache.set(key, { body, etag });
  return sendWithEtag(request, reply, "application/octet-stream", body, IMMUTABLE, etag);
}

/** tlog-tiles routes. */
export function tileRoutes(app: GatewayApp, ctx: GatewayContext): void {
  // Full tiles and bundles never change: read once from the database, then from memory.
  // Two bounds, so that entry bundles (≈100 KB each at 400-byte entries) never
  // push out the Merkle tiles (8 KiB each; 64 MiB holds every level-0 tile of
  // 8 million leaves): at most 64 + 32 MiB of bodies in all.
  const merkleTiles = new ImmutableCache(64 * 1024 * 1024);
  const entryBundles = new ImmutableCache(32 * 1024 * 1024);
  // Cache hits of plain GETs are answered before routing (lean-tiles.ts); the
  // routes' onSend hook gives it their headers.
  const lean = serveCachedTilesFirst(app, ctx, { merkleTiles, entryBundles });
  // Both routes read: from the replica when one is configured (read-routing.ts).
  app.get(
    "/log/checkpoint",
    {
      schema: {
        tags: ["tlog-tiles"],
        summary:
          "The active shard's latest checkpoint as a C2SP signed note (text/plain); a shard's own: /v1/logs/{id}/checkpoint",
      },
    },
    async (request, reply) =>
      fromReplica(ctx, request, reply, async (side) => {
        const cp = await latestCheckpoint(await shardFor(ctx, side, undefined));
        return sendWithEtag(request, reply, "text/plain; charset=utf-8", cp.note, "no-cache");
      }),
  );

  const TilePath = Type.String({
    // tlog-tiles: level 0–7 or `entries`, N in x-prefixed groups of three digits, W in 1–255.
    pattern:
      "^(entries|[0-7])/(x[0-9]{3}/){0,4}[0-9]{3}(\\.p/(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]?))?$",
    description:
      "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, e.g. `0/x001/234` or `entries/000.p/7`",
  });
  const what =
    "Merkle tile `<L>/<N>[.p/<W>]` (concatenated 32-byte hashes) or entry bundle `entries/<N>[.p/<W>]` (uint16-length-prefixed entries)";
  // `/log/` follows the active shard; `/v1/logs/{id}/` is one shard's, whose origin never changes.
  for (const [path, params, summary] of [
    ["/log/tile/*", Type.Object({ "*": TilePath }), `The active shard's ${what}`],
    [
      "/v1/logs/:id/tile/*",
      Type.Object({ id: LogId, "*": TilePath }),
      `A shard's ${what} (shards.md)`,
    ],
  ] as const) {
    app.get(
      path,
      {
        schema: {
          tags: ["tlog-tiles"],
          summary,
          params,
          response: errors(404),
        },
        ...lean,
      },
      async (request, reply) =>
        fromReplica(ctx, request, reply, async (side) => {
          const log = await shardFor(ctx, side, (request.params as { id?: string }).id);
          const rest = (request.params as { "*": string })["*"];
          const key = `${log.id}\n${rest}`;
          const immutable = rest.startsWith("entries/") ? entryBundles : merkleTiles;
          const cached = immutable.get(key);
          if (cached !== undefined) {
            return sendWithEtag(
              request,
              reply,
              "application/octet-stream",
              cached.body,
              IMMUTABLE,
              cached.etag,
            );
          }
          const slash = rest.indexOf("/");
          const head = slash < 0 ? rest : rest.slice(0, slash);
          const { index, width } = parseTileIndex(slash < 0 ? "" : rest.slice(slash + 1));
          const start = index * TILE_WIDTH;
          // One read per tile: a stored node (or leaf) exists only in a tree
          // that has it (it is written with the size that includes it), so W
          // rows prove the tile — full or partial of width W — exists here.
          // Fewer: the log (on this side: primary or replica) has no such tile.
          const missing = async (what: string): Promise<never> => {
            const size = await log.size();
            fail("LOG_TILE_NOT_FOUND", `the tree of ${size} leaves has no such ${what}`, {
              size,
            });
          };
          if (head === "entries") {
            const rows = await log.entries(start, start + width);
            if (rows.length !== width) return missing("entry bundle");
            const parts: Buffer[] = [];
            for (const r of rows) {
              if (r.entry.length > 0xffff) {
                throw new ChaosCoreError(
                  "GATEWAY_INTERNAL",
                  `entry ${r.index} is too long for an entry bundle`,
                );
              }
              const len = Buffer.alloc(2);
              len.writeUInt16BE(r.entry.length);
              parts.push(len, Buffer.from(r.entry));
            }
            const bundle = Buffer.concat(parts);
            return width === TILE_WIDTH
              ? sendImmutable(request, reply, immutable, key, bundle)
              : sendWithEtag(request, reply, "application/octet-stream", bundle, "no-cache");
          }
          if (!/^[0-9]{1,2}$/.test(head) || Number(head) > 7) {
            fail("GATEWAY_REQUEST_INVALID", "a tile level is 0 to 7, or `entries`", {
              level: head,
            });
          }
          const level = Number(head);
          const hashes = await log.nodes(8 * level, start, start + width);
          if (hashes.length !== width) return missing("tile");
          const tile = Buffer.concat(hashes.map((h) => Buffer.from(h)));
          return width === TILE_WIDTH
            ? sendImmutable(request, reply, immutable, key, tile)
            : sendWithEtag(request, reply, "application/octet-stream", tile, "no-cache");
        }),
    );
  }
}
