/**
 * The log audit against the chain (issue 12 part 3) and in one snapshot (issue 19 item 16).
 * A rolled-back log (its last leaves deleted with their nodes, action rows, checkpoints and
 * anchor rows, `logs.size` lowered) and a log whose checkpoints were deleted both audit clean
 * against themselves; against the CheckpointAnchor contract they fail, naming the size.
 */
import { openAnchoringTestEngine, openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { useTestChain } from "@chaoscore/testkit/chain";
import { describe, expect, it } from "vitest";
import { auditAnchoredCheckpoints, type ChainCheckpoint, inSnapshot } from "./audit.js";
import { TransparencyLog } from "./transparency-log.js";

const chain = useTestChain();

/** An engine anchoring on the test chain: 10 actions anchored, then 3 more anchored (13). */
async function anchoredLog() {
  const t = await openAnchoringTestEngine(chain, { name: "audit" });
  const { origin, anchoring: service } = t;
  const agent = await t.newAgent();
  for (const n of [10, 3]) {
    for (let i = 0; i < n; i++) await t.engine.agency.recordAction(agent.action());
    expect(await service.anchorNow({ wait: true })).toMatchObject({ status: "final" });
  }
  const history = async (): Promise<ChainCheckpoint[]> =>
    (await chain.contracts.anchor.history(origin)).map((cp) => ({
      index: Number(cp.index),
      size: Number(cp.size),
      root: cp.root,
    }));
  return { ...t, origin, history };
}

describe(`auditAnchoredCheckpoints (${TEST_DB_KIND}, anvil)`, () => {
  it("is clean on an intact log; a rollback of the last three leaves fails at size 13", async () => {
    const t = await anchoredLog();
    try {
      const onChain = await t.history();
      expect(onChain.map((c) => c.size)).toEqual([10, 13]);
      expect(await auditAnchoredCheckpoints(t.engine.log, onChain)).toEqual([]);

      // The rollback of issue 12: leaves 10..12 with their nodes and rows, the checkpoints
      // and anchor rows beyond 10, and logs.size lowered.
      const db = t.engine.db;
      const id = t.engine.log.id;
      await db.query("DELETE FROM actions WHERE log_id = $1 AND leaf_index >= 10", [id]);
      await db.query("DELETE FROM log_leaves WHERE log_id = $1 AND idx >= 10", [id]);
      await db.query(
        "DELETE FROM log_nodes WHERE log_id = $1 AND (idx + 1) * (1::bigint << level) > 10",
        [id],
      );
      await db.query("DELETE FROM log_checkpoints WHERE log_id = $1 AND size > 10", [id]);
      await db.query("DELETE FROM anchors WHERE log_id = $1 AND size > 10", [id]);
      await db.query("UPDATE logs SET size = 10 WHERE id = $1", [id]);

      // Against itself the log is clean: this is the bug.
      const log = await reopen(t);
      const own = await t.engine.agency.audit();
      expect(own.findings).toEqual([]);
      expect(own.size).toBe(10);
      // Against the chain it is not.
      const findings = await auditAnchoredCheckpoints(log, onChain);
      expect(findings).toEqual([expect.objectContaining({ index: 13, kind: "anchor-beyond-log" })]);
      expect(findings[0]?.message).toContain("size 13");
    } finally {
      await t.close();
    }
  });

  it("fails when only the checkpoints (and anchor rows) were deleted, naming each size", async () => {
    const t = await anchoredLog();
    try {
      const id = t.engine.log.id;
      await t.engine.db.query("DELETE FROM anchors WHERE log_id = $1", [id]);
      await t.engine.db.query("DELETE FROM log_checkpoints WHERE log_id = $1", [id]);
      expect((await t.engine.agency.audit()).findings).toEqual([]);
      const findings = await auditAnchoredCheckpoints(await reopen(t), await t.history());
      expect(findings.map((f) => [f.index, f.kind])).toEqual([
        [10, "anchor-checkpoint-missing"],
        [13, "anchor-checkpoint-missing"],
      ]);
    } finally {
      await t.close();
    }
  });

  it("fails on a history the chain does not hold (another root at an anchored size)", async () => {
    const t = await anchoredLog();
    try {
      const onChain = await t.history();
      const forged = onChain.map((c) =>
        c.size === 10 ? { ...c, root: `0x${"ab".repeat(32)}` as const } : c,
      );
      const findings = await auditAnchoredCheckpoints(t.engine.log, forged);
      expect(findings.map((f) => [f.index, f.kind])).toEqual([[10, "anchor-root-mismatch"]]);
    } finally {
      await t.close();
    }
  });
});

describe(`inSnapshot (${TEST_DB_KIND})`, () => {
  it("audits one snapshot while appends commit concurrently", async () => {
    const t = await openTestEngine();
    try {
      const agent = await t.newAgent();
      for (let i = 0; i < 5; i++) await t.engine.agency.recordAction(agent.action());
      const writer = await t.newAgent();
      const appends: Promise<unknown>[] = [];
      const report = await inSnapshot(t.engine.db, async (tx) => {
        const log = await TransparencyLog.open(tx, logOptions(t));
        const size = await log.size();
        // Appends start now and (on a server) commit while the audit below reads.
        for (let i = 0; i < 5; i++) appends.push(t.engine.agency.recordAction(writer.action()));
        await new Promise((r) => setTimeout(r, 50));
        const audit = await log.audit(() => null);
        return { size, audit };
      });
      await Promise.all(appends);
      expect(report.audit.size).toBe(report.size);
      expect(report.audit.findings).toEqual([]);
      expect(await t.engine.log.size()).toBe(10);
    } finally {
      await t.close();
    }
  });
});

/** The engine's log options, read back (the test engine keeps them private). */
function logOptions(t: Awaited<ReturnType<typeof openTestEngine>>) {
  const log = t.engine.log as unknown as { signerKey: string };
  return {
    id: t.engine.log.id,
    origin: t.engine.log.origin,
    signerKey: log.signerKey,
    verifierKey: t.engine.log.verifierKey,
  };
}

/** A fresh log object over the tampered database (no cached frontier). */
async function reopen(t: Awaited<ReturnType<typeof openTestEngine>>): Promise<TransparencyLog> {
  return TransparencyLog.open(t.engine.db, logOptions(t));
}
