/**
 * `chaoscore anchor` — the anchoring worker of a deployment whose gateways run
 * `--anchor-every 0` (staging, compose) — and `chaoscore log audit` against
 * the chain, on a log family that rotated (ATTACK18): every shard is anchored
 * (one batch), and every shard's anchors are audited. Always PGlite, a real
 * anvil.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "@chaoscore/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectCode } from "./test-support/run-cli.js";

const saved = {
  DATABASE_URL: process.env.DATABASE_URL,
  CHAOSCORE_PASSWORD: process.env.CHAOSCORE_PASSWORD,
  CHAOSCORE_RPC_URL: process.env.CHAOSCORE_RPC_URL,
  CHAOSCORE_KEYSTORE: process.env.CHAOSCORE_KEYSTORE,
  CHAOSCORE_SHARD_MAX_ENTRIES: process.env.CHAOSCORE_SHARD_MAX_ENTRIES,
};
let work: string;
let dir: string;
let anvil: number | undefined;

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  for (const k of Object.keys(saved)) delete process.env[k];
  process.env.CHAOSCORE_PASSWORD = "anchor shards test";
  work = await mkdtemp(join(tmpdir(), "chaoscore-anchor-shards-"));
  dir = join(work, "data");
  expectCode(await cli("--data-dir", dir, "init"), 0);
  const up = expectCode(
    await cli(
      "--data-dir",
      dir,
      "chain",
      "up",
      "--detach",
      "--port",
      String(await freePort()),
      "--block-time",
      "1",
      "--json",
    ),
    0,
  );
  anvil = (JSON.parse(up.stdout) as { pid: number }).pid;
}, 120_000);
afterAll(async () => {
  if (anvil !== undefined) {
    try {
      process.kill(anvil, "SIGKILL");
    } catch {
      // already stopped
    }
  }
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(work, { recursive: true, force: true });
});

describe("anchor and log audit on a rotated log family", () => {
  it("anchors every shard, the receipt of shard 1 carries its anchor, and the audit checks both shards on chain", async () => {
    const run = (...args: string[]) => cli("--data-dir", dir, ...args);
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

    const receiptPath = join(work, "receipt-s1.json");
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
    const db = await openDatabase({ databaseUrl: null, dataDir: join(dir, "pgdata") });
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
