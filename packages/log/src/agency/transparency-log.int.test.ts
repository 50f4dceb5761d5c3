import { randomBytes } from "node:crypto";
import {
  generateNoteKey,
  leafHash,
  openCheckpoint,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from "@chaoscore/core";
import { openTestDb, TEST_DB_KIND } from "@chaoscore/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../store/db.js";
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

  async function append(log: TransparencyLog, entries: Uint8Array[]) {
    const r = await db.transaction((tx) => log.appendInTransaction(tx, entries));
    r.commit();
    return r;
  }

  it("proves every leaf and every pair of sizes from stored nodes, batch after batch", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (batches, forgetFrontier) => {
          const log = await freshLog();
          const leaves: Uint8Array[] = [];
          for (const size of batches) {
            const entries = Array.from({ length: size }, () =>
              Uint8Array.from(randomBytes(1 + (size % 50))),
            );
            const { firstIndex } = await append(log, entries);
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
