/**
 * `chaoscore log audit` against the chain checks the STORED anchor records too (AUDIT18): the
 * rows served at /v1/log/anchors and put into receipts must name checkpoints the contract holds
 * for their shard. A rotated family anchored twice (shard 0 at indexes 0 and 1, then shard 1 at
 * index 0 in the same batch as shard 0's second anchor) audits clean; a record given another
 * shard's index — what the batch-anchor bug fixed in c3ba2b4 stored — is a finding naming the
 * shard. Always PGlite, a real anvil.
 */
import { join } from "node:path";
import { openDatabase } from "@chaoscore/log";
import { describe, expect, it } from "vitest";
import { chainDataDir } from "./test-support/chain-data-dir.js";
import { cli, expectCode } from "./test-support/run-cli.js";

const data = chainDataDir("anchor-records");

/** Runs SQL on the data data.dir's PGlite database (no CLI command holds it meanwhile). */
async function sql<T extends Record<string, unknown>>(text: string): Promise<T[]> {
  const db = await openDatabase({ databaseUrl: null, dataDir: join(data.dir, "pgdata") });
  try {
    return await db.query<T>(text);
  } finally {
    await db.close();
  }
}

type Audit = {
  ok: boolean;
  chain: {
    anchored: number;
    records: number;
    shards: { id: string; anchored: number; records: number }[];
  };
  findings: { index: number; kind: string; message: string; anchorId?: number }[];
};

describe("log audit: stored anchor records against the chain", () => {
  it("is clean on a rotated family anchored in batches; a record naming another shard's index is found and repaired", async () => {
    const run = (...args: string[]) => cli("--data-dir", data.dir, ...args);
    const audit = async (code: number) =>
      JSON.parse(expectCode(await run("log", "audit", "--json"), code).stdout) as Audit;
    expectCode(await run("agent", "register", "--name", "records"), 0);
    process.env.CHAOSCORE_SHARD_MAX_ENTRIES = "3";
    try {
      const record = async (i: number) =>
        expectCode(
          await run("action", "record", "--type", "t", "--payload", `{"i":${i}}`, "--json"),
          0,
        );
      // shard 0 anchored alone at size 2 (its checkpoint 0) ...
      for (let i = 0; i < 2; i++) await record(i);
      expectCode(await run("anchor", "--wait", "--json"), 0);
      // ... then shard 0 at size 3 (its checkpoint 1) and shard 1 at size 3 (its checkpoint 0)
      for (let i = 2; i < 5; i++) await record(i);
      // --wait follows shard 1's record (the newest); it was reconciled under shard 0's origin,
      // whose Anchored event of the same size gave it index 1, until AUDIT18's fix
      const second = JSON.parse(expectCode(await run("anchor", "--wait", "--json"), 0).stdout) as {
        checkpoint: { logId: string; size: number; index: number; status: string };
      };
      expect(second.checkpoint).toMatchObject({
        logId: "default-s1",
        size: 3,
        index: 0,
        status: "final",
      });
      // once more: it reconciles shard 0's record of the same transaction to final
      expectCode(await run("anchor", "--wait", "--json"), 0);
    } finally {
      delete process.env.CHAOSCORE_SHARD_MAX_ENTRIES;
    }
    const rows = await sql<{ id: number; log_id: string; size: number; anchor_index: number }>(
      "SELECT id, log_id, size, anchor_index FROM anchors WHERE status = 'final' ORDER BY log_id, size",
    );
    expect(rows.map((r) => [r.log_id, Number(r.size), Number(r.anchor_index)])).toEqual([
      ["default", 2, 0],
      ["default", 3, 1],
      ["default-s1", 3, 0],
    ]);

    const clean = await audit(0);
    expect(clean.ok).toBe(true);
    expect(clean.findings).toEqual([]);
    expect(clean.chain.records).toBe(3);
    expect(clean.chain.shards).toEqual([
      expect.objectContaining({ id: "default", anchored: 2, records: 2 }),
      expect.objectContaining({ id: "default-s1", anchored: 1, records: 1 }),
    ]);

    // As the old batch bug did: shard 1's record takes shard 0's index (1), which shard 1 lacks.
    const s1 = rows.find((r) => r.log_id === "default-s1") as { id: number };
    await sql(`UPDATE anchors SET anchor_index = 1 WHERE id = ${Number(s1.id)}`);
    const wrongShard = await audit(1);
    expect(wrongShard.findings).toEqual([
      expect.objectContaining({
        index: 3,
        kind: "anchor-record-not-on-chain",
        anchorId: Number(s1.id),
        message: expect.stringMatching(
          /^shard default-s1: anchor record \d+ \(size 3, tx 0x[0-9a-f]{64}\) names on-chain checkpoint 1, but the contract holds 1 .*at index 0$/,
        ),
      }),
    ]);
    // the text report names it too
    const text = expectCode(await run("log", "audit"), 1);
    expect(text.stdout).toMatch(
      /✗ anchored checkpoint \(size 3\) +anchor-record-not-on-chain +shard default-s1: /,
    );
    // --repair-anchors: the record takes the index the contract holds it at and is mined again ...
    const repair = JSON.parse(
      expectCode(await run("log", "audit", "--repair-anchors", "--json"), 1).stdout,
    ) as Audit & { repaired: { anchorId: number; from: number | null; to: number }[] };
    expect(repair.repaired).toEqual([{ anchorId: Number(s1.id), from: 1, to: 0 }]);
    const s1Row = async () =>
      (
        await sql<{ anchor_index: number; status: string }>(
          `SELECT anchor_index, status FROM anchors WHERE id = ${Number(s1.id)}`,
        )
      ).map((r) => [Number(r.anchor_index), r.status]);
    expect(await s1Row()).toEqual([[0, "mined"]]);
    // ... and the next reconcile (here of `chaoscore anchor`) re-reads its transaction: final again
    expectCode(await run("anchor", "--wait", "--json"), 0);
    expect(await s1Row()).toEqual([[0, "final"]]);
    expect((await audit(0)).findings).toEqual([]);

    // Shard 0's size-3 record names checkpoint 0, which the contract holds for size 2.
    const s0 = rows.find((r) => r.log_id === "default" && Number(r.size) === 3) as { id: number };
    await sql(`UPDATE anchors SET anchor_index = 0 WHERE id = ${Number(s0.id)}`);
    const wrongIndex = await audit(1);
    expect(wrongIndex.findings).toEqual([
      expect.objectContaining({
        index: 3,
        kind: "anchor-record-mismatch",
        anchorId: Number(s0.id),
        message: expect.stringMatching(
          /^anchor record \d+ .*names on-chain checkpoint 0, which is size 2 .*at index 1$/,
        ),
      }),
    ]);
    // A wrong block (the index right) is a mismatch as well.
    await sql(
      `UPDATE anchors SET anchor_index = 1, block_number = block_number + 1000 WHERE id = ${Number(s0.id)}`,
    );
    const wrongBlock = await audit(1);
    expect(wrongBlock.findings).toEqual([
      expect.objectContaining({
        kind: "anchor-record-mismatch",
        message: expect.stringMatching(/anchored in block \d+, but the record says block \d+$/),
      }),
    ]);
    await sql(`UPDATE anchors SET block_number = block_number - 1000 WHERE id = ${Number(s0.id)}`);
    expect((await audit(0)).findings).toEqual([]);
  }, 240_000);
});
