/**
 * Issue 18 item 3: a sharded log family is anchored whole — the new
 * checkpoints of every shard in ONE `anchorBatch` transaction, a frozen shard
 * once at its final size, and receipts of every shard carry their anchor.
 */
import { logIdOf, verifyReceiptAnchor } from "@chaoscore/chain";
import { verifyReceipt } from "@chaoscore/core";
import { openAnchoringTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { useTestChain } from "@chaoscore/testkit/chain";
import { describe, expect, it } from "vitest";
import { StoredAnchorDirectory } from "./stored-anchor-directory.js";

const chain = useTestChain();

/** The receipt's anchor checked against the test chain's contract. */
function anchorOnChain(receipt: Parameters<typeof verifyReceiptAnchor>[0], trustedLogKey: string) {
  return verifyReceiptAnchor(receipt, {
    client: chain.client,
    trusted: [
      { chainId: chain.anvil.chainId.toString(), contract: chain.contracts.anchor.address },
    ],
    trustedLogKey,
  });
}

type AnchorRow = { log_id: string; size: number; tx_hash: string | null; status: string };

describe(`anchoring a log family (${TEST_DB_KIND}, anvil)`, () => {
  it("anchors every shard in one transaction, a frozen shard once; receipts of each shard carry their anchor", async () => {
    const t = await openAnchoringTestEngine(chain, { name: "shards", shards: { maxEntries: 4 } });
    try {
      const shard1 = `${t.origin}/s1`;
      const sizes = async (origin: string) =>
        (await chain.contracts.anchor.history(origin)).map((cp) => Number(cp.size));
      const rows = async () =>
        (
          await t.engine.db.query<AnchorRow>(
            "SELECT log_id, size::int AS size, tx_hash, status FROM anchors ORDER BY log_id, size",
          )
        ).map((r) => ({ ...r, size: Number(r.size) }));

      const agent = await t.newAgent();
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await t.engine.agency.recordAction(agent.action()));
      expect(results.map((r) => r.log)).toEqual([
        "default",
        "default",
        "default",
        "default",
        "default-s1",
        "default-s1",
      ]);

      // One pass: shard 0 at its final size 4 and shard 1 at 3 (link entry + 2), in one transaction.
      expect(await t.anchoring.anchorNow({ wait: true })).toMatchObject({
        logId: "default-s1",
        size: 3,
        status: "final",
      });
      expect(await sizes(t.origin)).toEqual([4]);
      expect(await sizes(shard1)).toEqual([3]);
      let anchors = await rows();
      expect(anchors.map((r) => [r.log_id, r.size])).toEqual([
        ["default", 4],
        ["default-s1", 3],
      ]);
      expect(anchors[0]?.tx_hash).not.toBeNull();
      expect(anchors[0]?.tx_hash).toBe(anchors[1]?.tx_hash);
      // each shard's records (what a follower gateway waits on after a rotation)
      expect((await t.anchoring.records()).map((r) => [r.logId, r.size])).toEqual([["default", 4]]);
      expect((await t.anchoring.records("default-s1")).map((r) => [r.logId, r.size])).toEqual([
        ["default-s1", 3],
      ]);
      await expect(t.anchoring.records("default-s9")).rejects.toMatchObject({
        code: "LOG_NOT_FOUND",
      });
      // GET /v1/log/anchors lists the family's anchors, every shard's, newest first
      const directory = new StoredAnchorDirectory({
        db: t.engine.db,
        log: t.engine.log,
        family: t.engine.logs,
      });
      expect((await directory.list()).map((r) => [r.logId, r.size])).toEqual([
        ["default-s1", 3],
        ["default", 4],
      ]);

      // Nothing new: nothing sent.
      const block = await chain.client.getBlockNumber();
      const before = await rows();
      await t.anchoring.anchorNow({ wait: true });
      expect(await chain.client.getBlockNumber()).toBe(block);
      expect(await rows()).toEqual(before);

      // The active shard grows; the frozen one is never sent again.
      await t.engine.agency.recordAction(agent.action());
      await t.anchoring.anchorNow({ wait: true });
      expect(await sizes(t.origin)).toEqual([4]);
      expect(await sizes(shard1)).toEqual([3, 4]);
      anchors = await rows();
      expect(anchors.filter((r) => r.log_id === "default")).toHaveLength(1);
      await t.anchoring.reconcile();

      // A receipt of shard 1 names shard 1's anchor, verifies under the family key and on chain.
      const receipt = await t.engine.agency.getReceipt(results[5]!.id);
      expect(receipt.anchor?.logId).toBe(logIdOf(shard1));
      expect(verifyReceipt(receipt, t.verifierKey).shard?.number).toBe(1);
      const onChain = await anchorOnChain(receipt, t.verifierKey);
      expect(onChain).not.toBeNull();
      // And one of shard 0 names shard 0's.
      const first = await t.engine.agency.getReceipt(results[0]!.id);
      expect(first.anchor?.logId).toBe(logIdOf(t.origin));
    } finally {
      await t.close();
    }
  });

  it("records each shard's own anchor index from a batch (not the first log's)", async () => {
    const t = await openAnchoringTestEngine(chain, { name: "indexes", shards: { maxEntries: 4 } });
    try {
      const agent = await t.newAgent();
      const ids: string[] = [];
      const record = async (n: number) => {
        for (let i = 0; i < n; i++)
          ids.push((await t.engine.agency.recordAction(agent.action())).id);
      };
      // Shard 0 anchored alone at 2 (its index 0); then it freezes at 4 and shard 1 starts.
      await record(2);
      await t.anchoring.anchorNow({ wait: true });
      await record(3);
      // One batch: shard 0 at 4 (its index 1) and shard 1 at 2 (its index 0).
      await t.anchoring.anchorNow({ wait: true });
      await t.anchoring.reconcile();
      const rows = await t.engine.db.query<{
        log_id: string;
        size: number;
        idx: number;
        tx: string;
      }>(
        "SELECT log_id, size::int AS size, anchor_index::int AS idx, tx_hash AS tx FROM anchors ORDER BY log_id, size",
      );
      expect(rows.map((r) => [r.log_id, Number(r.size), Number(r.idx)])).toEqual([
        ["default", 2, 0],
        ["default", 4, 1],
        ["default-s1", 2, 0],
      ]);
      expect(rows[1]?.tx).toBe(rows[2]?.tx);
      // The shard-1 receipt's anchor names a checkpoint the contract holds.
      const receipt = await t.engine.agency.getReceipt(ids[4] as string);
      expect(receipt.anchor?.index).toBe(0);
      const onChain = await anchorOnChain(receipt, t.verifierKey);
      expect(onChain).not.toBeNull();
    } finally {
      await t.close();
    }
  });
});
