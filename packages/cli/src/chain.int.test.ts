/**
 * The on-chain flow as users run it (`node packages/cli/bin/chaoscore.js …`):
 * chain up --detach → agent register (anchored) → action record → anchor
 * --wait → receipt get → receipt verify --rpc, a tampered anchor, a reward
 * payout, chain status; the anvil is stopped at the end. Always PGlite.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "./test-support/chain-data-dir.js";

const BIN = fileURLToPath(new URL("../bin/chaoscore.js", import.meta.url));
const PASSWORD = "correct horse battery staple";

type Run = { code: number; stdout: string; stderr: string };

function cli(args: string[], home: string): Promise<Run> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    CHAOSCORE_PASSWORD: PASSWORD,
    CHAOSCORE_HOME: home,
  };
  for (const k of ["DATABASE_URL", "CHAOSCORE_RPC_URL", "CHAOSCORE_KEYSTORE"]) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end("");
  });
}

function ok(run: Run, code = 0): Run {
  if (run.code !== code) {
    throw new Error(
      `exit ${run.code}, expected ${code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
  return run;
}

let home = "";
let pid: number | undefined;

afterAll(async () => {
  if (pid !== undefined) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already stopped
    }
  }
  if (home !== "") await rm(home, { recursive: true, force: true });
});

describe("chaoscore chain / anchor / receipt verify --rpc / reward", () => {
  it("anchors, verifies the anchor on chain, rejects a tampered anchor, pays a reward", async () => {
    home = await mkdtemp(join(tmpdir(), "chaoscore-chain-test-"));
    ok(await cli(["init"], home));
    const port = await freePort();
    const up = ok(
      await cli(
        ["chain", "up", "--detach", "--port", String(port), "--block-time", "1", "--json"],
        home,
      ),
    );
    const chain = JSON.parse(up.stdout) as { rpcUrl: string; pid: number; deployed: boolean };
    pid = chain.pid;
    expect(chain.deployed).toBe(true);
    expect(chain.rpcUrl).toBe(`http://127.0.0.1:${port}`);

    const registered = ok(await cli(["agent", "register", "--name", "analyst"], home));
    expect(registered.stderr).toMatch(
      /card anchored: 0x[0-9a-f]{40} card v1 → token 0 \((mined|final)/,
    );

    const recorded = ok(
      await cli(
        ["action", "record", "--type", "tool.call", "--payload", '{"q":"PIP-7"}', "--json"],
        home,
      ),
    );
    const { id } = JSON.parse(recorded.stdout) as { id: string };

    const anchored = ok(await cli(["anchor", "--wait", "--json"], home));
    const result = JSON.parse(anchored.stdout) as {
      checkpoint: { status: string; size: number; index: number; txHash: string };
    };
    expect(result.checkpoint).toMatchObject({ status: "final", size: 1, index: 0 });

    const receiptPath = join(home, "receipt.json");
    ok(await cli(["receipt", "get", id, "--out", receiptPath], home));
    const receipt = JSON.parse(await readFile(receiptPath, "utf8")) as {
      anchor: { index: number; txHash: string } | null;
    };
    expect(receipt.anchor).toMatchObject({ index: 0, txHash: result.checkpoint.txHash });

    const offline = ok(await cli(["receipt", "verify", receiptPath], home));
    expect(offline.stdout).toContain("not checked on chain (pass --rpc <url>)");
    const online = ok(await cli(["receipt", "verify", receiptPath, "--rpc", chain.rpcUrl], home));
    expect(online.stdout).toContain("✓ receipt verified");
    expect(online.stdout).toMatch(
      /anchor +✓ on chain 31337: contract 0x[0-9a-f]{40} holds checkpoint 0/,
    );

    const tamperedPath = join(home, "tampered.json");
    await writeFile(
      tamperedPath,
      JSON.stringify({ ...receipt, anchor: { ...receipt.anchor, index: 7 } }, null, 2),
    );
    // Offline, the index is not checked; on chain it is.
    ok(await cli(["receipt", "verify", tamperedPath], home));
    const bad = ok(await cli(["receipt", "verify", tamperedPath, "--rpc", chain.rpcUrl], home), 1);
    expect(bad.stderr).toContain("✗ RECEIPT_ANCHOR_MISMATCH");
    // The receipt's own contract is never trusted: only the data dir's deployment or --contract.
    const untrusted = ok(
      await cli(
        [
          "receipt",
          "verify",
          receiptPath,
          "--rpc",
          chain.rpcUrl,
          "--contract",
          `0x${"ee".repeat(20)}`,
        ],
        home,
      ),
      1,
    );
    expect(untrusted.stderr).toContain("✗ RECEIPT_ANCHOR_UNTRUSTED");

    // Under a trust policy, the anchor contracts are the policy's (issue 12).
    const config = JSON.parse(await readFile(join(home, "config.json"), "utf8")) as {
      log: { verifierKey: string };
    };
    const deployments = JSON.parse(
      await readFile(join(home, "deployments", "31337.json"), "utf8"),
    ) as { contracts: { CheckpointAnchor: { address: string } } };
    const policyFor = async (contract: string) => {
      const path = join(home, `policy-${contract.slice(2, 8)}.json`);
      await writeFile(
        path,
        JSON.stringify({
          format: "chaoscore.trust-policy/v1",
          log: { key: config.log.verifierKey },
          anchors: [{ chainId: "31337", contract }],
        }),
      );
      return path;
    };
    const trustedPolicy = await policyFor(deployments.contracts.CheckpointAnchor.address);
    const underPolicy = ok(
      await cli(
        ["receipt", "verify", receiptPath, "--policy", trustedPolicy, "--rpc", chain.rpcUrl],
        home,
      ),
    );
    expect(underPolicy.stdout).toMatch(/anchor +✓ on chain 31337/);
    const otherPolicy = await policyFor(`0x${"ee".repeat(20)}`);
    const refused = ok(
      await cli(
        ["receipt", "verify", receiptPath, "--policy", otherPolicy, "--rpc", chain.rpcUrl],
        home,
      ),
      1,
    );
    expect(refused.stderr).toContain("✗ RECEIPT_ANCHOR_UNTRUSTED");

    const paid = ok(
      await cli(
        [
          "reward",
          "pay",
          "--studio",
          "governance",
          "--payout-id",
          "round-1",
          "--to",
          "default=25",
          "--fund",
        ],
        home,
      ),
    );
    expect(paid.stdout).toContain("✓ reward paid");
    const again = ok(
      await cli(
        ["reward", "pay", "--studio", "governance", "--payout-id", "round-1", "--to", "default=25"],
        home,
      ),
    );
    expect(again.stdout).toContain("✓ already paid (nothing sent)");

    const status = ok(await cli(["chain", "status", "--json"], home));
    expect(JSON.parse(status.stdout)).toMatchObject({
      chainId: "31337",
      log: { size: 2, anchored: { count: 1, size: 1 }, records: { final: 1 } },
    });

    // --rpc and --key name the chain and its key explicitly (as CHAOSCORE_RPC_URL and
    // CHAOSCORE_KEYSTORE do): here the (unfunded) keystore of a new local key
    ok(await cli(["key", "new", "ops"], home));
    const keystore = join(home, "keys", "ops.json");
    const address = `0x${(JSON.parse(await readFile(keystore, "utf8")) as { address: string }).address}`;
    await fetch(chain.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "anvil_setBalance",
        params: [address, "0xde0b6b3a7640000"],
      }),
    });
    const explicit = ok(
      await cli(["chain", "status", "--json", "--rpc", chain.rpcUrl, "--key", keystore], home),
    );
    expect(JSON.parse(explicit.stdout)).toMatchObject({ chainId: "31337", log: { size: 2 } });
    const unreachable = await cli(
      ["chain", "status", "--rpc", `http://127.0.0.1:${await freePort()}`, "--key", keystore],
      home,
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("CHAIN_RPC_UNREACHABLE");

    // log audit checks the store against the chain (chain.json): clean, then the checkpoint
    // it anchored is deleted from the database (and its anchor row): the audit names its size.
    const clean = ok(await cli(["log", "audit"], home));
    expect(clean.stdout).toMatch(/✓ log audit clean: .*1 anchored checkpoint of contract 0x/);
    const { openDatabase } = await import("@chaoscore/engine");
    const db = await openDatabase({ databaseUrl: "", dataDir: join(home, "pgdata") });
    try {
      await db.query("DELETE FROM anchors");
      await db.query("DELETE FROM log_checkpoints");
    } finally {
      await db.close();
    }
    expect(ok(await cli(["log", "audit", "--no-chain"], home)).stdout).toContain(
      "✓ log audit clean",
    );
    const rolledBack = ok(await cli(["log", "audit", "--json"], home), 1);
    expect(JSON.parse(rolledBack.stdout)).toMatchObject({
      ok: false,
      chain: { chainId: "31337", anchored: 1, lastAnchoredSize: 1 },
      findings: [{ index: 1, kind: "anchor-checkpoint-missing" }],
    });

    ok(await cli(["chain", "down"], home));
    pid = undefined;
  }, 400_000);
});
