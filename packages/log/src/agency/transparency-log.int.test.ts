import { randomBytes } from "node:crypto";
import {
  CompactRange,
  generateNoteKey,
  leafHash,
  openCheckpoint,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from "@chaoscore/core";
import { openTestDb, TEST_DB_KIND } from "@chaoscore/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Db } from "../store/db.js";
import { LOG_MIGRATIONS } from "../store/migrations.js";
import { logReadingFrom } from "../store/read-replica.js";
import { HighNodeCache } from "./high-node-cache.js";
import { TileNodeCache } from "./tile-node-cache.js";
import { TransparencyLog } from "./transparency-log.js";

const runs = process.env.CI ? 40 : 10;

describe(`TransparencyLog on ${TEST_DB_KIND}`, () => {
  let db: Db;
  let drop: () => Promise<void>;
  let n = 0;
  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
  });
  afterAll(() => drop());

  async function freshLog() {
    n++;
    const origin = `chaoscore.test/log/${n}`;
    return TransparencyLog.open(db, { id: `log${n}`, origin, ...generateNoteKey(origin) });
  }

  /** The same log on `on` (default the test's database), with nothing in memory. */
  function coldCopy(log: TransparencyLog, on: Db = db) {
    const { id, origin, verifierKey } = log;
    return TransparencyLog.attach(on, { id, origin, verifierKey, signerKey: "unused" });
  }

  async function append(
    log: TransparencyLog,
    entries: Uint8Array[],
    leafHashes?: (Uint8Array | undefined)[],
  ) {
    const r = await db.transaction((tx) =>
      log.appendInTransaction(tx, entries, undefined, leafHashes),
    );
    r.commit();
    return r;
  }

  it("proves every leaf and every pair of sizes from stored nodes, batch after batch", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.boolean(),
        async (batches, forgetFrontier, someHashesGiven) => {
          const log = await freshLog();
          const leaves: Uint8Array[] = [];
          for (const size of batches) {
            const entries = Array.from({ length: size }, () =>
              Uint8Array.from(randomBytes(1 + (size % 50))),
            );
            // as the signature workers give them: for some entries, computed from the same bytes
            const given = someHashesGiven
              ? entries.map((e, i) => (i % 2 === 0 ? leafHash(e) : undefined))
              : undefined;
            const { firstIndex } = await append(log, entries, given);
            expect(firstIndex).toBe(leaves.length);
            leaves.push(...entries);
            // A writer that restarts rebuilds its frontier from the stored nodes.
            if (forgetFrontier) (log as unknown as { frontier: undefined }).frontier = undefined;
          }
          const hashes = leaves.map(leafHash);
          const size = leaves.length;
          expect(await log.size()).toBe(size);
          for (let m = 1; m <= size; m += Math.max(1, Math.floor(size / 7))) {
            const root = rootFromLeafHashes(hashes.slice(0, m));
            expect(await log.rootAt(m)).toEqual(root);
            for (let i = 0; i < m; i += Math.max(1, Math.floor(m / 5))) {
              verifyInclusion(hashes[i]!, i, m, await log.inclusionProof(i, m), root);
            }
            verifyConsistency(
              m,
              size,
              await log.consistencyProof(m, size),
              root,
              rootFromLeafHashes(hashes),
            );
          }
        },
      ),
      { numRuns: runs },
    );
  });

  it("signs checkpoints of the current tree and reuses them until it grows", async () => {
    const log = await freshLog();
    const empty = await log.checkpoint();
    expect(empty.size).toBe(0);
    await append(log, [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
    const cp = await log.checkpoint();
    const opened = openCheckpoint(cp.note, log.verifierKey);
    expect(opened).toMatchObject({ origin: log.origin, size: 3 });
    expect(opened.rootHash).toEqual(
      rootFromLeafHashes([1, 2, 3].map((b) => leafHash(Uint8Array.of(b)))),
    );
    expect(await log.checkpoint()).toEqual(cp);
    expect(await log.checkpointCovering(2)).toEqual(cp);
    expect((await log.checkpoints()).map((c) => c.size)).toEqual([0, 3]);
  });

  it("refuses proofs beyond the log and a reopened log with another key", async () => {
    const log = await freshLog();
    await append(log, [Uint8Array.of(1)]);
    await expect(log.inclusionProof(0, 2)).rejects.toMatchObject({
      code: "MERKLE_INDEX_OUT_OF_RANGE",
    });
    await expect(log.inclusionProof(1, 1)).rejects.toMatchObject({
      code: "MERKLE_INDEX_OUT_OF_RANGE",
    });
    await expect(log.checkpointCovering(5)).rejects.toMatchObject({
      code: "MERKLE_INDEX_OUT_OF_RANGE",
    });
    await expect(
      TransparencyLog.open(db, { id: log.id, origin: log.origin, ...generateNoteKey(log.origin) }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("never proves a tree larger than the log: the leaf (0, size − 1) is read with the proof", async () => {
    const log = await freshLog();
    await append(log, [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
    // For the last leaf the plan's nodes cover [0, size − 1) only: all of them exist.
    await expect(log.inclusionProof(3, 4)).rejects.toMatchObject({
      code: "MERKLE_INDEX_OUT_OF_RANGE",
      details: { size: 4, current: 3 },
    });
    await expect(log.consistencyProof(3, 4)).rejects.toMatchObject({
      code: "MERKLE_INDEX_OUT_OF_RANGE",
      details: { size: 4, current: 3 },
    });
    await expect(log.consistencyProof(4, 4)).rejects.toMatchObject({
      code: "MERKLE_INDEX_OUT_OF_RANGE",
    });
    // After the tree of 3 was proved, 4 is still refused; after it grows, 4 is proved.
    expect(await log.inclusionProof(2, 3)).toHaveLength(1);
    await expect(log.inclusionProof(3, 4)).rejects.toMatchObject({
      code: "MERKLE_INDEX_OUT_OF_RANGE",
    });
    await append(log, [Uint8Array.of(4)]);
    const hashes = [1, 2, 3, 4].map((b) => leafHash(Uint8Array.of(b)));
    const root = rootFromLeafHashes(hashes);
    verifyInclusion(hashes[3]!, 3, 4, await log.inclusionProof(3, 4), root);
    verifyConsistency(
      3,
      4,
      await log.consistencyProof(3, 4),
      rootFromLeafHashes(hashes.slice(0, 3)),
      root,
    );
    for (const bad of [Number.NaN, -1, 2 ** 53]) {
      await expect(log.consistencyProof(1, bad)).rejects.toMatchObject({
        code: "MERKLE_INDEX_OUT_OF_RANGE",
      });
    }
  });

  it("a reader on another database (a replica) that has a smaller tree refuses what the primary proved", async () => {
    n++;
    const origin = `chaoscore.test/log/${n}`;
    const options = { id: `log${n}`, origin, ...generateNoteKey(origin) };
    const log = await TransparencyLog.open(db, options);
    await append(log, [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
    expect(await log.inclusionProof(2, 3)).toHaveLength(1);
    // The "replica": the same log with only its first leaf.
    const other = await openTestDb();
    try {
      const behind = await TransparencyLog.open(other.db, options);
      const r = await other.db.transaction((tx) =>
        behind.appendInTransaction(tx, [Uint8Array.of(1)]),
      );
      r.commit();
      const reader = logReadingFrom(log, other.db);
      await expect(reader.inclusionProof(2, 3)).rejects.toMatchObject({
        code: "MERKLE_INDEX_OUT_OF_RANGE",
        details: { size: 3, current: 1 },
      });
      await expect(reader.consistencyProof(1, 3)).rejects.toMatchObject({
        code: "MERKLE_INDEX_OUT_OF_RANGE",
      });
      expect(await reader.inclusionProof(0, 1)).toEqual([]);
      // Held in memory from the primary (the full tile 1 holds leaf 511): still read here.
      const more = Array.from({ length: 509 }, (_, i) => Uint8Array.of(9, i % 256, i >> 8));
      await append(log, more);
      expect(await log.inclusionProof(300, 512)).toHaveLength(9);
      const r2 = await other.db.transaction((tx) =>
        behind.appendInTransaction(tx, [Uint8Array.of(2), Uint8Array.of(3), ...more.slice(0, 508)]),
      );
      r2.commit();
      expect(await reader.size()).toBe(511);
      await expect(reader.inclusionProof(300, 512)).rejects.toMatchObject({
        code: "MERKLE_INDEX_OUT_OF_RANGE",
        details: { size: 512, current: 511 },
      });
      await expect(reader.consistencyProof(300, 512)).rejects.toMatchObject({
        code: "MERKLE_INDEX_OUT_OF_RANGE",
      });
    } finally {
      await other.drop();
    }
  });

  it("keeps complete subtrees of 256 leaves and up in memory, bounded, and proves from them", async () => {
    const log = await freshLog();
    const entries = Array.from({ length: 700 }, (_, i) => Uint8Array.of(i % 256, i >> 8));
    await append(log, entries);
    const hashes = entries.map(leafHash);
    const root = rootFromLeafHashes(hashes);
    const cache = (log as unknown as { highNodes: HighNodeCache }).highNodes;
    expect(cache.size).toBe(0);
    verifyInclusion(hashes[3]!, 3, 700, await log.inclusionProof(3, 700), root);
    // leaf 3 in 700: the siblings at levels ≥ 8 are (8, 1) and (9, 1) is not complete; (8, 1) is.
    expect(cache.size).toBeGreaterThan(0);
    const held = cache.size;
    // Proved again, now with the cached nodes; and other leaves on both sides of them.
    for (const i of [3, 255, 256, 511, 512, 699]) {
      verifyInclusion(hashes[i]!, i, 700, await log.inclusionProof(i, 700), root);
    }
    expect(cache.size).toBeGreaterThanOrEqual(held);
    // Tiles 0 and 1 are full: their nodes are held; a repeated proof reads nothing.
    const tiles = (log as unknown as { tileNodes: TileNodeCache }).tileNodes;
    expect(tiles.size).toBe(2);
    // In the tree of 512 (seen: 700 was), every node is in a full tile or at level 8.
    const root512 = rootFromLeafHashes(hashes.slice(0, 512));
    const query = vi.spyOn(db, "query");
    try {
      verifyInclusion(hashes[300]!, 300, 512, await log.inclusionProof(300, 512), root512);
      verifyConsistency(
        300,
        512,
        await log.consistencyProof(300, 512),
        rootFromLeafHashes(hashes.slice(0, 300)),
        root512,
      );
      expect(query).not.toHaveBeenCalled();
      // The nodes at the right edge of 700 (in its partial tile 2) were read before: none.
      verifyInclusion(hashes[300]!, 300, 700, await log.inclusionProof(300, 700), root);
      expect(query).not.toHaveBeenCalled();
      // A larger tree than seen is checked again, and refused.
      await expect(log.inclusionProof(3, 701)).rejects.toMatchObject({
        code: "MERKLE_INDEX_OUT_OF_RANGE",
      });
      expect(query).toHaveBeenCalled();
    } finally {
      query.mockRestore();
    }
    // With both caches warm, every leaf and size still proves against the roots.
    for (let i = 0; i < 700; i += 7) {
      verifyInclusion(hashes[i]!, i, 700, await log.inclusionProof(i, 700), root);
      verifyConsistency(
        i + 1,
        700,
        await log.consistencyProof(i + 1, 700),
        rootFromLeafHashes(hashes.slice(0, i + 1)),
        root,
      );
    }
    const small = new TileNodeCache(1);
    small.set(0, hashes.slice(0, 256));
    small.set(1, hashes.slice(256, 512));
    small.set(2, hashes.slice(512, 700));
    expect(small.size).toBe(1);
    expect(small.get(0, 0)).toBeUndefined();
    expect(small.get(0, 300)).toEqual(hashes[300]);
    expect(small.get(7, 2)).toEqual(rootFromLeafHashes(hashes.slice(256, 384)));
    const bounded = new HighNodeCache(2);
    bounded.set(8, 0, hashes[0]!);
    bounded.set(8, 1, hashes[1]!);
    bounded.set(9, 0, hashes[2]!);
    expect(bounded.size).toBe(2);
    expect(bounded.get(8, 0)).toBeUndefined();
    expect(bounded.get(9, 0)).toEqual(hashes[2]);
  });

  it("stores the nodes of the tile levels 0 and 8 only, and proves and reads the others from them", async () => {
    const log = await freshLog();
    const leaves: Uint8Array[] = [];
    // Batches that cross tile boundaries, the frontier rebuilt from storage between some.
    for (const [i, size] of [200, 56, 1, 300, 211, 532].entries()) {
      const entries = Array.from({ length: size }, (_, k) =>
        Uint8Array.of(leaves.length % 256, leaves.length >> 8, k),
      );
      await append(log, entries);
      leaves.push(...entries);
      if (i % 2 === 1) (log as unknown as { frontier: undefined }).frontier = undefined;
    }
    expect(leaves.length).toBe(1300);
    const levels = await db.query<{ level: number; n: number }>(
      "SELECT level, count(*)::int AS n FROM log_nodes WHERE log_id = $1 GROUP BY level ORDER BY level",
      [log.id],
    );
    expect(levels.map((r) => [Number(r.level), r.n])).toEqual([
      [0, 1300],
      [8, 5],
    ]);
    const hashes = leaves.map(leafHash);
    const root = rootFromLeafHashes(hashes);
    // A fresh object on the same rows holds nothing in memory: everything is read.
    const cold = coldCopy(log);
    for (const m of [1, 2, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1299, 1300]) {
      const rootM = rootFromLeafHashes(hashes.slice(0, m));
      expect(await cold.rootAt(m)).toEqual(rootM);
      for (const i of [0, 7, 128, 255, 256, 600, 1024, 1299].filter((x) => x < m)) {
        verifyInclusion(hashes[i]!, i, m, await cold.inclusionProof(i, m), rootM);
      }
      verifyConsistency(m, 1300, await cold.consistencyProof(m, 1300), rootM, root);
    }
    // Any level is read: the stored ones as they are, the others computed up to the first incomplete.
    expect(await cold.nodes(0, 1290, 1310)).toEqual(hashes.slice(1290, 1300));
    expect(await cold.nodes(3, 0, 200)).toEqual(
      Array.from({ length: 162 }, (_, k) => rootFromLeafHashes(hashes.slice(k * 8, k * 8 + 8))),
    );
    expect(await cold.nodes(9, 1, 3)).toEqual([rootFromLeafHashes(hashes.slice(512, 1024))]);
    expect(await cold.nodes(8, 0, 9)).toHaveLength(5);
    // A stored leaf hash missing (a damaged database): the subtrees over it are not complete, and
    // a proof that needs it names it.
    await db.query("DELETE FROM log_nodes WHERE log_id = $1 AND level = 0 AND idx = 1100", [
      log.id,
    ]);
    expect(await cold.nodes(4, 68, 70)).toEqual([]);
    // the rest of a range with a gap is still read (node by node): up to the gap
    expect(await cold.nodes(0, 1095, 1105)).toEqual(hashes.slice(1095, 1100));
    expect(await cold.nodes(0, 1101, 1105)).toEqual(hashes.slice(1101, 1105));
    const damaged = coldCopy(log);
    await expect(damaged.inclusionProof(1101, 1300)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringContaining("node (0, 1100) is missing"),
    });
  });

  it("reads stored nodes through the primary key, range by range, also once ANALYZE has run", async () => {
    const log = await freshLog();
    for (let k = 0; k < 8; k++) {
      await append(
        log,
        Array.from({ length: 2500 }, (_, i) => Uint8Array.of(k, i >> 8, i & 255)),
      );
    }
    // Statistics say almost every node is at level 0: a join on the ranges then looked cheap to hash.
    await db.exec("ANALYZE log_nodes");
    const statements: { sql: string; params: unknown[] }[] = [];
    const spy: Db = Object.create(db, {
      query: {
        value: (sql: string, params: unknown[] = []) => {
          statements.push({ sql, params });
          return db.query(sql, params);
        },
      },
    });
    const cold = coldCopy(log, spy);
    const root = await cold.rootAt(20_000);
    verifyInclusion(
      leafHash(Uint8Array.of(4, 9, 195)),
      4 * 2500 + 2499,
      20_000,
      await cold.inclusionProof(4 * 2500 + 2499, 20_000),
      root,
    );
    const read = statements.filter((s) => s.sql.includes("FROM log_nodes"));
    expect(read.length).toBeGreaterThan(0);
    for (const { sql, params } of read) {
      const [plan] = await db.query<{ "QUERY PLAN": unknown }>(
        `EXPLAIN (FORMAT JSON) ${sql}`,
        params,
      );
      const text = JSON.stringify(plan?.["QUERY PLAN"]);
      expect(text).toContain("log_nodes_pkey");
      expect(text).not.toContain("Seq Scan");
      expect(text).not.toContain("Hash Join");
    }
  });

  it("migration 14 drops the nodes between the tile levels of a log written before it", async () => {
    const log = await freshLog();
    const entries = Array.from({ length: 600 }, (_, i) => Uint8Array.of(i % 256, i >> 8));
    await append(log, entries);
    const hashes = entries.map(leafHash);
    // What appends stored before version 14: every complete subtree.
    const range = new CompactRange();
    const levels: number[] = [];
    const indices: number[] = [];
    const stored: string[] = [];
    for (const h of hashes) {
      for (const node of range.append(h)) {
        if (node.level % 8 === 0) continue;
        levels.push(node.level);
        indices.push(node.index);
        stored.push(Buffer.from(node.hash).toString("hex"));
      }
    }
    await db.query(
      `INSERT INTO log_nodes (log_id, level, idx, hash)
       SELECT $1, u.level, u.idx, decode(u.hash, 'hex') FROM unnest($2::smallint[], $3::bigint[], $4::text[]) AS u(level, idx, hash)`,
      [log.id, levels, indices, stored],
    );
    const count = async () =>
      (
        await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM log_nodes WHERE log_id = $1",
          [log.id],
        )
      )[0]?.n;
    expect(await count()).toBe(600 + 2 + levels.length);
    await db.exec(LOG_MIGRATIONS.find((m) => m.version === 14)?.sql ?? "missing");
    expect(await count()).toBe(602);
    const root = rootFromLeafHashes(hashes);
    (log as unknown as { frontier: undefined }).frontier = undefined;
    expect(await log.rootAt(600)).toEqual(root);
    verifyInclusion(hashes[599]!, 599, 600, await log.inclusionProof(599, 600), root);
  });

  it("migration 15 computes levels 12, 20, … of a log written before it, as appends store them", async () => {
    const log = await freshLog();
    const entries = Array.from({ length: 3 * 4096 + 700 }, (_, i) =>
      Uint8Array.of(i % 256, i >> 8),
    );
    for (let i = 0; i < entries.length; i += 2000) await append(log, entries.slice(i, i + 2000));
    const level12 = async () =>
      (
        await db.query<{ idx: number; hash: string }>(
          `SELECT idx, encode(hash, 'hex') AS hash FROM log_nodes
           WHERE log_id = $1 AND level = 12 ORDER BY idx`,
          [log.id],
        )
      ).map((r) => [Number(r.idx), r.hash]);
    const written = await level12();
    // three complete subtrees of 4,096 leaves; the fourth is not complete
    expect(written.map(([idx]) => idx)).toEqual([0, 1, 2]);
    const hashes = entries.map(leafHash);
    expect(written[1]?.[1]).toBe(
      Buffer.from(rootFromLeafHashes(hashes.slice(4096, 8192))).toString("hex"),
    );
    // What appends stored before version 15: no level 12.
    await db.query("DELETE FROM log_nodes WHERE log_id = $1 AND level = 12", [log.id]);
    await db.exec(LOG_MIGRATIONS.find((m) => m.version === 15)?.sql ?? "missing");
    expect(await level12()).toEqual(written);
    const root = rootFromLeafHashes(hashes);
    const cold = coldCopy(log);
    for (const index of [5000, 12_287, entries.length - 1]) {
      verifyInclusion(
        hashes[index]!,
        index,
        entries.length,
        await cold.inclusionProof(index, entries.length),
        root,
      );
    }
  });

  it("takes the leaf hashes it is given as they are (they are computed from the same bytes)", async () => {
    const log = await freshLog();
    const entries = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
    const given = [leafHash(Uint8Array.of(9)), undefined, leafHash(Uint8Array.of(8))];
    await append(log, entries, given);
    const hashes = [given[0], leafHash(Uint8Array.of(2)), given[2]] as Uint8Array[];
    expect(await log.rootAt(3)).toEqual(rootFromLeafHashes(hashes));
  });

  it("a rolled-back append leaves nothing behind and the next append continues correctly", async () => {
    const log = await freshLog();
    await append(log, [Uint8Array.of(1)]);
    await expect(
      db.transaction(async (tx) => {
        await log.appendInTransaction(tx, [Uint8Array.of(2), Uint8Array.of(3)]);
        throw new Error("abort");
      }),
    ).rejects.toThrow();
    expect(await log.size()).toBe(1);
    await append(log, [Uint8Array.of(4)]);
    const root = rootFromLeafHashes([1, 4].map((b) => leafHash(Uint8Array.of(b))));
    expect(await log.rootAt(2)).toEqual(root);
  });
});
