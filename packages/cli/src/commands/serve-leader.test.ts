import type { AnchorRecord } from "@chaoscore/anchoring";
import { ChaosCoreError } from "@chaoscore/core";
import type { LeaderLease } from "@chaoscore/log";
import { describe, expect, it } from "vitest";
import { anchorNowThroughLeader, startLeaderDuties } from "./serve-leader.js";

/** A lease the test hands over by hand. */
function manualLease(): LeaderLease & { set(leader: boolean): void; started: boolean } {
  const listeners = new Set<(l: boolean) => void>();
  let leading = false;
  return {
    kind: "postgres-advisory-lock",
    started: false,
    isLeader: () => leading,
    onChange(l) {
      listeners.add(l);
      if (leading) l(true);
      return () => listeners.delete(l);
    },
    start() {
      this.started = true;
    },
    async stop() {
      this.set(false);
    },
    set(leader: boolean) {
      if (leader === leading) return;
      leading = leader;
      for (const l of listeners) l(leader);
    },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("startLeaderDuties", () => {
  it("runs the duties only while leading, in order, and stops them on stop", async () => {
    const lease = manualLease();
    const events: string[] = [];
    const lines: string[] = [];
    const duty = (name: string) => ({
      name,
      start: () => events.push(`start ${name}`),
      stop: async () => {
        events.push(`stop ${name}`);
      },
    });
    const duties = startLeaderDuties(lease, [duty("anchoring"), duty("witnessing")], (l) =>
      lines.push(l),
    );
    expect(lease.started).toBe(true);
    await flush();
    expect(events).toEqual([]);
    lease.set(true);
    await flush();
    lease.set(false);
    lease.set(true);
    await duties.stop();
    expect(events).toEqual([
      "start anchoring",
      "start witnessing",
      "stop anchoring",
      "stop witnessing",
      "start anchoring",
      "start witnessing",
      "stop anchoring",
      "stop witnessing",
    ]);
    expect(lines.filter((l) => l.startsWith("LEADER acquired at "))).toHaveLength(2);
    expect(lines.at(-1)).toMatch(/^LEADER lost at /);
  });

  it("does not compete with nothing to lead", async () => {
    const lease = manualLease();
    const duties = startLeaderDuties(lease, [], () => {});
    expect(lease.started).toBe(false);
    await duties.stop();
  });
});

describe("anchorNowThroughLeader", () => {
  const record = (size: number, status: AnchorRecord["status"]) =>
    ({ size, status }) as unknown as AnchorRecord;

  it("anchors on the leader; a follower answers the leader's record covering the tree", async () => {
    const lease = manualLease();
    let sent = 0;
    let records: AnchorRecord[] = [record(3, "final")];
    const anchoring = {
      anchorNow: async () => {
        sent++;
        return record(9, "pending");
      },
      records: async () => records,
    };
    const through = anchorNowThroughLeader(
      lease,
      anchoring,
      async () => ({ log: "default", size: 5 }),
      1,
    );
    const waiting = through.anchorNow({ wait: true, timeoutMs: 60_000 });
    await flush();
    records = [record(3, "final"), record(6, "mined")];
    await flush();
    records = [record(3, "final"), record(6, "final")];
    expect(await waiting).toEqual(record(6, "final"));
    expect(sent).toBe(0);
    lease.set(true);
    expect(await through.anchorNow()).toEqual(record(9, "pending"));
    expect(sent).toBe(1);
  });

  it("after a rotation a follower waits for the active shard's anchor, not the frozen shard's (ATTACK18)", async () => {
    const lease = manualLease();
    // shard 0 froze at 5 and was anchored there; the active shard default-s1 holds 3 leaves
    const byLog: Record<string, AnchorRecord[]> = {
      default: [record(5, "final")],
      "default-s1": [],
    };
    const anchoring = {
      anchorNow: async () => record(99, "pending"),
      records: async (log?: string) => byLog[log ?? "default"] ?? [],
    };
    const through = anchorNowThroughLeader(
      lease,
      anchoring,
      async () => ({ log: "default-s1", size: 3 }),
      1,
    );
    const waiting = through.anchorNow({ wait: true, timeoutMs: 60_000 });
    let answered = false;
    void waiting.then(() => {
      answered = true;
    });
    await flush();
    await flush();
    expect(answered).toBe(false);
    byLog["default-s1"] = [record(3, "final")];
    expect(await waiting).toEqual(record(3, "final"));
  });

  it("answers null for an empty log and CHAIN_TIMEOUT when the leader does not anchor in time", async () => {
    const lease = manualLease();
    const anchoring = { anchorNow: async () => null, records: async () => [] };
    const tree = (size: number) => async () => ({ log: "default", size });
    expect(await anchorNowThroughLeader(lease, anchoring, tree(0)).anchorNow()).toBeNull();
    const error = await anchorNowThroughLeader(lease, anchoring, tree(4), 1)
      .anchorNow({ timeoutMs: 0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChaosCoreError);
    expect((error as ChaosCoreError).code).toBe("CHAIN_TIMEOUT");
  });
});
