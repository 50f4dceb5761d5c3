import { isChaosCoreError } from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, snapshot, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerSignatureVerifier } from "./signature-verifier.js";
import { agencyWith, type Harness } from "./test-support/agency-harness.js";

const codeOf = (e: unknown) => (isChaosCoreError(e) ? e.code : e);

describe(`ingest queue bounds and signature worker crashes on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openTestEngine();
  });
  afterAll(() => h.close());

  it("writes every action of a batch whose signature worker was killed mid-batch", async () => {
    const verifier = new WorkerSignatureVerifier(1, { chunk: 16 });
    const agency = agencyWith(h, { verifier });
    try {
      const agents = await Promise.all([1, 2, 3].map(() => h.newAgent()));
      const signed = agents.flatMap((a) => Array.from({ length: 100 }, () => a.action()));
      const before = (await snapshot(h.engine)).counts as { actions: number };
      const writes = signed.map((s) => agency.recordAction(s));
      await new Promise<void>((resolve) => setImmediate(resolve));
      await verifier.killWorker(0);
      // Before the fix, these never settled: the dead worker's answers were awaited for ever.
      const results = await Promise.all(writes);
      expect(results.every((r) => !r.duplicate)).toBe(true);
      expect(verifier.restarts).toBe(1);
      const after = (await snapshot(h.engine)).counts as { actions: number };
      expect(after.actions - before.actions).toBe(300);
    } finally {
      await agency.close();
    }
  });

  it("refuses entries past maxQueueEntries with AGENCY_QUEUE_FULL and persists none of them", async () => {
    const agency = agencyWith(h, { limits: { maxQueueEntries: 10 } });
    try {
      const agent = await h.newAgent();
      const signed = Array.from({ length: 15 }, () => agent.action());
      const before = await snapshot(h.engine);
      const writes = await Promise.allSettled(signed.map((s) => agency.recordAction(s)));
      const refused = writes.flatMap((w, i) => (w.status === "rejected" ? [i] : []));
      expect(refused).toEqual([10, 11, 12, 13, 14]);
      for (const i of refused) {
        const w = writes[i] as PromiseRejectedResult;
        expect(codeOf(w.reason)).toBe("AGENCY_QUEUE_FULL");
        expect(w.reason.details).toMatchObject({ retryAfterSeconds: 1, maxQueueEntries: 10 });
      }
      const after = await snapshot(h.engine);
      expect((after.counts as { actions: number }).actions).toBe(
        (before.counts as { actions: number }).actions + 10,
      );
      expect(agency.queued).toEqual({ entries: 0, bytes: 0 });
      // once the queue has room, the refused entries are accepted as sent
      const retried = await Promise.all(refused.map((i) => agency.recordAction(signed[i]!)));
      expect(retried.map((r) => r.duplicate)).toEqual([false, false, false, false, false]);
    } finally {
      await agency.close();
    }
  });

  it("refuses entries past maxQueueBytes (payloads count) and persists none of them", async () => {
    const agency = agencyWith(h, { limits: { maxQueueBytes: 64 * 1024 } });
    try {
      const agent = await h.newAgent();
      const big = { blob: "x".repeat(20_000) };
      const signed = Array.from({ length: 4 }, () => agent.action({ payload: big }));
      const before = await snapshot(h.engine);
      const writes = await Promise.allSettled(signed.map((s) => agency.recordAction(s)));
      expect(writes.map((w) => (w.status === "rejected" ? codeOf(w.reason) : "ok"))).toEqual([
        "ok",
        "ok",
        "ok",
        "AGENCY_QUEUE_FULL",
      ]);
      const after = await snapshot(h.engine);
      expect((after.counts as { actions: number }).actions).toBe(
        (before.counts as { actions: number }).actions + 3,
      );
      expect(agency.queued).toEqual({ entries: 0, bytes: 0 });
    } finally {
      await agency.close();
    }
  });

  it("gives the room of refused entries back (a bad signature does not leak queue space)", async () => {
    const agency = agencyWith(h, { limits: { maxQueueEntries: 2 } });
    try {
      const agent = await h.newAgent();
      const bad = agent.action();
      bad.entry.signature = `0x${"11".repeat(64)}1b`;
      for (let i = 0; i < 5; i++) {
        expect(codeOf(await agency.recordAction(bad).catch((e) => e))).toBe("AGENCY_BAD_SIGNATURE");
      }
      expect(agency.queued).toEqual({ entries: 0, bytes: 0 });
    } finally {
      await agency.close();
    }
  });
});
