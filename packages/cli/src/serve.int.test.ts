/**
 * `chaoscore serve` as a user runs it (a child process on the embedded
 * defaults: PGlite, its own anvil, anchoring), then over real HTTP: the demo's
 * flow with the SDK (`demo --gateway`), the three examples, and a SIGTERM
 * that drains and stops.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { verifyReceipt } from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
const BIN = join(ROOT, "packages/cli/bin/chaoscore.js");

type Proc = { code: number | null; stdout: string; stderr: string };

/** Runs a command to its end (no shell), with a timeout. */
function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Proc> {
  return new Promise((done, fail) => {
    // The commands work on the server's data dir (PGlite): not on a DATABASE_URL of the test run.
    const base = { ...process.env };
    delete base.DATABASE_URL;
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...base, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", fail);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const ok = (p: Proc) => {
  if (p.code !== 0) throw new Error(`exit ${p.code}\n${p.stdout}\n${p.stderr}`);
  return p;
};

let dir: string;
let server: ChildProcess;
let out = "";
let err = "";
let url: string;
let adminKey: string;
let rpcUrl: string;
let viaGatewayKey = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chaoscore-serve-"));
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.CHAOSCORE_RPC_URL;
  server = spawn(
    process.execPath,
    [
      BIN,
      "--data-dir",
      dir,
      "serve",
      "--port",
      "0",
      "--anchor-every",
      "1",
      "--confirmations",
      "1",
      "--log-level",
      "warn",
    ],
    { cwd: ROOT, env },
  );
  server.stdout?.on("data", (d) => {
    out += String(d);
  });
  server.stderr?.on("data", (d) => {
    err += String(d);
  });
  const deadline = Date.now() + 90_000;
  while (!/LISTENING (\S+)/.test(out)) {
    if (server.exitCode !== null || Date.now() > deadline) {
      throw new Error(`serve did not start:\n${out}\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  url = (/LISTENING (\S+)/.exec(out) as RegExpExecArray)[1] as string;
  adminKey = (/ADMIN_KEY (\S+)/.exec(out) as RegExpExecArray)[1] as string;
  rpcUrl = (/anvil at (\S+),/.exec(err) as RegExpExecArray)[1] as string;
}, 120_000);

afterAll(async () => {
  if (server !== undefined && server.exitCode === null) server.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("chaoscore serve", () => {
  it("runs the demo's flow over HTTP with the SDK, and the receipt is anchored and verifies", async () => {
    const demoDir = join(dir, "demo");
    const p = ok(
      await run(process.execPath, [
        BIN,
        "--data-dir",
        demoDir,
        "demo",
        "--gateway",
        url,
        "--api-key",
        adminKey,
        "--anchor-timeout",
        "60",
      ]),
    );
    const last = p.stdout.trim().split("\n").pop() as string;
    expect(last).toMatch(/^RECEIPT 0x[0-9a-f]{64} \S+receipt\.json$/);
    expect(p.stdout).toContain("attestation verified ✓");
    expect(p.stdout).toMatch(/anchored in block \d+/);
    // the reward was paid on chain and logged as a signed reward.payout action
    expect(p.stdout).toMatch(/pays it through the RewardDistributor \(tx 0x[0-9a-f]{4}…/);
    const payouts = (await (await fetch(`${url}/v1/actions?actionType=reward.payout`)).json()) as {
      items: unknown[];
    };
    expect(payouts.items.length).toBe(1);
    const file = last.split(" ")[2] as string;
    const info = (await (await fetch(`${url}/v1`)).json()) as { log: { verifierKey: string } };
    const { readFile } = await import("node:fs/promises");
    const v = verifyReceipt(await readFile(file), info.log.verifierKey);
    expect(v.anchor).not.toBeNull();
    // the independent check on chain, with the CLI
    ok(
      await run(process.execPath, [
        BIN,
        "--data-dir",
        dir,
        "receipt",
        "verify",
        file,
        "--log-key",
        info.log.verifierKey,
        "--rpc",
        rpcUrl,
      ]),
    );
  });

  it("runs the examples: an SDK agent, a studio operator, a third-party verifier", async () => {
    const tsx = [join(ROOT, "node_modules/tsx/dist/cli.mjs")];
    const agent = ok(
      await run(process.execPath, [...tsx, "examples/sdk-agent/agent.ts", "--gateway", url]),
    );
    expect(agent.stdout).toMatch(/recorded 5 signed entries/);
    expect(agent.stdout.trim().endsWith("OK")).toBe(true);
    const operator = ok(
      await run(process.execPath, [
        ...tsx,
        "examples/studio-operator/operator.ts",
        "--gateway",
        url,
        "--api-key",
        adminKey,
      ]),
    );
    expect(operator.stdout).toMatch(/evaluated after 5 signed transitions/);
    const info = (await (await fetch(`${url}/v1`)).json()) as { log: { verifierKey: string } };
    const actions = (await (await fetch(`${url}/v1/actions?limit=1`)).json()) as {
      items: { id: string }[];
    };
    const state = join(dir, "verifier-state.json");
    const verifier = [
      ...tsx,
      "examples/verifier/verify.ts",
      "--gateway",
      url,
      "--log-key",
      info.log.verifierKey,
      "--action",
      actions.items[0]?.id as string,
      "--state",
      state,
    ];
    const first = ok(await run(process.execPath, verifier));
    expect(first.stdout).toContain("receipt verified");
    expect(first.stdout).toContain("first checkpoint seen");
    ok(await run(process.execPath, [...tsx, "examples/sdk-agent/agent.ts", "--gateway", url]));
    // The verifier trusts the contract of the deployment (out of band), not the receipt's.
    const deployments = JSON.parse(
      await readFile(join(dir, "deployments", "31337.json"), "utf8"),
    ) as { contracts: { CheckpointAnchor: { address: string } } };
    const contract = deployments.contracts.CheckpointAnchor.address;
    const second = ok(
      await run(process.execPath, [...verifier, "--rpc", rpcUrl, "--contract", contract]),
    );
    expect(second.stdout).toMatch(/log consistent: the tree of \d+ leaves is a prefix/);
    // the first action of the log was anchored while the demo waited for its receipt's anchor
    expect(second.stdout).toMatch(/anchor verified on chain 31337: checkpoint \d+ in block \d+/);
  });

  it("refuses a second writer on its data dir (nothing written); --gateway goes through the server", async () => {
    const lockFile = `${join(dir, "pgdata")}.pid`;
    const holder = JSON.parse(await readFile(lockFile, "utf8")) as { pid: number };
    expect(holder.pid).toBe(server.pid);
    const before = (await (
      await fetch(`${url}/v1/api-keys`, { headers: { authorization: `Bearer ${adminKey}` } })
    ).json()) as { items: unknown[] };
    const refused = await run(process.execPath, [
      BIN,
      "--data-dir",
      dir,
      "apikey",
      "create",
      "--scope",
      "read-only",
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("STORE_DATA_DIR_LOCKED");
    expect(refused.stderr).toContain(`process ${server.pid}`);
    expect(refused.stderr).toContain("--gateway");
    expect(refused.stdout).not.toContain("API_KEY");
    // Read-only commands are refused the same way (PGlite cannot share the directory).
    const list = await run(process.execPath, [BIN, "--data-dir", dir, "apikey", "list"]);
    expect(list.stderr).toContain("STORE_DATA_DIR_LOCKED");
    const after = (await (
      await fetch(`${url}/v1/api-keys`, { headers: { authorization: `Bearer ${adminKey}` } })
    ).json()) as { items: unknown[] };
    expect(after.items.length).toBe(before.items.length);

    const through = ok(
      await run(process.execPath, [
        BIN,
        "--data-dir",
        dir,
        "apikey",
        "create",
        "--scope",
        "admin",
        "--label",
        "via gateway",
        "--gateway",
        url,
        "--api-key",
        adminKey,
      ]),
    );
    const key = (/API_KEY (\S+)/.exec(through.stdout) as RegExpExecArray)[1] as string;
    // The running server knows the key at once (200, not 401).
    const withKey = await fetch(`${url}/v1/api-keys`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(withKey.status).toBe(200);
    viaGatewayKey = key;
    // `anchor --gateway` has the running server anchor now (POST /v1/log/anchors, operator key).
    const anchor = ok(
      await run(process.execPath, [
        BIN,
        "--data-dir",
        dir,
        "anchor",
        "--gateway",
        url,
        "--api-key",
        adminKey,
        "--json",
      ]),
    );
    const anchored = JSON.parse(anchor.stdout) as { checkpoint: { size: number; status: string } };
    expect(anchored.checkpoint.size).toBeGreaterThan(0);
    expect(anchored.checkpoint.status).toBe("final");
  });

  it("stops on SIGTERM after draining", async () => {
    const exited = new Promise<number | null>((r) => server.on("exit", (code) => r(code)));
    server.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(err).toContain("SIGTERM: draining");
    expect(err).toContain("stopped");
    // the anvil it started is stopped with it
    await expect(fetch(rpcUrl, { method: "POST" })).rejects.toThrow();
  });

  it("released its data dir, and the key made through it is stored", async () => {
    expect(existsSync(`${join(dir, "pgdata")}.pid`)).toBe(false);
    const list = ok(await run(process.execPath, [BIN, "--data-dir", dir, "apikey", "list"]));
    expect(list.stdout).toContain("via gateway");
    expect(viaGatewayKey).toMatch(/^cck_/);
  });
});
