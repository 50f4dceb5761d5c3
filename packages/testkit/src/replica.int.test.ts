import { PostgresDb } from "@chaoscore/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPLICA_SKIP_REASON, type ReplicaPair, startReplicaPair } from "./replica.js";

describe.skipIf(REPLICA_SKIP_REASON !== undefined)(
  `a primary and its streaming replica${REPLICA_SKIP_REASON === undefined ? "" : ` (skipped: ${REPLICA_SKIP_REASON})`}`,
  () => {
    let pair: ReplicaPair;
    let primary: PostgresDb;
    let replica: PostgresDb;
    beforeAll(async () => {
      pair = await startReplicaPair();
      primary = await PostgresDb.open(pair.primaryUrl);
      replica = await PostgresDb.open(pair.replicaUrl);
    }, 120_000);
    afterAll(async () => {
      await replica?.close();
      await primary?.close();
      await pair?.stop();
    }, 60_000);

    const count = async (db: PostgresDb) =>
      Number((await db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM t"))[0]?.n);

    it("streams the primary's writes, refuses writes, and goes stale while replay is paused", async () => {
      await primary.exec("CREATE TABLE t (x int)");
      await primary.exec("INSERT INTO t VALUES (1)");
      await pair.waitForReplay();
      expect(await count(replica)).toBe(1);
      const [row] = await replica.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r");
      expect(row?.r).toBe(true);
      await expect(replica.exec("INSERT INTO t VALUES (2)")).rejects.toThrow();

      await pair.pauseReplay();
      await primary.exec("INSERT INTO t VALUES (2)");
      expect(await count(primary)).toBe(2);
      expect(await count(replica)).toBe(1);

      await pair.resumeReplay();
      await pair.waitForReplay();
      expect(await count(replica)).toBe(2);
    });

    it("can be stopped and started again", async () => {
      await pair.stopReplica();
      await expect(PostgresDb.open(pair.replicaUrl)).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      await pair.startReplica();
      await pair.waitForReplay();
      const again = await PostgresDb.open(pair.replicaUrl);
      expect(await count(again)).toBe(2);
      await again.close();
    }, 60_000);
  },
);
