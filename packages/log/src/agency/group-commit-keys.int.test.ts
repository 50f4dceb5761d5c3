/**
 * The group-commit writer skips PGlite's per-row foreign-key checks on its
 * own inserts (group-commit.ts, skipKnownForeignKeys): what it writes still
 * satisfies every key, and the checks stay on for everything else.
 */
import { openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maySkipForeignKeys } from "./foreign-key-skip.js";

describe(`group commit and foreign keys (${TEST_DB_KIND})`, () => {
  let h: Awaited<ReturnType<typeof openTestEngine>>;
  beforeAll(async () => {
    h = await openTestEngine();
  });
  afterAll(() => h.close());

  it("writes rows that satisfy every key, and leaves the checks on afterwards", async () => {
    const agents = await Promise.all([h.newAgent(), h.newAgent(), h.newAgent()]);
    const signed = agents.flatMap((a) => Array.from({ length: 20 }, () => a.action()));
    const results = await Promise.all(signed.map((s) => h.engine.agency.recordAction(s)));
    expect(new Set(results.map((r) => r.leafIndex)).size).toBe(signed.length);

    const [orphans] = await h.db.query<{ leaves: number; nodes: number; actions: number }>(
      `SELECT
         (SELECT count(*) FROM log_leaves l WHERE NOT EXISTS
            (SELECT 1 FROM logs g WHERE g.id = l.log_id))::int AS leaves,
         (SELECT count(*) FROM log_nodes n WHERE NOT EXISTS
            (SELECT 1 FROM logs g WHERE g.id = n.log_id))::int AS nodes,
         (SELECT count(*) FROM actions a WHERE NOT EXISTS
            (SELECT 1 FROM logs g WHERE g.id = a.log_id)
            OR NOT EXISTS (SELECT 1 FROM agents r WHERE r.id = a.agent_id))::int AS actions`,
    );
    expect(orphans).toEqual({ leaves: 0, nodes: 0, actions: 0 });
    const [leaves] = await h.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM log_leaves l JOIN actions a ON a.log_id = l.log_id AND a.leaf_index = l.idx",
    );
    expect(leaves?.n).toBe(signed.length);

    // the skip ended with the writer's transaction (SET LOCAL): the session is
    // back to firing triggers, and a row naming no log is refused
    const [role] = await h.db.query<{ session_replication_role: string }>(
      "SHOW session_replication_role",
    );
    expect(role?.session_replication_role).toBe("origin");
    await expect(
      h.db.query("INSERT INTO log_leaves (log_id, idx, entry) VALUES ('no-such-log', 0, '\\x00')"),
    ).rejects.toMatchObject({ code: "STORE_CONSTRAINT_VIOLATION" });
  });

  it.skipIf(TEST_DB_KIND !== "postgres")(
    "skips them on a Postgres server only for a role that may set session_replication_role",
    async () => {
      expect(await maySkipForeignKeys(h.db)).toBe(true); // the test server's superuser
      const role = `plain_${process.pid}`;
      await h.db.exec(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} NOLOGIN`);
      try {
        const [version] = await h.db.query<{ v: string }>(
          "SELECT current_setting('server_version_num') AS v",
        );
        const asRole = () =>
          h.db.transaction(async (tx) => {
            await tx.query(`SET LOCAL ROLE ${role}`);
            return maySkipForeignKeys(tx);
          });
        expect(await asRole()).toBe(false);
        if (Number(version?.v) >= 150000) {
          await h.db.exec(`GRANT SET ON PARAMETER session_replication_role TO ${role}`);
          expect(await asRole()).toBe(true);
          await h.db.exec(`REVOKE SET ON PARAMETER session_replication_role FROM ${role}`);
        }
      } finally {
        await h.db.exec(`DROP ROLE ${role}`);
      }
    },
  );
});
