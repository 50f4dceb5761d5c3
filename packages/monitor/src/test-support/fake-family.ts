/**
 * A log family that tests control, served over a real loopback port: shards
 * with their own keys (derived from the family key), certificates, link
 * entries and the routes the family monitor reads — `GET /v1/logs`,
 * `/v1/logs/<id>/checkpoint`, `/v1/logs/<id>/tile/...` and
 * `/v1/log/proofs/consistency?log=<id>`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  bytesToBase64,
  consistencyProofPlan,
  deriveShardKey,
  encodeShardLink,
  generateNoteKey,
  leafHash,
  resolveProof,
  rootFromLeafHashes,
  SHARD_LINK_FORMAT,
  signCheckpoint,
  signShardCertificate,
  TRUST_POLICY_FORMAT,
} from "@chaoscore/core";
import { makeEntries } from "@chaoscore/testkit/fake-log";

export const FAMILY_ORIGIN = "fake.chaoscore.test/family";
export const FAMILY_ID = "fam";
export const FAMILY_KEY = generateNoteKey(FAMILY_ORIGIN, new Uint8Array(32).fill(43));
export const familyPolicy = () => ({
  format: TRUST_POLICY_FORMAT,
  log: { key: FAMILY_KEY.verifierKey },
});

/** One shard: its entries (leaf 0 of shard n ≥ 1 is its link entry) and, when frozen, its final size. */
export type FakeShard = {
  entries: Uint8Array[];
  frozenSize?: number;
  /** Served instead of the real certificate (undefined: the real one; null: none). */
  certificate?: string | null;
};

export type FakeFamilyState = {
  shards: FakeShard[];
  /** Rewrites the served `GET /v1/logs` rows (a log that hides or repeats shards). */
  listing?: (logs: Record<string, unknown>[]) => Record<string, unknown>[];
};

export const shardIdOf = (n: number) => (n === 0 ? FAMILY_ID : `${FAMILY_ID}-s${n}`);
export const shardOriginOf = (n: number) => (n === 0 ? FAMILY_ORIGIN : `${FAMILY_ORIGIN}/s${n}`);
export function keyOf(n: number): { signerKey: string; verifierKey: string } {
  return n === 0 ? FAMILY_KEY : deriveShardKey(FAMILY_KEY.signerKey, shardOriginOf(n));
}
export function certificateOf(n: number): string {
  return signShardCertificate(FAMILY_KEY.signerKey, {
    familyOrigin: FAMILY_ORIGIN,
    shard: n,
    shardOrigin: shardOriginOf(n),
    shardVerifierKey: keyOf(n).verifierKey,
  });
}

/** The checkpoint note of shard n at `size`. */
export function checkpointOf(n: number, entries: readonly Uint8Array[], size: number): string {
  return signCheckpoint(
    {
      origin: shardOriginOf(n),
      size,
      rootHash: rootFromLeafHashes(entries.slice(0, size).map((e) => leafHash(e))),
      extensions: [],
    },
    keyOf(n).signerKey,
  );
}

/** The link entry of shard n ≥ 1 to its predecessor's checkpoint at `size`. */
export function linkEntry(n: number, previous: readonly Uint8Array[], size: number): Uint8Array {
  return encodeShardLink({
    format: SHARD_LINK_FORMAT,
    family: FAMILY_ORIGIN,
    shard: n,
    origin: shardOriginOf(n),
    previous: {
      origin: shardOriginOf(n - 1),
      size,
      rootHash: bytesToBase64(rootFromLeafHashes(previous.slice(0, size).map((e) => leafHash(e)))),
      checkpoint: checkpointOf(n - 1, previous, size),
    },
  });
}

/**
 * A family whose shards hold `sizes[i]` leaves; every shard but the last is
 * frozen at its size, and each successor's leaf 0 links to it.
 */
export function makeFamily(sizes: readonly number[]): FakeFamilyState {
  const shards: FakeShard[] = [];
  let nonce = 0;
  for (const [n, size] of sizes.entries()) {
    const entries: Uint8Array[] = [];
    if (n > 0) {
      const prev = shards[n - 1] as FakeShard;
      entries.push(linkEntry(n, prev.entries, prev.entries.length));
    }
    entries.push(...makeEntries(size - entries.length, nonce));
    nonce += size;
    shards.push({ entries, ...(n < sizes.length - 1 ? { frozenSize: size } : {}) });
  }
  return { shards };
}

const TILE = 256;
function parseIndex(path: string): { index: number; width: number } | null {
  const m = /^((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([0-9]{1,3}))?$/.exec(path);
  if (m === null) return null;
  const index = Number(`${(m[1] ?? "").replaceAll("x", "").replaceAll("/", "")}${m[2]}`);
  return { index, width: m[3] === undefined ? TILE : Number(m[3]) };
}

/** Starts the fake family on a free loopback port. */
export async function startFakeFamily(
  state: FakeFamilyState,
): Promise<{ url: string; state: FakeFamilyState; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const send = (status: number, body: Buffer | string, type = "application/octet-stream") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    const path = url.pathname;
    const byId = (id: string | null) => {
      const n = state.shards.findIndex((_, i) => shardIdOf(i) === id);
      return n < 0 ? undefined : { n, shard: state.shards[n] as FakeShard };
    };
    if (path === "/v1/logs") {
      const logs = state.shards.map((s, n) => {
        const certificate =
          s.certificate === undefined ? (n > 0 ? certificateOf(n) : undefined) : s.certificate;
        return {
          id: shardIdOf(n),
          origin: shardOriginOf(n),
          verifierKey: keyOf(n).verifierKey,
          shard: n,
          size: s.entries.length,
          state: s.frozenSize === undefined ? "active" : "frozen",
          createdAt: "2027-01-15T00:00:00.000Z",
          ...(s.frozenSize === undefined ? {} : { frozenSize: s.frozenSize }),
          ...(n < state.shards.length - 1 ? { successor: shardIdOf(n + 1) } : {}),
          ...(certificate == null ? {} : { certificate }),
        };
      });
      const served = state.listing === undefined ? logs : state.listing(logs);
      return send(200, JSON.stringify({ logs: served }), "application/json");
    }
    const m = /^\/v1\/logs\/([^/]+)\/(checkpoint|tile\/(.*))$/.exec(path);
    if (m !== null) {
      const found = byId(decodeURIComponent(m[1] as string));
      if (found === undefined) return send(404, "no such log", "text/plain");
      const { n, shard } = found;
      const size = shard.entries.length;
      if (m[2] === "checkpoint")
        return send(200, checkpointOf(n, shard.entries, size), "text/plain");
      const rest = m[3] as string;
      const slash = rest.indexOf("/");
      const head = rest.slice(0, slash);
      const at = parseIndex(rest.slice(slash + 1));
      if (at === null) return send(400, "bad tile path", "text/plain");
      const start = at.index * TILE;
      const leaves = shard.entries.map((e) => leafHash(e));
      if (head === "entries") {
        if (start + at.width > size) return send(404, "no such bundle", "text/plain");
        const parts: Buffer[] = [];
        for (const e of shard.entries.slice(start, start + at.width)) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(e.length);
          parts.push(len, Buffer.from(e));
        }
        return send(200, Buffer.concat(parts));
      }
      const level = Number(head);
      const per = 2 ** (8 * level);
      if ((start + at.width) * per > size) return send(404, "no such tile", "text/plain");
      const hashes: Buffer[] = [];
      for (let i = start; i < start + at.width; i++) {
        hashes.push(Buffer.from(rootFromLeafHashes(leaves.slice(i * per, (i + 1) * per))));
      }
      return send(200, Buffer.concat(hashes));
    }
    if (path === "/v1/log/proofs/consistency") {
      const found = byId(url.searchParams.get("log"));
      if (found === undefined) return send(404, "{}", "application/json");
      const leaves = found.shard.entries.map((e) => leafHash(e));
      const node = (level: number, index: number) =>
        rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
      const from = Number(url.searchParams.get("from"));
      const to = Number(url.searchParams.get("to"));
      if (!(from >= 1 && from <= to && to <= leaves.length))
        return send(400, "{}", "application/json");
      const proof = resolveProof(consistencyProofPlan(from, to), node);
      return send(
        200,
        JSON.stringify({ from, to, hashes: proof.map((h) => Buffer.from(h).toString("base64")) }),
        "application/json",
      );
    }
    return send(404, "not found", "text/plain");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
