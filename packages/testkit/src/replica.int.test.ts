import { generateNoteKey } from "@chaoscore/core";
import { type ChaosCoreNode, createNode, type NodeConfig } from "@chaoscore/engine";
import { PostgresDb, replicaLag, verifyReplicaOf } from "@chaoscore/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAIN_ID } from "./engine.js";
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
      // the standby is a replica of the primary; the primary is not one of itself
      await expect(verifyReplicaOf(primary, replica)).resolves.toBeUndefined();
      await expect(verifyReplicaOf(primary, primary)).rejects.toMatchObject({
        code: "STORE_NOT_A_REPLICA",
        details: { standby: false },
      });

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

describe.skipIf(REPLICA_SKIP_REASON !== undefined)(
  `a node with database.readUrl (createNode of @chaoscore/engine)${REPLICA_SKIP_REASON === undefined ? "" : ` (skipped: ${REPLICA_SKIP_REASON})`}`,
  () => {
    let pair: ReplicaPair;
    let node: ChaosCoreNode;
    const origin = "chaoscore.test/log/replica";
    const config = (database: NodeConfig["database"]): NodeConfig => ({
      chainId: CHAIN_ID.toString(),
      log: { id: "default", origin, ...generateNoteKey(origin) },
      database,
    });
    const append = async (text: string) => {
      let done = () => {};
      const at = await node.db.transaction(async (tx) => {
        const r = await node.engine.log.appendInTransaction(tx, [new TextEncoder().encode(text)]);
        done = r.commit;
        return r.size;
      });
      done();
      return at;
    };

    beforeAll(async () => {
      pair = await startReplicaPair();
      node = await createNode(config({ url: pair.primaryUrl, readUrl: pair.replicaUrl }));
    }, 120_000);
    afterAll(async () => {
      await node?.close();
      await pair?.stop();
    }, 60_000);

    it("reads a node's own schema on the replica (database.schema)", async () => {
      const other = await createNode(
        config({ url: pair.primaryUrl, readUrl: pair.replicaUrl, schema: "tenant_b" }),
      );
      try {
        let done = () => {};
        await other.db.transaction(async (tx) => {
          done = (await other.engine.log.appendInTransaction(tx, [new Uint8Array([1])])).commit;
        });
        done();
        await pair.waitForReplay();
        // tenant_b's log has one leaf; the public schema's log (the other node) is another table.
        expect(await other.reads?.log.size()).toBe(1);
        const [row] =
          (await other.reads?.db.replica.query<{ s: string }>("SELECT current_schema() AS s")) ??
          [];
        expect(row?.s).toBe("tenant_b");
      } finally {
        await other.close();
      }
    });

    it("refuses a read replica without a primary", async () => {
      await expect(
        createNode(config({ dataDir: ":memory:", readUrl: "postgres://127.0.0.1:1/x" })),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    });

    it("reads the log from the replica, reads inside a transaction on the primary, and never writes there", async () => {
      const reads = node.reads;
      if (reads === undefined) throw new Error("no read side");
      const size = await append("one");
      await pair.waitForReplay();
      expect(await reads.log.size()).toBe(size);
      expect((await reads.log.latestCheckpoint())?.size).toBe(size);

      await pair.pauseReplay();
      try {
        const grown = await append("two");
        expect(grown).toBe(size + 1);
        // A plain read: the replica's (stale) tree.
        expect(await reads.log.size()).toBe(size);
        await expect(reads.log.inclusionProof(0, grown)).rejects.toMatchObject({
          code: "MERKLE_INDEX_OUT_OF_RANGE",
        });
        // Inside a transaction: the primary.
        const [inTx] = await reads.db.transaction((tx) =>
          tx.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"),
        );
        expect(inTx?.r).toBe(false);
        expect(await reads.log.size(reads.db.primary)).toBe(grown);
        const lag = await replicaLag(reads.db.primary, reads.db.replica);
        expect(lag.bytes).toBeGreaterThan(0);
        expect(lag.seconds).toBeGreaterThan(0);
      } finally {
        await pair.resumeReplay();
      }
      await pair.waitForReplay();
      expect(await reads.log.size()).toBe(size + 1);
      // The replica's sessions are read-only, and it is a standby anyway.
      await expect(reads.db.replica.exec("CREATE TABLE nope (x int)")).rejects.toThrow();
    });
  },
);
