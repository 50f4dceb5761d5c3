/**
 * `chaoscore anchor` — the anchoring worker of a deployment whose gateways run
 * `--anchor-every 0` (staging, compose) — and `chaoscore log audit` against
 * the chain, on a log family that rotated (ATTACK18): every shard is anchored
 * (one batch), and every shard's anchors are audited. Always PGlite, a real
 * anvil.
 */
import { join } from "node:path";
import { openDatabase } from "@chaoscore/log";
import { describe, expect, it } from "vitest";
import { chainDataDir } from "./test-support/chain-data-dir.js";
import { cli, expectCode } from "./test-support/run-cli.js";

const data = chainDataDir("anchor-shards");

describe("anchor and log audit on a rotated log family", () => {
  it("anchors every shard, the receipt of shard 1 carries its anchor, and the audit checks both shards on chain", async () => {
    const run = (...args: string[]) => cli("--data-dir", data.dir, ...args);
    expectCode(await run("agent", "register", "--name", "sharded"), 0);
    // the commands that open the database rotate by the environment's limit: 3 leaves
    process.env.CHAOSCORE_SHARD_MAX_ENTRIES = "3";
    const ids: { id: string; log: string }[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const r = expectCode(
          await run("action", "record", "--type", "t", "--payload", `{"i":${i}}`, "--json"),
          0,
        );
        ids.push(JSON.parse(r.stdout) as { id: string; log: string });
      }
    } finally {
      delete process.env.CHAOSCORE_SHARD_MAX_ENTRIES;
    }
    expect(ids.map((r) => r.log)).toEqual([
      "default",
      "default",
      "default",
      "default-s1",
      "default-s1",
    ]);

    const anchored = JSON.parse(expectCode(await run("anchor", "--wait", "--json"), 0).stdout) as {
      checkpoint: { logId: string; size: number; status: string };
    };
    // the newest shard's record: the batch anchored shard 1 (its link entry and 2 actions) too
    expect(anchored.checkpoint).toMatchObject({ logId: "default-s1", size: 3, status: "final" });

    // a later pass: only the active shard has something new, and the text names the shard
    expectCode(await run("action", "record", "--type", "t", "--payload", '{"i":5}'), 0);
    const again = expectCode(await run("anchor", "--wait"), 0).stdout;
    expect(again).toMatch(/^ {2}log +default-s1$/m);
    expect(again).toMatch(/^ {2}size +4$/m);

    const receiptPath = join(data.work, "receipt-s1.json");
    expectCode(await run("receipt", "get", (ids[4] as { id: string }).id, "--out", receiptPath), 0);
    const chain = JSON.parse(expectCode(await run("chain", "status", "--json"), 0).stdout) as {
      rpcUrl: string;
      log: unknown;
    };
    // the status names the shard that grows, and its anchors (not the frozen shard 0's)
    expect(chain.log).toMatchObject({
      id: "default-s1",
      origin: "chaoscore.local/log/default/s1",
      size: 4,
      anchored: { count: 2, size: 4 },
    });
    const verified = expectCode(
      await run("receipt", "verify", receiptPath, "--rpc", chain.rpcUrl),
      0,
    );
    expect(verified.stdout).toMatch(
      /anchor +✓ on chain 31337: contract 0x[0-9a-f]{40} holds checkpoint/,
    );

    const audit = JSON.parse(expectCode(await run("log", "audit", "--json"), 0).stdout) as {
      ok: boolean;
      chain: { anchored: number; shards?: { id: string; anchored: number }[] };
    };
    expect(audit.ok).toBe(true);
    expect(audit.chain.anchored).toBe(3);
    expect(audit.chain.shards).toEqual([
      expect.objectContaining({ id: "default", anchored: 1 }),
      expect.objectContaining({ id: "default-s1", anchored: 2 }),
    ]);

    // shard 1's signed checkpoint at its anchored size deleted: only the chain knows it existed
    const db = await openDatabase({ databaseUrl: null, dataDir: join(data.dir, "pgdata") });
    try {
      await db.exec("DELETE FROM log_checkpoints WHERE log_id = 'default-s1' AND size = 3");
    } finally {
      await db.close();
    }
    const tampered = JSON.parse(expectCode(await run("log", "audit", "--json"), 1).stdout) as {
      findings: { kind: string; message: string }[];
    };
    expect(tampered.findings).toContainEqual(
      expect.objectContaining({
        kind: "anchor-checkpoint-missing",
        message: expect.stringMatching(/^shard default-s1: .*size 3/),
      }),
    );
  }, 180_000);
});
