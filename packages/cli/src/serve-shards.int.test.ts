/**
 * `chaoscore serve --shard-max-entries 4` as a process (PGlite data dir, no
 * chain): agents write over real HTTP through two rotations; then, with the
 * server stopped, `chaoscore log shards --json` lists three shards and
 * `chaoscore log audit --no-chain` is clean (docs/spec/shards.md).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Address,
  privateKeyToAddress,
  signAction,
  signRegistration,
  verifyReceipt,
} from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, type ServeProcess, startServe } from "./test-support/serve-process.js";

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    child.on("error", fail);
    child.on("exit", (code) => done({ code, stdout, stderr }));
  });
}

let dir: string;
let serve: ServeProcess;
let url: string;
let adminKey: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chaoscore-shards-"));
  serve = await startServe(dir, ["--shard-max-entries", "4"]);
  url = serve.url;
  adminKey = serve.adminKey as string;
}, 120_000);

afterAll(async () => {
  if (serve !== undefined && serve.child.exitCode === null) serve.child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

const auth = () => ({ authorization: `Bearer ${adminKey}`, "content-type": "application/json" });

describe("serve --shard-max-entries", () => {
  it("rotates twice under real writes; receipts of every shard verify under the family key", async () => {
    const info = (await (await fetch(`${url}/v1`)).json()) as {
      chainId: string;
      verifyingContract: Address;
      log: { verifierKey: string };
    };
    const chainId = BigInt(info.chainId);
    const keys = [1, 2].map((i) =>
      Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j) % 255 || 1),
    );
    for (const privateKey of keys) {
      const body = signRegistration({
        privateKey,
        chainId,
        verifyingContract: info.verifyingContract,
        card: {
          format: "chaoscore.agent-card/v1",
          name: `shard agent ${privateKeyToAddress(privateKey).slice(0, 8)}`,
          description: "writes through rotations",
          capabilities: ["test"],
          framework: "test",
          version: "1.0.0",
          endpoints: [],
          codeMeasurement: null,
          owner: null,
        },
      });
      const r = await fetch(`${url}/v1/agents`, {
        method: "POST",
        headers: auth(),
        body: JSON.stringify(body),
      });
      expect(r.status, await r.clone().text()).toBe(201);
    }
    const results: { id: string; log: string }[] = [];
    for (let nonce = 1; nonce <= 5; nonce++) {
      for (const privateKey of keys) {
        const action = signAction({
          privateKey,
          chainId,
          verifyingContract: info.verifyingContract,
          actionType: "test.act",
          nonce,
        });
        const r = await fetch(`${url}/v1/actions`, {
          method: "POST",
          headers: auth(),
          body: JSON.stringify(action),
        });
        expect(r.status, await r.clone().text()).toBe(201);
        results.push((await r.json()) as { id: string; log: string });
      }
    }
    // 10 actions: shard 0 takes 4, shard 1 its link + 3, shard 2 its link + 3
    expect(results.map((r) => r.log)).toEqual([
      ...Array(4).fill("default"),
      ...Array(3).fill("default-s1"),
      ...Array(3).fill("default-s2"),
    ]);
    for (const r of [results[0], results[5], results[9]]) {
      const receipt = await (await fetch(`${url}/v1/actions/${r?.id}/receipt`)).json();
      expect(verifyReceipt(receipt, info.log.verifierKey).actionId).toBe(r?.id);
    }
    // a write pinned to shard 1: refused, it is frozen
    const late = signAction({
      privateKey: keys[0] as Uint8Array,
      chainId,
      verifyingContract: info.verifyingContract,
      actionType: "test.act",
      nonce: 6,
    });
    const refused = await fetch(`${url}/v1/actions`, {
      method: "POST",
      headers: { ...auth(), "chaoscore-log": "default-s1" },
      body: JSON.stringify(late),
    });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe("LOG_SHARD_FROZEN");
  });

  it("log shards lists the family and log audit is clean once the server stopped", async () => {
    await serve.stop();
    const shards = await cli(["--data-dir", dir, "log", "shards", "--json"]);
    expect(shards.code, shards.stderr).toBe(0);
    const listed = JSON.parse(shards.stdout) as {
      logs: { id: string; state: string; size: number }[];
    };
    expect(listed.logs.map((l) => [l.id, l.state, l.size])).toEqual([
      ["default", "frozen", 4],
      ["default-s1", "frozen", 4],
      ["default-s2", "active", 4],
    ]);
    const status = await cli(["--data-dir", dir, "log", "status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({
      id: "default",
      size: 4,
      shards: 3,
      activeShard: { id: "default-s2", size: 4 },
    });
    const checkpoint = await cli(["--data-dir", dir, "log", "checkpoint"]);
    expect(checkpoint.stdout.split("\n").slice(0, 2)).toEqual([
      "chaoscore.local/log/default/s2",
      "4",
    ]);
    const audit = await cli(["--data-dir", dir, "log", "audit", "--no-chain", "--json"]);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    const report = JSON.parse(audit.stdout) as {
      size: number;
      rootHash: string;
      shards: { id: string; size: number; rootHash: string }[];
    };
    expect(report).toMatchObject({ ok: true, size: 12, findings: [] });
    // `size` sums the shards, `rootHash` is the active shard's: each shard's own tree is listed.
    expect(report.shards.map((s) => s.id)).toEqual(["default", "default-s1", "default-s2"]);
    expect(report.shards.reduce((n, s) => n + s.size, 0)).toBe(12);
    expect(report.shards.at(-1)).toMatchObject({ size: 4, rootHash: report.rootHash });
    expect(new Set(report.shards.map((s) => s.rootHash)).size).toBe(3);
    const text = await cli(["--data-dir", dir, "log", "audit", "--no-chain"]);
    expect(text.stdout).toContain(
      `12 leaves in 3 shards, active shard default-s2: 4 leaves, root ${report.rootHash}`,
    );
  }, 120_000);
});
