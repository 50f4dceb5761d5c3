/**
 * Leadership by the Postgres advisory lock, between leases of this process
 * (each holds its own connection, as separate processes would): exactly one
 * leads; a stop or a dead connection hands over to the other. The kill -9 of
 * a real `serve` process is in packages/cli/src/gateways.int.test.ts.
 * Needs DATABASE_URL (CI's Postgres run); the PGlite driver is tested without.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import {
  alwaysLeader,
  type LeaderLease,
  leaderLockKey,
  openLeaderLease,
  PostgresLeaderLease,
} from "./leader-lease.js";

const url = process.env.DATABASE_URL;
const hasServer = url !== undefined && url !== "";

/** Resolves when `lease` reports `leader` (no timing in the assertion: the test's own timeout bounds it). */
function becomes(lease: LeaderLease, leader: boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = lease.onChange((now) => {
      if (now === leader) {
        queueMicrotask(() => off());
        resolve();
      }
    });
    if (lease.isLeader() === leader) resolve();
  });
}

describe("alwaysLeader (PGlite: one process)", () => {
  it("leads from start to stop and tells its listeners", async () => {
    const lease = alwaysLeader();
    const heard: boolean[] = [];
    lease.onChange((l) => heard.push(l));
    expect(lease.isLeader()).toBe(false);
    lease.start();
    lease.start();
    expect(lease.isLeader()).toBe(true);
    const late: boolean[] = [];
    lease.onChange((l) => late.push(l));
    await lease.stop();
    expect(heard).toEqual([true, false]);
    expect(late).toEqual([true, false]);
    expect(openLeaderLease({ url: undefined, name: "x" }).kind).toBe("always");
  });

  it("names a lock key per log, as a bigint Postgres takes", () => {
    const a = leaderLockKey("default");
    expect(BigInt(a) >= -(2n ** 63n) && BigInt(a) < 2n ** 63n).toBe(true);
    expect(leaderLockKey("default")).toBe(a);
    expect(leaderLockKey("other")).not.toBe(a);
  });
});

describe.skipIf(!hasServer)("PostgresLeaderLease on a server (DATABASE_URL)", () => {
  const leases: PostgresLeaderLease[] = [];
  const open = (name: string) => {
    const lease = new PostgresLeaderLease({ url: url as string, name, pollMs: 100 });
    leases.push(lease);
    return lease;
  };
  afterEach(async () => {
    await Promise.all(leases.splice(0).map((l) => l.stop()));
  });

  it("gives the lock to exactly one of three, and hands it over on stop", async () => {
    const name = `t-${randomBytes(6).toString("hex")}`;
    const [a, b, c] = [open(name), open(name), open(name)] as const;
    let leaders = 0;
    let most = 0;
    for (const lease of [a, b, c]) {
      lease.onChange((l) => {
        leaders += l ? 1 : -1;
        most = Math.max(most, leaders);
      });
      lease.start();
    }
    await Promise.race([becomes(a, true), becomes(b, true), becomes(c, true)]);
    // Several rounds of every lease pass while one leads: nobody else gets it.
    await new Promise((r) => setTimeout(r, 500));
    const first = [a, b, c].filter((l) => l.isLeader());
    expect(first).toHaveLength(1);
    const rest = [a, b, c].filter((l) => !l.isLeader());
    await (first[0] as PostgresLeaderLease).stop();
    await Promise.race(rest.map((l) => becomes(l, true)));
    await new Promise((r) => setTimeout(r, 300));
    expect(rest.filter((l) => l.isLeader())).toHaveLength(1);
    expect(most).toBe(1);
  });

  it("frees the lock when the leader's session dies, and the leader steps down", async () => {
    const name = `t-${randomBytes(6).toString("hex")}`;
    const a = open(name);
    a.start();
    await becomes(a, true);
    const b = open(name);
    b.start();
    // The server ends the leader's session (as when its process or host dies).
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
        [a.key],
      );
      expect(killed.rows).toHaveLength(1);
    } finally {
      await admin.end();
    }
    await becomes(b, true);
    await becomes(a, false);
    expect(a.isLeader()).toBe(false);
  });
});
