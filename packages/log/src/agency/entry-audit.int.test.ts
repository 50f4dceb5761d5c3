import { openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";

describe(`the audit of Proof of Agency on ${TEST_DB_KIND}`, () => {
  it("audit is clean, then names the index of rows edited, reordered or removed in the database", async () => {
    const t = await openTestEngine();
    try {
      const a = await t.newAgent();
      for (let i = 0; i < 12; i++) await t.engine.agency.recordAction(a.action({ payload: { i } }));
      await t.engine.log.checkpoint();
      expect((await t.engine.agency.audit()).findings).toEqual([]);

      // Edit the entry of leaf 5 (a different but well-formed entry).
      const [row] = await t.db.query<{ entry: Uint8Array }>(
        "SELECT entry FROM log_leaves WHERE idx = 5",
      );
      const edited = new TextDecoder().decode(row!.entry).replace('"test.act"', '"test.bad"');
      await t.db.query("UPDATE log_leaves SET entry = $1 WHERE idx = 5", [
        new TextEncoder().encode(edited),
      ]);
      let report = await t.engine.agency.audit();
      expect(report.findings.map((f) => f.index)).toContain(5);
      expect(
        new Set(
          report.findings.filter((f) => !f.kind.startsWith("checkpoint-")).map((f) => f.index),
        ),
      ).toEqual(new Set([5]));
      await t.db.query("UPDATE log_leaves SET entry = $1 WHERE idx = 5", [row!.entry]);
      expect((await t.engine.agency.audit()).findings).toEqual([]);

      // Swap two leaves.
      await t.db.exec(
        "UPDATE log_leaves SET idx = -1 WHERE idx = 2; UPDATE log_leaves SET idx = 2 WHERE idx = 3; UPDATE log_leaves SET idx = 3 WHERE idx = -1",
      );
      report = await t.engine.agency.audit();
      expect(
        new Set(
          report.findings.filter((f) => !f.kind.startsWith("checkpoint-")).map((f) => f.index),
        ),
      ).toEqual(new Set([2, 3]));
      await t.db.exec(
        "UPDATE log_leaves SET idx = -1 WHERE idx = 2; UPDATE log_leaves SET idx = 2 WHERE idx = 3; UPDATE log_leaves SET idx = 3 WHERE idx = -1",
      );

      // Edit a table row only (the payload of action 7).
      await t.db.query("UPDATE actions SET payload = $1 WHERE leaf_index = 7", [
        new TextEncoder().encode('{"i":70}'),
      ]);
      report = await t.engine.agency.audit();
      expect(report.findings.map((f) => f.index)).toEqual([7]);
      await t.db.query("UPDATE actions SET payload = $1 WHERE leaf_index = 7", [
        new TextEncoder().encode('{"i":7}'),
      ]);

      // Remove a leaf.
      await t.db.exec("DELETE FROM log_leaves WHERE idx = 9");
      report = await t.engine.agency.audit();
      expect(report.findings[0]).toMatchObject({ index: 9, kind: "missing-leaf" });
      // The row is gone but the log's size still says 12: the size is not rewritten either.
      expect(report.size).toBe(12);
      expect(report.findings.filter((f) => f.kind === "missing-leaf").map((f) => f.index)).toEqual([
        9,
      ]);
    } finally {
      await t.close();
    }
  });
});
