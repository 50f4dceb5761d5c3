/**
 * Anchoring halts when the stored log no longer extends the chain's history (issue 12 part 3):
 * a log rolled back in its database below its last anchor makes the next anchor impossible.
 * The scheduled anchoring stops (no retry loop), /readyz fails with the reason, the metric
 * chaoscore_anchoring_halted is 1 and an error-level line is logged.
 */
import { Writable } from "node:stream";
import { openAnchoringTestEngine } from "@chaoscore/testkit";
import { useTestChain } from "@chaoscore/testkit/chain";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { buildGateway, gatewayServices } from "./index.js";

const chain = useTestChain();

describe("anchoring halt", () => {
  it("stops anchoring, fails /readyz, sets the metric and logs an error after a rollback", async () => {
    const h = await openAnchoringTestEngine(chain, { name: "halt" });
    const lines: { level: number; msg: string }[] = [];
    const logger = pino(
      { level: "info" },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    const app = await buildGateway({
      ...gatewayServices({ engine: h.engine, chainId: 31337n }),
      logger,
    });
    const { origin, anchoring: service } = h;
    try {
      const agent = await h.newAgent();
      for (let i = 0; i < 5; i++) await h.engine.agency.recordAction(agent.action());
      expect(await service.anchorNow({ wait: true })).toMatchObject({ size: 5, status: "final" });
      expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
      const metric = async () =>
        /^chaoscore_anchoring_halted (\d)$/m.exec(
          (await app.inject({ method: "GET", url: "/metrics" })).body,
        )?.[1];
      expect(await metric()).toBe("0");

      // Roll the log back to 3 leaves in the database, then let it grow to 4 (another history).
      const db = h.engine.db;
      const id = h.engine.log.id;
      await db.query("DELETE FROM actions WHERE log_id = $1 AND leaf_index >= 3", [id]);
      await db.query("DELETE FROM log_leaves WHERE log_id = $1 AND idx >= 3", [id]);
      await db.query(
        "DELETE FROM log_nodes WHERE log_id = $1 AND (idx + 1) * (1::bigint << level) > 3",
        [id],
      );
      await db.query("DELETE FROM log_checkpoints WHERE log_id = $1 AND size > 3", [id]);
      await db.query("DELETE FROM anchors WHERE log_id = $1", [id]);
      await db.query("UPDATE logs SET size = 3 WHERE id = $1", [id]);

      const halted = new Promise((resolve) => service.halt.onHalt(resolve));
      service.start({ intervalMs: 1 });
      await halted;
      await service.stop();
      expect(service.halt.current).toMatchObject({ code: "ANCHOR_LOG_MISMATCH" });
      expect(service.halt.current?.reason).toContain("size 5");

      const ready = await app.inject({ method: "GET", url: "/readyz" });
      expect(ready.statusCode).toBe(503);
      const checks = ready.json<{ details: { checks: Record<string, string> } }>().details.checks;
      expect(checks.anchoring).toMatch(/^halted: .*size 5/);
      expect(await metric()).toBe("1");
      const error = lines.find((l) => l.msg.startsWith("anchoring halted"));
      expect(error?.level).toBe(50);

      // No retry loop: started again, a halted service does not run.
      const runs = await db.query<{ attempts: number }>(
        "SELECT coalesce(sum(attempts), 0)::int AS attempts FROM anchors WHERE log_id = $1",
        [id],
      );
      service.start({ intervalMs: 1 });
      await new Promise((r) => setTimeout(r, 100));
      await service.stop();
      const after = await db.query<{ attempts: number }>(
        "SELECT coalesce(sum(attempts), 0)::int AS attempts FROM anchors WHERE log_id = $1",
        [id],
      );
      expect(after).toEqual(runs);
      expect(await chain.contracts.anchor.count(origin)).toBe(1n);
    } finally {
      await app.close();
      await h.close();
    }
  });
});
