/**
 * Issue 18 (GAS18): the anchoring service sends new logs through `anchorGroup`
 * (one storage write per transaction, history in events), a log family as one
 * group named by shard 0's origin; a log with a legacy (storage) history on
 * chain keeps the legacy `anchor`/`anchorBatch` path.
 */
import { groupIdOf, groupStateHash, logIdOf } from "@chaoscore/chain";
import { bytesToHex } from "@chaoscore/core";
import { openAnchoringTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { useTestChain } from "@chaoscore/testkit/chain";
import { describe, expect, it } from "vitest";

const chain = useTestChain();
const ZERO = `0x${"0".repeat(64)}`;

describe(`anchoring through anchorGroup (${TEST_DB_KIND}, anvil)`, () => {
  it("anchors a new family as one group: no storage history, events, the state hash on chain", async () => {
    const t = await openAnchoringTestEngine(chain, { name: "group", shards: { maxEntries: 4 } });
    try {
      const { anchor } = chain.contracts;
      const shard1 = `${t.origin}/s1`;
      const agent = await t.newAgent();
      for (let i = 0; i < 6; i++) await t.engine.agency.recordAction(agent.action());
      const record = await t.anchoring.anchorNow({ wait: true });
      expect(record).toMatchObject({ logId: "default-s1", size: 3, status: "final" });
      const receipt = await chain.client.getTransactionReceipt(record?.txHash as `0x${string}`);
      const names = anchor.decodeEvents(receipt!).map((e) => e.name);
      expect(names).toContain("GroupAnchored");
      // shard 0 is frozen at 4 and anchored at its final size: it leaves the live state
      expect(names.filter((n) => n === "GroupRetired")).toHaveLength(1);
      for (const origin of [t.origin, shard1]) {
        expect(await anchor.groupOf(origin)).toBe(groupIdOf(t.origin));
        expect((await anchor.read("count", [logIdOf(origin)]))[0]).toBe(0n); // no storage
      }
      expect(await anchor.groupState(t.origin)).toBe(
        groupStateHash(await anchor.rebuildGroupState(t.origin)),
      );
      // the next pass extends shard 1 with a consistency proof, in the same group
      await t.engine.agency.recordAction(agent.action());
      const next = await t.anchoring.anchorNow({ wait: true });
      expect(next).toMatchObject({ logId: "default-s1", size: 4, status: "final", index: 1 });
      expect((await anchor.history(shard1)).map((cp) => Number(cp.size))).toEqual([3, 4]);
      expect((await anchor.history(t.origin)).map((cp) => Number(cp.size))).toEqual([4]);
      const state = await anchor.rebuildGroupState(t.origin);
      expect(state.map((s) => [s.logId, s.count, s.size])).toEqual([[logIdOf(shard1), 2n, 4n]]);
      expect(await anchor.groupState(t.origin)).toBe(groupStateHash(state));
    } finally {
      await t.close();
    }
  });

  it("keeps the legacy path for a log with a storage history on chain", async () => {
    const t = await openAnchoringTestEngine(chain, { name: "legacy" });
    try {
      const { anchor } = chain.contracts;
      const agent = await t.newAgent();
      await t.engine.agency.recordAction(agent.action());
      const cp = await t.engine.log.checkpoint();
      // an existing deployment: its first checkpoint anchored by the legacy `anchor`
      await (
        await anchor.anchor({ origin: t.origin, size: cp.size, root: bytesToHex(cp.rootHash) })
      ).wait();
      await t.engine.agency.recordAction(agent.action());
      const record = await t.anchoring.anchorNow({ wait: true });
      expect(record).toMatchObject({ size: cp.size + 1, status: "final", index: 1 });
      expect((await anchor.read("count", [logIdOf(t.origin)]))[0]).toBe(2n);
      expect(await anchor.groupOf(t.origin)).toBe(ZERO);
      expect(await anchor.groupState(t.origin)).toBe(ZERO);
    } finally {
      await t.close();
    }
  });
});
